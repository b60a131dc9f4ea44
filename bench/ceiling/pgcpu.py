#!/usr/bin/env python3
"""CPU time of the PostgreSQL backends serving one database, from /proc (same machine).

  pgcpu.py snapshot ADMIN_URL DB CLIENT     -> prints "pid:ticks pid:ticks ..." (CPU so far)
  pgcpu.py diff BEFORE AFTER                -> seconds of CPU between two snapshots
  pgcpu.py watch ADMIN_URL DB CLIENT        -> waits for CLIENT's backends to appear, follows
                                               them every 20 ms until all are gone, prints the
                                               seconds of CPU they used in their lifetime

CLIENT is `pgbench` (backends whose application_name is pgbench) or `other` (every other
backend of DB but this script's own psql): Confab sets no application_name. A snapshot before
and after a run measures a pool that stays connected (Confab); `watch` measures pgbench's
backends, which connect at its start and exit at its end (their last 20 ms may be missed).
"""
import os
import subprocess
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def pids(admin, db, client):
    where = "application_name = 'pgbench'" if client == "pgbench" else (
        "application_name NOT IN ('pgbench', 'psql') AND pid <> pg_backend_pid()")
    out = subprocess.run(
        ["psql", admin, "-tAc",
         f"SELECT pid FROM pg_stat_activity WHERE datname = '{db}' AND backend_type = 'client backend' AND {where}"],
        check=True, capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (FileNotFoundError, ProcessLookupError):
        return None


def main():
    cmd = sys.argv[1]
    if cmd == "snapshot":
        _, _, admin, db, client = sys.argv
        print(" ".join(f"{p}:{t}" for p in pids(admin, db, client) if (t := ticks(p)) is not None))
    elif cmd == "diff":
        before = dict(x.split(":") for x in sys.argv[2].split())
        after = dict(x.split(":") for x in sys.argv[3].split())
        used = sum(int(t) - int(before.get(p, 0)) for p, t in after.items())
        print(f"{used / TICK:.2f}")
    elif cmd == "watch":
        _, _, admin, db, client = sys.argv
        seen = []
        for _ in range(500):
            seen = pids(admin, db, client)
            if seen:
                break
            time.sleep(0.05)
        time.sleep(0.5)
        seen = sorted(set(seen) | set(pids(admin, db, client)))
        last = {p: 0 for p in seen}
        while True:
            alive = 0
            for p in seen:
                t = ticks(p)
                if t is not None:
                    last[p] = max(last[p], t)
                    alive += 1
            if not alive:
                break
            time.sleep(0.02)
        print(f"{sum(last.values()) / TICK:.2f}")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
