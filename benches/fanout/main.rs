//! Fan-out benchmark (issues #7 and #29): thousands of `graphql-transport-ws` subscribers on
//! one server process or spread over several, messages sent into their rooms over HTTP,
//! delivery latency measured per subscriber.
//!
//! `cargo bench --bench fanout` (flags after `--`, see `--help`). Without `--url` it starts
//! `--processes` release `confab` binaries (one by default) on a fresh SQLite file (or
//! `--database-url`; several processes need PostgreSQL and `--redis-url`), seeds the database
//! with `confab seed --bench` (2,000 users with tokens `bench-token-<u>`, 500 rooms of 10
//! members), and stops them at the end (`--no-seed` with `--database-url`: the database is
//! already seeded). Not a test: `cargo test` never builds it, and it does nothing unless run
//! with `--bench` (which `cargo bench` passes).
//!
//! The client runs one awc WebSocket per subscriber, spread over `--client-threads` threads,
//! each a single-threaded actix runtime (awc's futures are not `Send`), and over the servers in
//! turn. Every socket subscribes `roomEvents` for one room of its user: the seed's rooms, or
//! with `--room-size` rooms the bench creates. Sends go to the servers in turn too, closed-loop
//! (`--send-concurrency`) or paced (`--send-rate`). Message bodies carry the send time, so a
//! subscriber computes the delivery latency from the frame alone.

#[path = "../common/mod.rs"]
mod common;
mod layout;
mod report;
mod send;
mod server;
mod socket;
mod system;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use futures_util::StreamExt;

use crate::common::proc_stat;
use crate::layout::{Layout, Plan, send_message};
use crate::report::{Outcome, report};
use crate::server::Servers;
use crate::socket::{Shared, SocketResult, subscriber};
use crate::system::{open_files, raise_open_files, servers_stat};

