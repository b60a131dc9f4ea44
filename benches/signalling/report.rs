//! The report: settings, what arrived, latencies, and what the processes spent.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use crate::Args;
use crate::common::{percentile, report_header};

/// Everything measured, for the report.
pub struct Outcome {
    pub rooms_s: f64,
    pub ready_s: f64,
    pub sockets: usize,
    pub acked: usize,
    pub ready: usize,
    pub failed: usize,
    pub subscribers_metric: Option<f64>,
    pub sent: usize,
    pub send_failures: usize,
    pub first_send_error: Option<String>,
    pub send_latencies_us: Vec<u32>,
    /// Per round: signals, seconds from its first send to its last answer.
    pub round_spans: Vec<(usize, f64)>,
    /// Numbers of the signals `sendSignal` accepted.
    pub accepted: Vec<u32>,
    pub results: Vec<crate::client::SocketResult>,
    pub server_cpu_s: Vec<Option<f64>>,
    pub server_rss: Vec<Option<crate::common::ProcStat>>,
    pub client_cpu_s: Option<f64>,
    /// /proc/loadavg just before the rounds (other work on the machine shows here).
    pub load_before: String,
}

fn summary(values: &mut [u32]) -> String {
    values.sort_unstable();
    format!(
        "p50 {:.1}, p90 {:.1}, p99 {:.1}, max {:.1}",
        percentile(values, 50.0),
        percentile(values, 90.0),
        percentile(values, 99.0),
        percentile(values, 100.0)
    )
}

pub fn report(
    args: &Args,
    started_at: chrono::DateTime<chrono::Utc>,
    database: &str,
    o: &Outcome,
) -> String {
    let mut r = report_header("signalling", started_at);
    let _ = writeln!(
        r,
        "load:     /proc/loadavg before the rounds: {}",
        o.load_before
    );
    let _ = writeln!(r, "database: {database}");
    let _ = writeln!(
        r,
        "servers:  {} process(es){}",
        args.processes,
        if args.processes > 1 {
            "; sockets and joinCall on process 0, sendSignal on process 1, through Redis"
        } else {
            ""
        }
    );
    let _ = writeln!(
        r,
        "settings: {} calls x {} sessions, {} rounds, {} signals/s paced, {} sends in flight, {} B fake SDP, {} client threads",
        args.calls,
        args.sessions,
        args.rounds,
        args.rate,
        args.send_concurrency,
        args.sdp_bytes,
        args.client_threads
    );
    let _ = writeln!(r);
    let _ = writeln!(r, "rooms:    {} created in {:.1} s", args.calls, o.rooms_s);
    let _ = writeln!(
        r,
        "sessions: {} sockets, {} acknowledged, {} joined and subscribed, {} failed, in {:.1} s; call_session subscribers per /metrics: {}",
        o.sockets,
        o.acked,
        o.ready,
        o.failed,
        o.ready_s,
        o.subscribers_metric
            .map_or_else(|| "n/a".to_owned(), |v| format!("{v}"))
    );
    let mut failures: BTreeMap<String, usize> = BTreeMap::new();
    for f in o.results.iter().filter_map(|s| s.failure.as_ref()) {
        let key: String = f.chars().take(200).collect();
        *failures.entry(key).or_default() += 1;
    }
    for (f, n) in failures.iter().take(5) {
        let _ = writeln!(r, "  {n} x {f}");
    }
    let ended = o.results.iter().filter(|s| s.ended_early).count();
    let errors: usize = o.results.iter().map(|s| s.errors).sum();
    let _ = writeln!(
        r,
        "          {ended} subscriptions ended before the bench stopped them, {errors} unexpected protocol messages"
    );

    let mut copies: HashMap<u32, usize> = HashMap::new();
    for (n, _) in o.results.iter().flat_map(|s| s.received.iter()) {
        *copies.entry(*n).or_default() += 1;
    }
    let lost = o
        .accepted
        .iter()
        .filter(|n| !copies.contains_key(n))
        .count();
    let duplicates: usize = copies.values().map(|c| c - 1).sum();
    let misrouted: usize = o.results.iter().map(|s| s.misrouted).sum();
    let delivered: usize = o.results.iter().map(|s| s.received.len()).sum();
    let _ = writeln!(
        r,
        "sends:    {} sendSignal, {} accepted, {} failed{}",
        o.sent,
        o.accepted.len(),
        o.send_failures,
        o.first_send_error
            .as_ref()
            .map(|e| format!(" (first: {e})"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        r,
        "delivery: {delivered} received; lost {lost} (accepted, never received), duplicates {duplicates}, at the wrong session {misrouted}"
    );
    let mut latencies: Vec<u32> = o
        .results
        .iter()
        .flat_map(|s| s.received.iter().map(|d| d.1))
        .collect();
    let _ = writeln!(
        r,
        "latency:  sendSignal -> addressed subscriber (receive - just before the HTTP send), ms: {} ({} signals)",
        summary(&mut latencies),
        latencies.len()
    );
    let mut sends = o.send_latencies_us.clone();
    let _ = writeln!(
        r,
        "          sendSignal HTTP round trip, ms: {}",
        summary(&mut sends)
    );
    for (round, (signals, span)) in o.round_spans.iter().enumerate() {
        let _ = writeln!(
            r,
            "round {round}:  {signals} signals sent in {span:.2} s ({:.0}/s, first send to last answer)",
            *signals as f64 / span
        );
    }
    for (p, (cpu, stat)) in o.server_cpu_s.iter().zip(&o.server_rss).enumerate() {
        let _ = writeln!(
            r,
            "server {p}: CPU time during the rounds {}, RSS after {}, peak {}",
            cpu.map_or_else(|| "?".to_owned(), |c| format!("{c:.2} s")),
            stat.map_or_else(
                || "?".to_owned(),
                |s| format!("{:.0} MiB", s.rss_kb as f64 / 1024.0)
            ),
            stat.map_or_else(
                || "?".to_owned(),
                |s| format!("{:.0} MiB", s.hwm_kb as f64 / 1024.0)
            ),
        );
    }
    if let Some(cpu) = o.client_cpu_s {
        let _ = writeln!(r, "client:   CPU time {cpu:.2} s in all");
    }
    r
}
