//! Fan-out benchmark (issue #7, item 5): thousands of `graphql-transport-ws` subscribers on one
//! server process, messages sent into their rooms over HTTP, delivery latency measured per
//! subscriber.
//!
//! `cargo bench --bench fanout` (flags after `--`, see `--help`). Without `--url` it starts the
//! release `confab` binary on a fresh SQLite file (or `--database-url`), seeds it with
//! `confab seed --bench` (2,000 users with tokens `bench-token-<u>`, 500 rooms of 10 members),
//! and stops it at the end (`--no-seed` with `--database-url`: the database is already
//! seeded). Not a test: `cargo test` never builds it, and it does nothing
//! unless run with `--bench` (which `cargo bench` passes).
//!
//! The client runs one awc WebSocket per subscriber, spread over `--client-threads` threads,
//! each a single-threaded actix runtime (awc's futures are not `Send`). Every socket subscribes
//! `roomEvents` for one room of its user; every room gets subscribers. Message bodies carry the
//! send time, so a subscriber computes the delivery latency from the frame alone.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use awc::ws::{Frame, Message};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::json;

/// Users, rooms and members as `confab seed --bench` creates them.
const USERS: usize = 2_000;
const ROOMS: usize = 500;
const MEMBERS_PER_ROOM: usize = 10;

const SUBSCRIPTION: &str = "subscription($room: UUID!) { roomEvents(roomId: $room) { __typename \
    ... on MessageAdded { message { id body createdAt sender { id username } } } } }";
const SEND: &str = "mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }";

#[derive(Debug, Parser)]
#[command(about = "Confab fan-out benchmark: many graphql-transport-ws subscribers, one server")]
struct Args {
    /// WebSockets to hold open (each user of the seed opens sockets in turn).
    #[arg(long, default_value_t = 10_000)]
    sockets: usize,
    /// Measured rounds; a round sends one message into every room that has subscribers.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// `sendMessage` requests in flight at once. 1 paces the sends at what one writer
    /// sustains, so latency is the write plus the fan-out; 500 sends a whole round at once.
    #[arg(long, default_value_t = 1)]
    send_concurrency: usize,
    /// Pause after a round's sends before the next round, milliseconds.
    #[arg(long, default_value_t = 1_000)]
    round_gap_ms: u64,
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
    /// A running server (http://host:port) already seeded with `confab seed --bench`;
    /// without it the bench starts and seeds its own.
    #[arg(long)]
    url: Option<String>,
    /// The PID of the `--url` server, for its memory and CPU time.
    #[arg(long)]
    pid: Option<u32>,
    /// Database for the server the bench starts: default a fresh SQLite file in a temp dir.
    /// It is seeded with `confab seed --bench`.
    #[arg(long)]
    database_url: Option<String>,
    /// The `--database-url` is already seeded (by an earlier run, or `bench/standin-seed.sh`):
    /// skip `confab seed --bench`.
    #[arg(long, requires = "database_url")]
    no_seed: bool,
    /// HTTP worker threads of the server the bench starts (default: one per core).
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
    let started_at = chrono::Utc::now();
    // One descriptor per socket here and in the server (which inherits this process's limit
    // when the bench starts it), plus some for the database, the log and HTTP sends.
    let needed = args.sockets as u64 + 256;
    let client_files = raise_open_files()?;
    if client_files < needed {
        bail!(
            "{} sockets need about {needed} open files, and this process may open {client_files} \
             (its hard limit: raise it with `ulimit -Hn` as root, or in the unit's LimitNOFILE)",
            args.sockets
        );
    }
    if let (Some(_), Some(pid)) = (&args.url, args.pid)
        && let Some((server_files, _)) = open_files(Some(pid))
        && server_files < needed
    {
        bail!("the server (pid {pid}) may open {server_files} files, {needed} needed");
    }
    let mut server = match &args.url {
        Some(url) => Server::External {
            url: url.trim_end_matches('/').to_owned(),
            pid: args.pid,
        },
        None => Server::start(&args)?,
    };
    let result = actix_web::rt::System::new().block_on(run(&args, server.url(), server.pid()));
    let db = server.database();
    server.stop();
    let report = report(&args, started_at, &db, &result?);
    print!("{report}");
    if let Some(path) = &args.out {
        std::fs::write(path, &report).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// The server under test: started by the bench, or one given with `--url`.
enum Server {
    Started {
        url: String,
        child: Child,
        database: String,
        _dir: tempfile::TempDir,
    },
    External {
        url: String,
        pid: Option<u32>,
    },
}

impl Server {
    fn start(args: &Args) -> anyhow::Result<Server> {
        let binary = env!("CARGO_BIN_EXE_confab");
        let dir = tempfile::tempdir().context("creating a temp dir")?;
        let database = args.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("fanout.db").display()
            )
        });
        if !args.no_seed {
            let seeding = Instant::now();
            let status = Command::new(binary)
                .args(["seed", "--bench", "--database-url", &database])
                .env("RUST_LOG", "warn")
                .status()
                .context("running confab seed --bench")?;
            if !status.success() {
                bail!("confab seed --bench failed: {status}");
            }
            eprintln!("seeded in {:.1} s", seeding.elapsed().as_secs_f64());
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .context("finding a free port")?
            .port();
        let log = std::fs::File::create(dir.path().join("server.log")).context("server log")?;
        let mut command = Command::new(binary);
        command
            .arg("serve")
            .args(["--database-url", &database])
            .args(["--bind", &format!("127.0.0.1:{port}")])
            .arg("--blob-dir")
            .arg(dir.path().join("blobs"))
            // Five sockets per user and a message per room per round: lift the per-user limits.
            .args(["--max-sockets-per-user", "100"])
            .args(["--rate-messages-per-10s", "1000000"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log);
        if let Some(workers) = args.server_workers {
            command.args(["--workers", &workers.to_string()]);
        }
        let child = command.spawn().context("starting confab serve")?;
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("the server did not listen within 60 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(Server::Started {
            url,
            child,
            database,
            _dir: dir,
        })
    }

