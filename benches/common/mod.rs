//! What the benchmarks under benches/ share: /proc figures of a process, percentiles, and the
//! commit and machine their reports name. Each bench includes it with `#[path]`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context as _, bail};

/// RSS and peak RSS (kB) and CPU time (s) of a process, from /proc.
#[derive(Clone, Copy, Default)]
pub struct ProcStat {
    pub rss_kb: u64,
    pub hwm_kb: u64,
    pub cpu_s: f64,
}

pub fn proc_stat(pid: Option<u32>) -> Option<ProcStat> {
    let path = match pid {
        Some(pid) => PathBuf::from(format!("/proc/{pid}")),
        None => PathBuf::from("/proc/self"),
    };
    let status = std::fs::read_to_string(path.join("status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
    };
    let stat = std::fs::read_to_string(path.join("stat")).ok()?;
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ProcStat {
        rss_kb: field("VmRSS:")?,
        hwm_kb: field("VmHWM:")?,
        cpu_s: ticks as f64 / clock_ticks(),
    })
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// The `p`th percentile of `sorted` (µs), in ms.
pub fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    f64::from(sorted[rank.clamp(1, sorted.len()) - 1]) / 1000.0
}

pub fn git_commit() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_owned())
    };
    let commit = run(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".to_owned());
    let dirty =
        run(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    if dirty {
        format!("{commit} (with uncommitted changes)")
    } else {
        commit
    }
}

pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|l| l.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or_else(
            || "?".to_owned(),
            |kb| format!("{:.1} GiB", kb as f64 / 1048576.0),
        );
    format!("{cores} cores ({cpu}), {mem} RAM, client and server(s) on the same machine")
}

/// Runs `confab seed --bench` on `database` with `binary`, and says how long it took.
pub fn seed_bench(binary: &str, database: &str) -> anyhow::Result<()> {
    let seeding = Instant::now();
    let status = Command::new(binary)
        .args(["seed", "--bench", "--database-url", database])
        .env("RUST_LOG", "warn")
        .status()
        .context("running confab seed --bench")?;
    if !status.success() {
        bail!("confab seed --bench failed: {status}");
    }
    eprintln!("seeded in {:.1} s", seeding.elapsed().as_secs_f64());
    Ok(())
}

/// A report's first lines: the bench `name`, when it started, its command line, the commit
/// and the machine.
pub fn report_header(name: &str, started_at: chrono::DateTime<chrono::Utc>) -> String {
    let mut r = String::new();
    let command: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let _ = writeln!(r, "# Confab {name} benchmark");
    let _ = writeln!(r, "started:  {}", started_at.format("%Y-%m-%dT%H:%M:%SZ"));
    let _ = writeln!(
        r,
        "command:  cargo bench --bench {name} -- {}",
        command.join(" ")
    );
    let _ = writeln!(r, "commit:   {}", git_commit());
    let _ = writeln!(r, "machine:  {}", machine());
    r
}
