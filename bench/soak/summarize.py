#!/usr/bin/env python3
"""Reads bench/results/soak-*.txt and prints, per window, the requests per second and the
CPU per request (ms) of the server and of PostgreSQL (srv_cpu%, pg_cpu% columns), then the p99 range per kind over the
windows after the warm-up. Standard library only.

    python3 bench/soak/summarize.py bench/results/soak-sqlite-<stamp>.txt [--warmup 300]
"""

import argparse


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("file")
    p.add_argument("--warmup", type=float, default=300)
    a = p.parse_args()
    header = None
    rows = []
    for line in open(a.file):
        line = line.rstrip("\n")
        if line.startswith("t_s\t"):
            header = line.split("\t")
        elif header and line[:1].isdigit():
            rows.append(dict(zip(header, line.split("\t"))))
    kinds = [h[:-2] for h in header if h.endswith("_n")]
    prev_t = 0.0
    print("t_s\treq/s\tsrv_cpu_ms/req\tpg_cpu_ms/req\trss_mib\tload1\tskipped")
    for r in rows:
        t = float(r["t_s"])
        dt = max(t - prev_t, 1e-9)
        prev_t = t
        n = sum(int(r[f"{k}_n"]) for k in kinds)
        cpu = float(r["srv_cpu%"]) if r["srv_cpu%"] not in ("-", "") else float("nan")
        ms = cpu / 100 * dt * 1000 / n if n else float("nan")
        pg = float(r["pg_cpu%"]) if r["pg_cpu%"] not in ("-", "") else float("nan")
        pg_ms = pg / 100 * dt * 1000 / n if n else float("nan")
        skipped = next((e.split("=")[1] for e in r["errors"].split(",") if e.startswith("skipped=")), "0")
        print(f"{t:.0f}\t{n / dt:.0f}\t{ms:.2f}\t{pg_ms:.2f}\t{r['rss_mib']}\t{r['load1']}\t{skipped}")
    full = [r for r in rows[:-1] if float(r["t_s"]) >= a.warmup]  # the last row is the drain
    if full:
        print()
        for k in kinds:
            p99 = [float(r[f"{k}_p99"]) for r in full]
            print(f"{k}: p99 per window after {a.warmup:.0f} s: min {min(p99):.0f} ms, max {max(p99):.0f} ms")
        print(f"RSS after {a.warmup:.0f} s: min {min(float(r['rss_mib']) for r in full):.1f} MiB, "
              f"max {max(float(r['rss_mib']) for r in full):.1f} MiB")


if __name__ == "__main__":
    main()