    fn url(&self) -> &str {
        match self {
            Self::Started { url, .. } | Self::External { url, .. } => url,
        }
    }

    fn pid(&self) -> Option<u32> {
        match self {
            Self::Started { child, .. } => Some(child.id()),
            Self::External { pid, .. } => *pid,
        }
    }

    fn database(&self) -> String {
        match self {
            Self::Started { database, .. } if database.starts_with("sqlite:") => {
                format!("SQLite ({database})")
            }
            Self::Started { database, .. } => redact(database),
            Self::External { .. } => "the --url server's".to_owned(),
        }
    }

    fn stop(&mut self) {
        if let Self::Started { child, .. } = self {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_owned(),
    }
}

fn user_id(u: usize) -> String {
    format!("00000000-0000-4000-8000-{u:012x}")
}

fn room_id(r: usize) -> String {
    format!("00000000-0000-4000-9000-{r:012x}")
}

fn member(r: usize, k: usize) -> usize {
    ((r * MEMBERS_PER_ROOM + k) * 7 + r / 200) % USERS
}

/// One subscriber: socket `i` belongs to user `i % USERS` and subscribes the next of that
/// user's rooms, so every room gets subscribers once every user has a socket per room.
#[derive(Clone, Copy)]
struct Plan {
    user: usize,
    room: usize,
    /// The local address to connect from (`--source-addrs`), none for the system's choice.
    source: Option<IpAddr>,
}

fn plan(sockets: usize, source_addrs: u8) -> Vec<Plan> {
    let mut rooms_of: Vec<Vec<usize>> = vec![Vec::new(); USERS];
    for r in 0..ROOMS {
        for k in 0..MEMBERS_PER_ROOM {
            rooms_of[member(r, k)].push(r);
        }
    }
    (0..sockets)
        .map(|i| {
            let user = i % USERS;
            let rooms = &rooms_of[user];
            Plan {
                user,
                room: rooms[(i / USERS) % rooms.len()],
                source: (source_addrs > 1).then(|| {
                    IpAddr::V4(Ipv4Addr::new(
                        127,
                        0,
                        0,
                        1 + (i % usize::from(source_addrs)) as u8,
                    ))
                }),
            }
        })
        .collect()
}

/// What the coordinator and the socket tasks share across threads.
struct Shared {
    epoch: Instant,
    acked: AtomicUsize,
    failed: AtomicUsize,
    subscribed: AtomicUsize,
    warmed: AtomicUsize,
    deliveries: AtomicUsize,
    connect_slots: tokio::sync::Semaphore,
}

impl Shared {
    fn micros(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }
}

/// What one socket saw.
#[derive(Default)]
struct SocketResult {
    /// Per measured round: how many copies of that round's message arrived.
    got: Vec<u16>,
    /// (round, latency µs, receive time µs since the epoch) per measured delivery.
    deliveries: Vec<(u16, u32, u64)>,
    failure: Option<String>,
    closed_early: bool,
    errors: usize,
}

#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    #[serde(default, borrow)]
    payload: Option<Payload<'a>>,
}

