//! Signalling benchmark (issue #26): latency from `sendSignal` to the addressed session's
//! `callEvents` subscription, with many concurrent calls on one process, or on two processes
//! through Redis (sockets on one, `sendSignal` on the other).
//!
//! `cargo bench --bench signalling` (flags after `--`, see `--help`). It starts the release
//! `confab` binary on a fresh SQLite file (or a fresh PostgreSQL database with `--postgres`),
//! seeds it with `confab seed --bench` (2,000 users with tokens `bench-token-<u>`), creates a
//! room per call over HTTP, and opens one `graphql-transport-ws` socket per call session: the
//! socket's task joins the call (`joinCall` over HTTP) and subscribes `callEvents(roomId,
//! sessionId)`, which holds the session. Once every subscription has its first event, each
//! measured round has one session of every call send an OFFER to each of the others, paced at
//! `--rate` signals a second with at most `--send-concurrency` requests in flight. The payload
//! carries its send time (µs since the epoch) and a fake SDP, so the receiving socket computes
//! the latency from the frame alone. Not a test: without `--bench` it does nothing.

mod client;
#[path = "../common/mod.rs"]
mod common;
mod report;
mod server;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use futures_util::StreamExt;
use serde_json::json;

use client::{Plan, Shared, SocketResult, graphql, now_us};
use report::Outcome;

/// Users as `confab seed --bench` creates them.
const USERS: usize = 2_000;

const CREATE_ROOM: &str = "mutation($input: CreateRoomInput!) { createRoom(input: $input) { id } }";
const SEND: &str = "mutation($input: SignalInput!) { sendSignal(input: $input) }";

#[derive(Debug, Parser)]
#[command(about = "Confab signalling benchmark: sendSignal to the addressed callEvents subscriber")]
pub struct Args {
    /// Concurrent calls, each in a room of its own.
    #[arg(long, default_value_t = 1_000)]
    calls: usize,
    /// Sessions per call, one socket each (2-16). Call c's sessions are users 2c..2c+n-1.
    #[arg(long, default_value_t = 4)]
    sessions: usize,
    /// Measured rounds; in each, one session of every call signals each of the others (the
    /// sender moves on every round).
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Signals sent per second, paced over a round.
    #[arg(long, default_value_t = 1_000.0)]
    rate: f64,
    /// `sendSignal` requests in flight at most.
    #[arg(long, default_value_t = 64)]
    send_concurrency: usize,
    /// Pause between rounds, milliseconds.
    #[arg(long, default_value_t = 1_000)]
    round_gap_ms: u64,
    /// Size of the fake SDP in each payload, bytes.
    #[arg(long, default_value_t = 1_024)]
    sdp_bytes: usize,
    /// Sockets connecting, joining and subscribing at once.
    #[arg(long, default_value_t = 200)]
    connect_concurrency: usize,
    /// Client threads, each a single-threaded runtime holding its share of the sockets.
    #[arg(long, default_value_t = 2)]
    client_threads: usize,
    /// Server processes. With 2, they share the database and Redis; sockets (and joins) go to
    /// the first, `sendSignal` to the second, so every signal crosses Redis.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    processes: u8,
    /// PostgreSQL instead of SQLite: a URL of an existing database to connect to as an
    /// administrator; the bench creates a database of its own beside it and drops it after.
    /// Required with `--processes 2`.
    #[arg(long)]
    postgres: Option<String>,
    /// Redis for `--processes 2`.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
    /// HTTP worker threads of each server process (default: one per core).
    #[arg(long)]
    server_workers: Option<usize>,
    /// Also write the report to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Passed by `cargo bench`; without it the program exits at once.
    #[arg(long)]
    bench: bool,
}

fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    if !args.bench {
        println!("signalling: a benchmark; run it with `cargo bench --bench signalling`");
        return Ok(());
    }
    if args.processes > 1 && args.postgres.is_none() {
        bail!("--processes 2 needs --postgres: SQLite is one process's database");
    }
    if !(2..=16).contains(&args.sessions) {
        bail!("--sessions must be 2-16");
    }
    args.send_concurrency = args.send_concurrency.max(1);
    let started_at = chrono::Utc::now();
    let mut servers = server::Servers::start(&args)?;
    let urls: Vec<String> = servers.processes.iter().map(|p| p.url.clone()).collect();
    let pids: Vec<u32> = servers.processes.iter().map(|p| p.child.id()).collect();
    let outcome = actix_web::rt::System::new().block_on(run(&args, &urls, &pids));
    if outcome.is_err() {
        eprint!("{}", servers.log_tails());
    }
    servers.stop();
    let report = report::report(&args, started_at, &servers.database, &outcome?);
    print!("{report}");
    if let Some(path) = &args.out {
        std::fs::write(path, &report).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// The user of session `k` of call `c`: two sessions per user with the defaults.
fn user_of(c: usize, k: usize) -> usize {
    (2 * c + k) % USERS
}

/// One signal to send: from plan index to plan index, its number.
#[derive(Clone, Copy)]
struct Send {
    from: usize,
    to: usize,
    n: u32,
}

async fn run(args: &Args, urls: &[String], pids: &[u32]) -> anyhow::Result<Outcome> {
    let redis = urls.len() > 1;
    for url in urls {
        server::wait_ready(url, redis).await?;
    }
    let (join_url, send_url) = (&urls[0], &urls[urls.len() - 1]);
    let http = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .connector(awc::Connector::new().limit(args.send_concurrency.max(16)))
        .finish();

    // A room per call: session 0's user creates it with the others as members.
    let creating = Instant::now();
    let graphql_join = format!("{join_url}/graphql");
    let rooms: Vec<anyhow::Result<String>> = futures_util::stream::iter(0..args.calls)
        .map(|c| {
            let (http, url) = (&http, &graphql_join);
            async move {
                let members: Vec<String> = (1..args.sessions)
                    .map(|k| client::user_id(user_of(c, k)))
                    .collect();
                let body = json!({ "query": CREATE_ROOM, "variables": { "input": {
                    "name": format!("call {c}"), "memberIds": members } } });
                let data = graphql(http, url, user_of(c, 0), "createRoom", &body).await?;
                data["createRoom"]["id"]
                    .as_str()
                    .map(str::to_owned)
                    .with_context(|| format!("createRoom: no id in {data}"))
            }
        })
        .buffered(16)
        .collect()
        .await;
    let rooms: Vec<Arc<str>> = rooms
        .into_iter()
        .map(|r| r.map(Arc::from))
        .collect::<anyhow::Result<_>>()?;
    let rooms_s = creating.elapsed().as_secs_f64();
    eprintln!("{} rooms created in {rooms_s:.1} s", rooms.len());

    let plans: Vec<Plan> = (0..args.calls * args.sessions)
        .map(|i| Plan {
            index: i,
            user: user_of(i / args.sessions, i % args.sessions),
            room: rooms[i / args.sessions].clone(),
        })
        .collect();
    let total = plans.len();
    let shared = Arc::new(Shared {
        acked: Default::default(),
        failed: Default::default(),
        ready: Default::default(),
        delivered: Default::default(),
        connect_slots: tokio::sync::Semaphore::new(args.connect_concurrency),
        sessions: Mutex::new(vec![None; total]),
    });
    let ws_url: Arc<str> = Arc::from(format!("{}/graphql", join_url.replacen("http", "ws", 1)));
    let graphql_url: Arc<str> = Arc::from(graphql_join.as_str());
    let (results_tx, results_rx) = mpsc::channel::<Vec<SocketResult>>();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let threads = args.client_threads.max(1);
    let mut handles = Vec::new();
    let connecting = Instant::now();
    for t in 0..threads {
        let mine: Vec<Plan> = plans.iter().skip(t).step_by(threads).cloned().collect();
        let (shared, ws_url, graphql_url) = (shared.clone(), ws_url.clone(), graphql_url.clone());
        let (tx, stop) = (results_tx.clone(), stop_rx.clone());
        let thread = std::thread::Builder::new().name(format!("signalling-client-{t}"));
        let body = move || {
            actix_web::rt::System::new().block_on(async move {
                let http = awc::Client::builder()
                    .timeout(Duration::from_secs(60))
                    .finish();
                let tasks: Vec<_> = mine
                    .into_iter()
                    .map(|p| {
                        actix_web::rt::spawn(client::session(
                            ws_url.clone(),
                            graphql_url.clone(),
                            http.clone(),
                            p,
                            shared.clone(),
                            stop.clone(),
                        ))
                    })
                    .collect();
                let mut results = Vec::with_capacity(tasks.len());
                for task in tasks {
                    results.push(task.await.unwrap_or_else(|err| SocketResult {
                        failure: Some(format!("task: {err}")),
                        ..SocketResult::default()
                    }));
                }
                let _ = tx.send(results);
            });
        };
        handles.push(thread.spawn(body).context("spawning a client thread")?);
    }
    drop(results_tx);

    // Every session joined and its subscription live (or failed).
    let mut last_report = Instant::now();
    loop {
        let ready = shared.ready.load(Ordering::Relaxed);
        let failed = shared.failed.load(Ordering::Relaxed);
        if ready + failed >= total {
            break;
        }
        if last_report.elapsed() > Duration::from_secs(5) {
            let acked = shared.acked.load(Ordering::Relaxed);
            eprintln!("connecting: {acked} acked, {ready} subscribed, {failed} failed of {total}");
            last_report = Instant::now();
        }
        if connecting.elapsed() > Duration::from_secs(600) {
            bail!("sessions not subscribed within 10 minutes: {ready} ready, {failed} failed");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ready_s = connecting.elapsed().as_secs_f64();
    let ready = shared.ready.load(Ordering::Relaxed);
    eprintln!("{ready} of {total} sessions subscribed in {ready_s:.1} s");
    let subscribers_metric = server::metric(
        join_url,
        r#"confab_broker_subscribers{topic="call_session"}"#,
    )
    .await;
    let sessions: Vec<Option<String>> = shared
        .sessions
        .lock()
        .map_err(|_| anyhow::anyhow!("a client thread panicked"))?
        .clone();
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Measured rounds.
    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let before: Vec<_> = pids.iter().map(|&p| common::proc_stat(Some(p))).collect();
    let sdp = client::fake_sdp(args.sdp_bytes);
    let graphql_send = format!("{send_url}/graphql");
    let mut n = 0u32;
    let mut send_latencies_us = Vec::new();
    let (mut sent, mut send_failures, mut first_send_error) = (0, 0, None);
    let mut accepted = Vec::new();
    let mut round_spans = Vec::new();
    for round in 0..args.rounds {
        let k = round % args.sessions;
        let mut sends = Vec::new();
        for c in 0..args.calls {
            for j in (0..args.sessions).filter(|&j| j != k) {
                let (from, to) = (c * args.sessions + k, c * args.sessions + j);
                if sessions[from].is_some() && sessions[to].is_some() {
                    sends.push(Send { from, to, n });
                    n += 1;
                }
            }
        }
        let start = tokio::time::Instant::now();
        let gap = Duration::from_secs_f64(1.0 / args.rate.max(0.001));
        let outcomes: Vec<(Send, u32, anyhow::Result<()>)> =
            futures_util::stream::iter(sends.iter().enumerate())
                .map(|(i, &s)| {
                    let (http, url, sessions, sdp) = (&http, &graphql_send, &sessions, &sdp);
                    async move {
                        tokio::time::sleep_until(start + gap.mul_f64(i as f64)).await;
                        let t = now_us();
                        let body = json!({ "query": SEND, "variables": { "input": {
                    "fromSessionId": sessions[s.from], "toSessionId": sessions[s.to],
                    "kind": "OFFER",
                    "payload": { "type": "offer", "t": t, "n": s.n, "to": s.to, "sdp": sdp } } } });
                        let user = user_of(s.from / args.sessions, s.from % args.sessions);
                        let outcome = graphql(http, url, user, "sendSignal", &body)
                            .await
                            .map(drop);
                        (s, now_us().saturating_sub(t) as u32, outcome)
                    }
                })
                .buffer_unordered(args.send_concurrency)
                .collect()
                .await;
        round_spans.push((sends.len(), start.elapsed().as_secs_f64()));
        for (s, latency, outcome) in outcomes {
            sent += 1;
            send_latencies_us.push(latency);
            match outcome {
                Ok(()) => accepted.push(s.n),
                Err(err) => {
                    send_failures += 1;
                    first_send_error.get_or_insert_with(|| format!("{err:#}"));
                }
            }
        }
        eprintln!(
            "round {round}: {} signals sent, {} delivered so far",
            sends.len(),
            shared.delivered.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(args.round_gap_ms)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while shared.delivered.load(Ordering::Relaxed) < accepted.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after: Vec<_> = pids.iter().map(|&p| common::proc_stat(Some(p))).collect();
    let client_cpu_s = common::proc_stat(None).map(|s| s.cpu_s);

    let _ = stop_tx.send(true);
    let mut results = Vec::with_capacity(total);
    for _ in 0..threads {
        let batch = results_rx
            .recv_timeout(Duration::from_secs(60))
            .context("client threads did not finish within 60 s")?;
        results.extend(batch);
    }
    for handle in handles {
        let _ = handle.join();
    }
    Ok(Outcome {
        rooms_s,
        ready_s,
        sockets: total,
        acked: shared.acked.load(Ordering::Relaxed),
        ready,
        failed: shared.failed.load(Ordering::Relaxed),
        subscribers_metric,
        sent,
        send_failures,
        first_send_error,
        send_latencies_us,
        round_spans,
        accepted,
        results,
        server_cpu_s: before
            .iter()
            .zip(&after)
            .map(|(b, a)| Some(a.as_ref()?.cpu_s - b.as_ref()?.cpu_s))
            .collect(),
        server_rss: after,
        client_cpu_s,
        load_before: load_before.trim().to_owned(),
    })
}
