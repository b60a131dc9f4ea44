//! The report: what was planned, what arrived, latencies, memory and CPU.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::Args;
use crate::common::{ProcStat, percentile, report_header};
use crate::socket::SocketResult;
use crate::system::open_files;

/// Everything measured, for the report.
pub struct Outcome {
    pub sockets_planned: usize,
    pub servers: usize,
    /// The (first) server's soft limit on open files.
    pub server_files: Option<u64>,
    pub rooms_used: usize,
    pub acked: usize,
    pub failed: usize,
    pub connect_s: f64,
    pub warmups: usize,
    pub warmed: usize,
    pub baseline: Option<ProcStat>,
    pub idle: Option<ProcStat>,
    pub before_rounds: Option<ProcStat>,
    pub after_rounds: Option<ProcStat>,
    pub client_cpu_s: Option<f64>,
    pub sends: usize,
    pub send_failures: usize,
    pub first_send_error: Option<String>,
    pub send_latencies_us: Vec<u32>,
    /// Paced sends: the most a send started after its scheduled time, µs.
    pub behind_us: u64,
    pub expected: usize,
    pub results: Vec<SocketResult>,
    pub rounds: Vec<RoundTiming>,
}

#[derive(Clone, Copy)]
pub struct RoundTiming {
    pub first_send_us: u64,
    pub last_send_done_us: u64,
}