#[derive(Deserialize)]
struct Payload<'a> {
    #[serde(default, borrow)]
    data: Option<Data<'a>>,
}

#[derive(Deserialize)]
struct Data<'a> {
    #[serde(rename = "roomEvents", borrow)]
    room_events: Option<RoomEventJson<'a>>,
}

#[derive(Deserialize)]
struct RoomEventJson<'a> {
    #[serde(default, borrow)]
    message: Option<MessageJson<'a>>,
}

#[derive(Deserialize)]
struct MessageJson<'a> {
    body: &'a str,
}

/// A message body the bench sent: a warm-up, or measured round `round` sent at `sent` µs.
enum Body {
    Warmup,
    Measured { round: usize, sent: u64 },
}

fn parse_body(body: &str) -> Option<Body> {
    let mut words = body.split(' ');
    match words.next()? {
        "warmup" => Some(Body::Warmup),
        "fanout" => Some(Body::Measured {
            round: words.next()?.parse().ok()?,
            sent: words.next()?.parse().ok()?,
        }),
        _ => None,
    }
}

/// Holds one subscriber socket until told to stop.
async fn subscriber(
    ws_url: Arc<str>,
    plan: Plan,
    rounds: usize,
    shared: Arc<Shared>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> SocketResult {
    let mut result = SocketResult {
        got: vec![0; rounds],
        deliveries: Vec::with_capacity(rounds),
        ..SocketResult::default()
    };
    // Held only while the handshake is in flight.
    let mut permit = shared.connect_slots.acquire().await.ok();
    let mut client = awc::Client::builder().timeout(Duration::from_secs(60));
    if let Some(source) = plan.source {
        client = client.local_address(source);
    }
    let client = client.finish();
    let connected = client
        .ws(&*ws_url)
        .protocols(["graphql-transport-ws"])
        .connect()
        .await;
    let mut framed = match connected {
        Ok((_, framed)) => framed,
        Err(err) => {
            shared.failed.fetch_add(1, Ordering::Relaxed);
            result.failure = Some(format!("handshake: {err}"));
            return result;
        }
    };
    let init = json!({ "type": "connection_init",
        "payload": { "Authorization": format!("Bearer bench-token-{}", plan.user) } });
    if let Err(err) = framed.send(Message::Text(init.to_string().into())).await {
        shared.failed.fetch_add(1, Ordering::Relaxed);
        result.failure = Some(format!("connection_init: {err}"));
        return result;
    }
    let mut acked = false;
    let mut warmed = false;
    loop {
        let frame = tokio::select! {
            frame = framed.next() => frame,
            _ = stop.changed() => break,
            () = tokio::time::sleep(Duration::from_secs(60)), if !acked => {
                result.failure = Some("no connection_ack within 60 s".to_owned());
                shared.failed.fetch_add(1, Ordering::Relaxed);
                break;
            }
        };
        let text = match frame {
            Some(Ok(Frame::Text(text))) => text,
            Some(Ok(Frame::Ping(bytes))) => {
                let _ = framed.send(Message::Pong(bytes)).await;
                continue;
            }
            Some(Ok(Frame::Close(reason))) => {
                result.closed_early = true;
                if !acked {
                    shared.failed.fetch_add(1, Ordering::Relaxed);
                    result.failure = Some(format!("closed before ack: {reason:?}"));
                }
                return result;
            }
            Some(Ok(_)) => continue,
            Some(Err(err)) => {
                result.closed_early = true;
                if !acked {
                    shared.failed.fetch_add(1, Ordering::Relaxed);
                    result.failure = Some(format!("protocol error before ack: {err}"));
                }
                return result;
            }
            None => {
                result.closed_early = true;
                if !acked {
                    shared.failed.fetch_add(1, Ordering::Relaxed);
                    result.failure = Some("closed before ack".to_owned());
                }
                return result;
            }
        };
        let received_at = shared.micros();
        let Ok(message) = serde_json::from_slice::<Incoming<'_>>(&text) else {
            result.errors += 1;
            if result.failure.is_none() {
                result.failure = Some(String::from_utf8_lossy(&text).into_owned());
            }
            continue;
        };
        match message.kind {
            "connection_ack" if !acked => {
                acked = true;
                permit.take();
                shared.acked.fetch_add(1, Ordering::Relaxed);
                let subscribe = json!({ "id": "1", "type": "subscribe", "payload": {
                    "query": SUBSCRIPTION, "variables": { "room": room_id(plan.room) } } });
                if framed
                    .send(Message::Text(subscribe.to_string().into()))
                    .await
                    .is_err()
                {
                    result.closed_early = true;
                    return result;
                }
                shared.subscribed.fetch_add(1, Ordering::Relaxed);
            }
            "next" => {
                let body = message
                    .payload
                    .and_then(|p| p.data)
                    .and_then(|d| d.room_events)
                    .and_then(|e| e.message)
                    .map(|m| m.body);
                match body.and_then(parse_body) {
                    // Each socket counts once, however many warm-ups it sees.
                    Some(Body::Warmup) if !warmed => {
                        warmed = true;
                        shared.warmed.fetch_add(1, Ordering::Relaxed);
                    }
                    Some(Body::Measured { round, sent }) if round < rounds => {
                        result.got[round] = result.got[round].saturating_add(1);
                        let latency = received_at.saturating_sub(sent).min(u32::MAX as u64);
                        result
                            .deliveries
                            .push((round as u16, latency as u32, received_at));
                        shared.deliveries.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {}
                }
            }
            "ping" => {
                let _ = framed
                    .send(Message::Text(r#"{"type":"pong"}"#.into()))
                    .await;
            }
            "pong" => {}
            _ => {
                result.errors += 1;
                if result.failure.is_none() {
                    result.failure = Some(String::from_utf8_lossy(&text).into_owned());
                }
            }
        }
    }
    let _ = framed.send(Message::Close(None)).await;
    result
}

/// The soft and hard limits on open files of a process (this one without `pid`), from
/// /proc/<pid>/limits.
fn open_files(pid: Option<u32>) -> Option<(u64, u64)> {
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
fn raise_open_files() -> anyhow::Result<u64> {
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
struct ProcStat {
    rss_kb: u64,
    hwm_kb: u64,
    cpu_s: f64,
}

fn proc_stat(pid: Option<u32>) -> Option<ProcStat> {
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

/// Everything measured, for the report.
struct Outcome {
    sockets_planned: usize,
    /// The server's soft limit on open files.
    server_files: Option<u64>,
    rooms_used: usize,
    acked: usize,
    failed: usize,
    connect_s: f64,
    warmups: usize,
    warmed: usize,
    baseline: Option<ProcStat>,
    idle: Option<ProcStat>,
    before_rounds: Option<ProcStat>,
    after_rounds: Option<ProcStat>,
    client_cpu_s: Option<f64>,
    sends: usize,
    send_failures: usize,
    first_send_error: Option<String>,
    send_latencies_us: Vec<u32>,
    expected: usize,
    results: Vec<SocketResult>,
    rounds: Vec<RoundTiming>,
}

#[derive(Clone, Copy)]
struct RoundTiming {
    first_send_us: u64,
    last_send_done_us: u64,
}

async fn run(args: &Args, base: &str, pid: Option<u32>) -> anyhow::Result<Outcome> {
    let plans = plan(args.sockets, args.source_addrs);
    let mut subscribers_per_room = vec![0usize; ROOMS];
    for p in &plans {
        subscribers_per_room[p.room] += 1;
    }
    let rooms: Vec<usize> = (0..ROOMS)
        .filter(|&r| subscribers_per_room[r] > 0)
        .collect();
    let http = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish();
    let graphql = format!("{base}/graphql");

    // One request first, so the baseline includes a warmed-up HTTP path.
    send_message(&http, &graphql, rooms[0], "warmup 0").await?;
    let baseline = proc_stat(pid);

    let shared = Arc::new(Shared {
        epoch: Instant::now(),
        acked: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        subscribed: AtomicUsize::new(0),
        warmed: AtomicUsize::new(0),
        deliveries: AtomicUsize::new(0),
        connect_slots: tokio::sync::Semaphore::new(args.connect_concurrency),
    });
    let ws_url: Arc<str> = Arc::from(format!("{}/graphql", base.replacen("http", "ws", 1)));
    let (results_tx, results_rx) = mpsc::channel::<Vec<SocketResult>>();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let threads = args.client_threads.max(1);
    let mut handles = Vec::new();
    let connecting = Instant::now();
    for t in 0..threads {
        let mine: Vec<Plan> = plans.iter().skip(t).step_by(threads).copied().collect();
        let shared = shared.clone();
        let ws_url = ws_url.clone();
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
                            .map(|p| {
                                actix_web::rt::spawn(subscriber(
                                    ws_url.clone(),
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
    let total = plans.len();
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
        for chunk in rooms.chunks(args.send_concurrency.max(1)) {
            let sends = chunk
                .iter()
                .map(|&r| send_message(&http, &graphql, r, "warmup"));
            for sent in futures_util::future::join_all(sends).await {
                sent?;
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while shared.warmed.load(Ordering::Relaxed) < acked && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let warmed = shared.warmed.load(Ordering::Relaxed);
    eprintln!("{warmed} of {acked} sockets warmed up after {warmups} warm-up round(s)");

    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = proc_stat(pid);

    // Measured rounds.
    let before_rounds = proc_stat(pid);
    let expected: usize = plans.len() * args.rounds;
    let mut send_latencies_us = Vec::new();
    let mut send_failures = 0;
    let mut first_send_error = None;
    let mut timings = Vec::new();
    for round in 0..args.rounds {
        let first_send_us = shared.micros();
        let outcomes: Vec<(u32, anyhow::Result<()>)> = futures_util::stream::iter(rooms.iter())
            .map(|&r| {
                let http = &http;
                let graphql = &graphql;
                let shared = &shared;
                async move {
                    let sent = shared.micros();
                    let body = format!("fanout {round} {sent}");
                    let outcome = send_message(http, graphql, r, &body).await;
                    ((shared.micros() - sent) as u32, outcome)
                }
            })
            .buffer_unordered(args.send_concurrency.max(1))
            .collect()
            .await;
        for (latency, outcome) in outcomes {
            send_latencies_us.push(latency);
            if let Err(err) = outcome {
                send_failures += 1;
                first_send_error.get_or_insert_with(|| format!("{err:#}"));
            }
        }
        timings.push(RoundTiming {
            first_send_us,
            last_send_done_us: shared.micros(),
        });
        eprintln!(
            "round {round}: sent, {} deliveries so far",
            shared.deliveries.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(args.round_gap_ms)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while shared.deliveries.load(Ordering::Relaxed) < acked * args.rounds
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after_rounds = proc_stat(pid);
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
        server_files: open_files(pid).map(|l| l.0),
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
        send_failures,
        first_send_error,
        send_latencies_us,
        expected,
        results,
        rounds: timings,
    })
}

/// Sends `body` into room `r` as its first member; fails on an HTTP or GraphQL error.
async fn send_message(http: &awc::Client, url: &str, r: usize, body: &str) -> anyhow::Result<()> {
    let sender = member(r, 0);
    let request = json!({ "query": SEND,
        "variables": { "input": { "roomId": room_id(r), "body": body } } });
    let mut response = http
        .post(url)
        .insert_header(("Authorization", format!("Bearer bench-token-{sender}")))
        .send_json(&request)
        .await
        .map_err(|err| anyhow::anyhow!("sendMessage to room {r}: {err}"))?;
    let bytes = response
        .body()
        .await
        .map_err(|err| anyhow::anyhow!("sendMessage to room {r}: reading the answer: {err}"))?;
    let answer: serde_json::Value =
        serde_json::from_slice(&bytes).context("sendMessage answer is not JSON")?;
    if !response.status().is_success() || answer.get("errors").is_some() {
        bail!(
            "sendMessage to room {r} as {}: {} {answer}",
            user_id(sender),
            response.status()
        );
    }
    Ok(())
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    f64::from(sorted[rank.clamp(1, sorted.len()) - 1]) / 1000.0
}

fn mib(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

fn report(
    args: &Args,
    started_at: chrono::DateTime<chrono::Utc>,
    database: &str,
    o: &Outcome,
) -> String {
    let mut r = String::new();
    let command: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let _ = writeln!(r, "# Confab fan-out benchmark");
    let _ = writeln!(r, "started:  {}", started_at.format("%Y-%m-%dT%H:%M:%SZ"));
    let _ = writeln!(
        r,
        "command:  cargo bench --bench fanout -- {}",
        command.join(" ")
    );
    let _ = writeln!(r, "commit:   {}", git_commit());
    let _ = writeln!(r, "machine:  {}", machine());
    let _ = writeln!(r, "database: {database}");
    let _ = writeln!(
        r,
        "limits:   open files {} (client), {} (server); {} source address(es)",
        open_files(None).map_or_else(|| "?".to_owned(), |l| l.0.to_string()),
        o.server_files
            .map_or_else(|| "?".to_owned(), |l| l.to_string()),
        args.source_addrs
    );
    let _ = writeln!(
        r,
        "settings: {} sockets planned over {} rooms, {} measured rounds, {} sends in flight, {} ms between rounds, {} client threads",
        o.sockets_planned,
        o.rooms_used,
        args.rounds,
        args.send_concurrency,
        args.round_gap_ms,
        args.client_threads
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
    for (round, t) in o.rounds.iter().enumerate() {
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
                "server:   RSS before sockets {:.1} MiB, all sockets idle {:.1} MiB, after the rounds {:.1} MiB, peak (VmHWM) {:.1} MiB",
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
            let _ = writeln!(r, "server:   no /proc figures (pass --pid with --url)");
        }
    }
    if let Some(cpu) = o.client_cpu_s {
        let _ = writeln!(r, "client:   CPU time {cpu:.2} s in all");
    }
    r
}

fn git_commit() -> String {
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

fn machine() -> String {
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
    format!("{cores} cores ({cpu}), {mem} RAM, client and server on the same machine")
}
