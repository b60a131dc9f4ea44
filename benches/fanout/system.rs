//! What the report says of the machine and the processes: open-file limits, memory and CPU
//! time from /proc, the commit.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;

/// The soft and hard limits on open files of a process (this one without `pid`), from
/// /proc/<pid>/limits.
pub fn open_files(pid: Option<u32>) -> Option<(u64, u64)> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/limits"),
        None => "/proc/self/limits".to_owned(),
    };
    let limits = std::fs::read_to_string(path).ok()?;
    let line = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))?;
    let mut values = line.split_whitespace().map(|v| match v {
        "unlimited" => Some(u64::MAX),
        v => v.parse().ok(),
    });
    Some((values.next()??, values.next()??))
}

/// Raises this process's soft limit on open files to its hard limit, with util-linux's
/// `prlimit` (no root needed for one's own process; the server the bench starts inherits it),
/// and returns the limit now in force.
pub fn raise_open_files() -> anyhow::Result<u64> {
    let (soft, hard) = open_files(None).context("reading /proc/self/limits")?;
    if soft < hard {
        let status = Command::new("prlimit")
            .arg(format!("--pid={}", std::process::id()))
            .arg(format!("--nofile={hard}:{hard}"))
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!("could not raise the open-files limit from {soft} to {hard} with prlimit");
        }
    }
    Ok(open_files(None).map_or(soft, |(soft, _)| soft))
}

/// RSS and peak RSS (kB) and CPU time (s) of a process, from /proc.
#[derive(Clone, Copy, Default)]
pub struct ProcStat {
    pub rss_kb: u64,
    pub hwm_kb: u64,
    pub cpu_s: f64,
}

/// The sum over the server processes (none without PIDs; `None` if one of them is gone).
pub fn servers_stat(pids: &[u32]) -> Option<ProcStat> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().try_fold(ProcStat::default(), |sum, &pid| {
        let one = proc_stat(Some(pid))?;
        Some(ProcStat {
            rss_kb: sum.rss_kb + one.rss_kb,
            hwm_kb: sum.hwm_kb + one.hwm_kb,
            cpu_s: sum.cpu_s + one.cpu_s,
        })
    })
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
    format!("{cores} cores ({cpu}), {mem} RAM, client and servers on the same machine")
}