#[derive(Debug, Parser)]
#[command(about = "Confab fan-out benchmark: many graphql-transport-ws subscribers")]
struct Args {
    /// WebSockets to hold open (each user of the seed opens sockets in turn).
    #[arg(long, default_value_t = 10_000)]
    sockets: usize,
    /// Measured rounds; a round sends one message into every room that has subscribers.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// `sendMessage` requests in flight at once. 1 paces the sends at what one writer
    /// sustains, so latency is the write plus the fan-out; 500 sends a whole round at once.
    /// With `--send-rate`, the most in flight before a send waits (and falls behind).
    #[arg(long, default_value_t = 1)]
    send_concurrency: usize,
    /// Pause after a round's sends before the next round, milliseconds (not with
    /// `--send-rate`).
    #[arg(long, default_value_t = 1_000)]
    round_gap_ms: u64,
    /// Messages per second, sent on a fixed schedule whatever the answers (open loop), the
    /// rounds one after another: e.g. 1000 with 200 rooms is 5 rounds a second.
    #[arg(long)]
    send_rate: Option<f64>,
    /// Rooms of this many members, made by the bench with `createRoom`: one socket per member,
    /// `--sockets / --room-size` rooms. Without it, the seed's 500 rooms of 10.
    #[arg(long, value_parser = clap::value_parser!(u16).range(2..=2000))]
    room_size: Option<u16>,
    /// WebSocket handshakes in flight at once.
    #[arg(long, default_value_t = 200)]
    connect_concurrency: usize,
    /// Client threads, each a single-threaded runtime holding its share of the sockets.
    #[arg(long, default_value_t = 2)]
    client_threads: usize,
    /// Local addresses the sockets connect from, 127.0.0.1 up to 127.0.0.N in turn: Linux
    /// gives each source address its own ephemeral ports (about 28,000 by default), so more
    /// than that many sockets to one server need more than one. Loopback servers only.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=254))]
    source_addrs: u8,
    /// A running server (http://host:port) already seeded with `confab seed --bench`; give
    /// it again for each process of a scaled-out deployment (one database, one Redis), and
    /// sockets and sends are spread over them in turn. Without it the bench starts its own.
    #[arg(long = "url")]
    urls: Vec<String>,
    /// The PID of a `--url` server, for its memory and CPU time (summed over all given).
    #[arg(long = "pid", requires = "urls")]
    pids: Vec<u32>,
    /// Server processes the bench starts, all on `--database-url` and `--redis-url`.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64), conflicts_with = "urls")]
    processes: u16,
    /// Database for the servers the bench starts: default a fresh SQLite file in a temp dir.
    /// It is seeded with `confab seed --bench`.
    #[arg(long)]
    database_url: Option<String>,
    /// Redis for the servers the bench starts (`--redis-url` of `confab serve`): needed for
    /// more than one process, which then hear each other's events through it.
    #[arg(long)]
    redis_url: Option<String>,
    /// The `--database-url` is already seeded (by an earlier run, or `bench/standin-seed.sh`):
    /// skip `confab seed --bench`.
    #[arg(long, requires = "database_url")]
    no_seed: bool,
    /// HTTP worker threads of each server the bench starts (default: one per core).
    #[arg(long)]
    server_workers: Option<usize>,
    /// Also write the report to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Passed by `cargo bench`; without it the program exits at once (so `cargo test
    /// --all-targets` does not run a benchmark).
    #[arg(long)]
    bench: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !args.bench {
        println!("fanout: a benchmark; run it with `cargo bench --bench fanout`");
        return Ok(());
    }
    if let Some(rate) = args.send_rate
        && !(rate.is_finite() && rate > 0.0)
    {
        bail!("--send-rate {rate}: messages per second, above 0");
    }
    let started_at = chrono::Utc::now();
    // One descriptor per socket here and in the servers (which inherit this process's limit
    // when the bench starts them), plus some for the database, the log and HTTP sends.
    let needed = args.sockets as u64 + 256;
    let client_files = raise_open_files()?;
    if client_files < needed {
        bail!(
            "{} sockets need about {needed} open files, and this process may open {client_files} \
             (its hard limit: raise it with `ulimit -Hn` as root, or in the unit's LimitNOFILE)",
            args.sockets
        );
    }
    let per_server = needed / args.urls.len().max(1) as u64 + 256;
    for &pid in &args.pids {
        if let Some((server_files, _)) = open_files(Some(pid))
            && server_files < per_server
        {
            bail!("the server (pid {pid}) may open {server_files} files, {per_server} needed");
        }
    }
    let mut servers = if args.urls.is_empty() {
        Servers::start(&args)?
    } else {
        Servers::external(&args)
    };
    let result = actix_web::rt::System::new().block_on(run(&args, &servers));
    servers.stop();
    let report = report(&args, started_at, servers.database(), &result?);
    print!("{report}");
    if let Some(path) = &args.out {
        std::fs::write(path, &report).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

async fn run(args: &Args, servers: &Servers) -> anyhow::Result<Outcome> {
    let http = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish();
    let graphql: Vec<String> = servers
        .urls()
        .iter()
        .map(|u| format!("{u}/graphql"))
        .collect();
    let layout = match args.room_size {
        None => Layout::seeded(args.sockets, args.source_addrs, graphql.len()),
        Some(size) => {
            let making = Instant::now();
            let tag = chrono::Utc::now().format("%Y%m%dT%H%M%S").to_string();
            let layout = Layout::created(
                &http,
                &graphql[0],
                args.sockets,
                usize::from(size),
                args.source_addrs,
                graphql.len(),
                &tag,
            )
            .await?;
            eprintln!(
                "{} rooms of {size} created in {:.1} s",
                layout.rooms.len(),
                making.elapsed().as_secs_f64()
            );
            layout
        }
    };
    let rooms = layout.used_rooms();
    let Some(&first_room) = rooms.first() else {
        bail!("no sockets, so no rooms to send into");
    };

    // One request first, so the baseline includes a warmed-up HTTP path.
    for url in &graphql {
        send_message(&http, url, &layout.rooms[first_room], "warmup 0").await?;
    }
    let baseline = servers_stat(servers.pids());

    let shared = Arc::new(Shared {
        epoch: Instant::now(),
        acked: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        subscribed: AtomicUsize::new(0),
        warmed: AtomicUsize::new(0),
        deliveries: AtomicUsize::new(0),
        connect_slots: tokio::sync::Semaphore::new(args.connect_concurrency),
    });
    let ws_urls: Vec<Arc<str>> = graphql
        .iter()
        .map(|u| Arc::from(u.replacen("http", "ws", 1)))
        .collect();
    let room_ids: Vec<Arc<str>> = layout.rooms.iter().map(|r| Arc::from(&*r.id)).collect();
    let (results_tx, results_rx) = mpsc::channel::<Vec<SocketResult>>();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let threads = args.client_threads.max(1);
    let mut handles = Vec::new();
    let connecting = Instant::now();
    for t in 0..threads {
        let mine: Vec<(Plan, Arc<str>, Arc<str>)> = layout
            .plans
            .iter()
            .skip(t)
            .step_by(threads)
            .map(|p| (*p, ws_urls[p.server].clone(), room_ids[p.room].clone()))
            .collect();
        let shared = shared.clone();
        let tx = results_tx.clone();
        let stop = stop_rx.clone();
        let rounds = args.rounds;
        handles.push(
            std::thread::Builder::new()
                .name(format!("fanout-client-{t}"))
                .spawn(move || {
                    actix_web::rt::System::new().block_on(async move {
                        let tasks: Vec<_> = mine
                            .into_iter()
                            .map(|(p, ws_url, room)| {
                                actix_web::rt::spawn(subscriber(
                                    ws_url,
                                    room,
                                    p,
                                    rounds,
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
                })
                .context("spawning a client thread")?,
        );
    }
    drop(results_tx);

    // Every socket acknowledged (or failed) and its subscribe sent.
    let total = layout.plans.len();
    let mut last_report = Instant::now();
    loop {
        let acked = shared.acked.load(Ordering::Relaxed);
        let failed = shared.failed.load(Ordering::Relaxed);
        let subscribed = shared.subscribed.load(Ordering::Relaxed);
        if subscribed + failed >= total || (acked + failed >= total && subscribed >= acked) {
            break;
        }
        if last_report.elapsed() > Duration::from_secs(5) {
            eprintln!("connecting: {acked} acked, {failed} failed of {total}");
            last_report = Instant::now();
        }
        if connecting.elapsed() > Duration::from_secs(600) {
            bail!("sockets did not connect within 10 minutes: {acked} acked, {failed} failed");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let connect_s = connecting.elapsed().as_secs_f64();
    let acked = shared.acked.load(Ordering::Relaxed);
    eprintln!(
        "{acked} sockets acknowledged in {connect_s:.1} s ({} failed)",
        shared.failed.load(Ordering::Relaxed)
    );

    // Warm-up: a message per room until every socket has had one, so every subscription is
    // registered before anything is measured.
    let mut warmups = 0;
    while shared.warmed.load(Ordering::Relaxed) < acked && warmups < 5 {
        warmups += 1;
        let sends = futures_util::stream::iter(rooms.iter().enumerate())
            .map(|(j, &r)| {
                send_message(
                    &http,
                    &graphql[j % graphql.len()],
                    &layout.rooms[r],
                    "warmup",
                )
            })
            .buffer_unordered(args.send_concurrency.max(1));
        for sent in sends.collect::<Vec<_>>().await {
            sent?;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while shared.warmed.load(Ordering::Relaxed) < acked && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let warmed = shared.warmed.load(Ordering::Relaxed);
    eprintln!("{warmed} of {acked} sockets warmed up after {warmups} warm-up round(s)");

    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = servers_stat(servers.pids());

    // Measured rounds.
    let before_rounds = servers_stat(servers.pids());
    let target = send::Target {
        http: &http,
        graphql: &graphql,
        layout: &layout,
        rooms: &rooms,
        shared: &shared,
    };
    let sent = match args.send_rate {
        Some(rate) => send::paced(&target, args.rounds, rate, args.send_concurrency).await,
        None => {
            let gap = Duration::from_millis(args.round_gap_ms);
            send::closed_loop(&target, args.rounds, args.send_concurrency, gap).await
        }
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while shared.delivered() < acked * args.rounds && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after_rounds = servers_stat(servers.pids());
    let client_cpu_s = proc_stat(None).map(|s| s.cpu_s);

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
        sockets_planned: total,
        servers: graphql.len(),
        server_files: servers
            .pids()
            .first()
            .and_then(|&pid| open_files(Some(pid)))
            .map(|l| l.0),
        rooms_used: rooms.len(),
        acked,
        failed: shared.failed.load(Ordering::Relaxed),
        connect_s,
        warmups,
        warmed,
        baseline,
        idle,
        before_rounds,
        after_rounds,
        client_cpu_s,
        sends: rooms.len() * args.rounds,
        send_failures: sent.failures,
        first_send_error: sent.first_error,
        send_latencies_us: sent.latencies_us,
        behind_us: sent.behind_us,
        expected: total * args.rounds,
        results,
        rounds: sent.rounds,
    })
}
