//! Open-file limits, and the servers' memory and CPU time summed.

use std::process::Command;

use anyhow::Context as _;

use crate::common::{ProcStat, proc_stat};

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