fn mib(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

pub fn report(
    args: &Args,
    started_at: chrono::DateTime<chrono::Utc>,
    database: &str,
    o: &Outcome,
) -> String {
    let mut r = report_header("fanout", started_at);
    let _ = writeln!(r, "database: {database}");
    let _ = writeln!(
        r,
        "limits:   open files {} (client), {} (a server); {} source address(es)",
        open_files(None).map_or_else(|| "?".to_owned(), |l| l.0.to_string()),
        o.server_files
            .map_or_else(|| "?".to_owned(), |l| l.to_string()),
        args.source_addrs
    );
    let rooms = match args.room_size {
        Some(size) => format!("{} rooms of {size} made by the bench", o.rooms_used),
        None => format!("{} of the seed's rooms", o.rooms_used),
    };
    let pacing = match args.send_rate {
        Some(rate) => format!(
            "sends paced at {rate} per second (at most {} in flight)",
            args.send_concurrency
        ),
        None => format!(
            "{} sends in flight, {} ms between rounds",
            args.send_concurrency, args.round_gap_ms
        ),
    };
    let _ = writeln!(
        r,
        "settings: {} sockets planned over {rooms} and {} server process(es), {} measured rounds, {pacing}, {} client threads",
        o.sockets_planned, o.servers, args.rounds, args.client_threads
    );
    let _ = writeln!(r);
    let _ = writeln!(
        r,
        "sockets:  {} acknowledged, {} failed, in {:.1} s; {} warmed up after {} warm-up round(s)",
        o.acked, o.failed, o.connect_s, o.warmed, o.warmups
    );
    let mut failures: BTreeMap<String, usize> = BTreeMap::new();
    for f in o.results.iter().filter_map(|s| s.failure.as_ref()) {
        let key: String = f.chars().take(160).collect();
        *failures.entry(key).or_default() += 1;
    }
    for (f, n) in failures.iter().take(5) {
        let _ = writeln!(r, "  {n} x {f}");
    }
    let closed = o.results.iter().filter(|s| s.closed_early).count();
    let errors: usize = o.results.iter().map(|s| s.errors).sum();
    let _ = writeln!(
        r,
        "          {closed} closed by the server before the end, {errors} unexpected protocol messages"
    );

    let delivered: usize = o.results.iter().map(|s| s.deliveries.len()).sum();
    // A socket that never connected misses every round: it counts here too.
    let missing: usize = o
        .results
        .iter()
        .map(|s| s.got.iter().filter(|&&n| n == 0).count())
        .sum();
    let duplicates: usize = o
        .results
        .iter()
        .flat_map(|s| s.got.iter())
        .map(|&n| usize::from(n.saturating_sub(1)))
        .sum();
    let _ = writeln!(
        r,
        "delivery: {delivered} of {} expected ({} sockets x {} rounds); missing {missing}, duplicates {duplicates}; {}",
        o.expected,
        o.sockets_planned,
        args.rounds,
        if missing == 0 && o.failed == 0 {
            "every subscriber got every message"
        } else {
            "NOT every subscriber got every message"
        }
    );
    let _ = writeln!(
        r,
        "sends:    {} sendMessage, {} failed{}",
        o.sends,
        o.send_failures,
        o.first_send_error
            .as_ref()
            .map(|e| format!(" (first: {e})"))
            .unwrap_or_default()
    );

    let mut latencies: Vec<u32> = o
        .results
        .iter()
        .flat_map(|s| s.deliveries.iter().map(|d| d.1))
        .collect();
    latencies.sort_unstable();
    let _ = writeln!(
        r,
        "latency:  delivery (receive - just before the HTTP send), ms: p50 {:.1}, p95 {:.1}, p99 {:.1}, max {:.1}",
        percentile(&latencies, 50.0),
        percentile(&latencies, 95.0),
        percentile(&latencies, 99.0),
        percentile(&latencies, 100.0)
    );
    // Per message (keyed by its send time): last subscriber's receive minus the first's.
    let mut by_message: std::collections::HashMap<(u16, u64), (u64, u64)> =
        std::collections::HashMap::new();
    for d in o.results.iter().flat_map(|s| s.deliveries.iter()) {
        let sent = d.2 - u64::from(d.1);
        let span = by_message.entry((d.0, sent)).or_insert((d.2, d.2));
        span.0 = span.0.min(d.2);
        span.1 = span.1.max(d.2);
    }
    let mut spreads: Vec<u32> = by_message
        .values()
        .map(|(first, last)| (last - first) as u32)
        .collect();
    spreads.sort_unstable();
    let _ = writeln!(
        r,
        "          fan-out spread per message (last subscriber - first), ms: p50 {:.1}, p95 {:.1}, p99 {:.1}, max {:.1} ({} messages)",
        percentile(&spreads, 50.0),
        percentile(&spreads, 95.0),
        percentile(&spreads, 99.0),
        percentile(&spreads, 100.0),
        spreads.len()
    );
    let mut sends = o.send_latencies_us.clone();
    sends.sort_unstable();
    let _ = writeln!(
        r,
        "          sendMessage round trip, ms: p50 {:.1}, p95 {:.1}, p99 {:.1}, max {:.1}",
        percentile(&sends, 50.0),
        percentile(&sends, 95.0),
        percentile(&sends, 99.0),
        percentile(&sends, 100.0)
    );
    if args.send_rate.is_some() {
        let _ = writeln!(
            r,
            "          the latest send started {:.1} ms after its scheduled time",
            o.behind_us as f64 / 1000.0
        );
    }
    // Every round when there are few; with many (paced sends), the whole run.
    if let (Some(first), Some(last_round)) = (o.rounds.first(), o.rounds.last()) {
        let last = o
            .results
            .iter()
            .flat_map(|s| s.deliveries.iter())
            .map(|d| d.2)
            .max()
            .unwrap_or(0)
            .max(last_round.last_send_done_us);
        let span = (last - first.first_send_us) as f64 / 1e6;
        let _ = writeln!(
            r,
            "all:      {delivered} deliveries from {} sends in {span:.3} s (first send to last delivery): {:.0} deliveries/s",
            o.sends,
            delivered as f64 / span
        );
    }
    for (round, t) in o.rounds.iter().enumerate().filter(|_| o.rounds.len() <= 10) {
        let last = o
            .results
            .iter()
            .flat_map(|s| s.deliveries.iter())
            .filter(|d| usize::from(d.0) == round)
            .map(|d| d.2)
            .max()
            .unwrap_or(t.last_send_done_us);
        let count = o
            .results
            .iter()
            .flat_map(|s| s.deliveries.iter())
            .filter(|d| usize::from(d.0) == round)
            .count();
        let span = (last.max(t.last_send_done_us) - t.first_send_us) as f64 / 1e6;
        let _ = writeln!(
            r,
            "round {round}:  {count} deliveries from {} sends in {span:.3} s (first send to last delivery): {:.0} deliveries/s",
            o.rooms_used,
            count as f64 / span
        );
    }

    match (o.baseline, o.idle, o.before_rounds, o.after_rounds) {
        (Some(base), Some(idle), Some(before), Some(after)) => {
            let per_socket =
                (idle.rss_kb.saturating_sub(base.rss_kb)) as f64 * 1024.0 / o.acked.max(1) as f64;
            let _ = writeln!(
                r,
                "servers:  (summed over {}) RSS before sockets {:.1} MiB, all sockets idle {:.1} MiB, after the rounds {:.1} MiB, peak (VmHWM) {:.1} MiB",
                o.servers,
                mib(base.rss_kb),
                mib(idle.rss_kb),
                mib(after.rss_kb),
                mib(after.hwm_kb)
            );
            let _ = writeln!(
                r,
                "          memory per idle socket: {:.1} KiB ((idle - before) / {} sockets)",
                per_socket / 1024.0,
                o.acked
            );
            let _ = writeln!(
                r,
                "          CPU time: {:.2} s connecting and warming up, {:.2} s during the measured rounds, {:.2} s in all",
                idle.cpu_s - base.cpu_s,
                after.cpu_s - before.cpu_s,
                after.cpu_s
            );
        }
        _ => {
            let _ = writeln!(r, "servers:  no /proc figures (pass --pid with --url)");
        }
    }
    if let Some(cpu) = o.client_cpu_s {
        let _ = writeln!(r, "client:   CPU time {cpu:.2} s in all");
    }
    r
}
