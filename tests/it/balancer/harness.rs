//! The balancer test's harness: HAProxy with the repository's config, requests and sockets
//! through it that report which process answered.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::util::ServerProcess;
use crate::wsclient::{Got, TRANSPORT, Ws};

const ROOM_EVENTS: &str = "subscription($room: UUID!, $after: UUID) {
    roomEvents(roomId: $room, after: $after) { __typename ... on MessageAdded { message { id body } } }
}";
/// The same without `after:`, which releases before 2026-12-06 do not have (tests/it/upgrade.rs).
const ROOM_EVENTS_FROM_NOW: &str = "subscription($room: UUID!) {
    roomEvents(roomId: $room) { __typename ... on MessageAdded { message { id body } } }
}";
/// The header deploy/haproxy/haproxy.cfg sets to the name of the process that answered.
const BACKEND: &str = "x-confab-backend";

/// A Redis server of the test's own, for a test that counts every event (nothing another test
/// does to a shared Redis can reach it) or that stops and drops Redis itself
/// (tests/it/cluster.rs).
pub struct OwnRedis {
    pub url: String,
    child: Child,
}

impl OwnRedis {
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let redis = Self {
            url: format!("redis://127.0.0.1:{port}"),
            child: Self::spawn(port),
        };
        redis.wait_ready().await;
        redis
    }

    /// Stops the server (every connection to it drops, and new ones are refused) until
    /// [`OwnRedis::restart`].
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again on the same port, empty.
    pub async fn restart(&mut self) {
        self.stop();
        self.child = Self::spawn(self.port());
        self.wait_ready().await;
    }

    fn port(&self) -> u16 {
        self.url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port")
    }

    fn spawn(port: u16) -> Child {
        Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("start redis-server")
    }

    async fn wait_ready(&self) {
        let client = redis::Client::open(self.url.as_str()).unwrap();
        for _ in 0..100 {
            if let Ok(mut conn) = client.get_multiplexed_async_connection().await
                && redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .is_ok()
            {
                return;
            }
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server did not answer at {}", self.url);
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// HAProxy in the foreground on a free port, with the repository's config.
pub struct Balancer {
    pub base: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Balancer {
    pub async fn start(binary: &str, processes: &[&ServerProcess]) -> Self {
        Self::start_on(binary, "127.0.0.1", processes).await
    }

    /// The same, listening on `host` (`127.0.0.1`, or `[::1]` for clients that must come from
    /// another address than the balancer's own).
    pub async fn start_on(binary: &str, host: &str, processes: &[&ServerProcess]) -> Self {
        let port = std::net::TcpListener::bind(format!("{host}:0"))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/haproxy/haproxy.cfg");
        let mut config = std::fs::read_to_string(path).unwrap();
        config = config.replace("bind 127.0.0.1:8080", &format!("bind {host}:{port}"));
        for (n, process) in processes.iter().enumerate() {
            let documented = format!("127.0.0.1:{} check", 8081 + n);
            assert!(config.contains(&documented), "{documented} not in {path}");
            let here = format!("{} check", process.base.trim_start_matches("http://"));
            config = config.replace(&documented, &here);
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("haproxy.cfg");
        std::fs::write(&file, config).unwrap();
        let child = Command::new(binary)
            .arg("-db")
            .arg("-f")
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start haproxy");
        let balancer = Self {
            base: format!("http://{host}:{port}"),
            child,
            _dir: dir,
        };
        for _ in 0..100 {
            if let Ok(response) = awc::Client::default()
                .get(format!("{}/readyz", balancer.base))
                .send()
                .await
                && response.status().is_success()
            {
                return balancer;
            }
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("haproxy did not answer on port {port}");
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The haproxy binary, or None to skip (a failure under CI, where .ci/run installs it).
pub fn haproxy() -> Option<&'static str> {
    let found = ["haproxy", "/usr/sbin/haproxy"].into_iter().find(|binary| {
        Command::new(binary)
            .arg("-v")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the balancer test: install haproxy"
        );
        eprintln!("haproxy not installed: skipping the balancer test");
    }
    found
}

fn backend(headers: &awc::http::header::HeaderMap) -> String {
    headers
        .get(BACKEND)
        .and_then(|value| value.to_str().ok())
        .expect("the balancer names the process that answered")
        .to_owned()
}

/// One operation POSTed to `base`: the process that answered (through the balancer) and the
/// body.
pub async fn post(
    base: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> (String, Value) {
    let mut request = awc::Client::default().post(format!("{base}/graphql"));
    if let Some(token) = token {
        request = request.insert_header(("Authorization", format!("Bearer {token}")));
    }
    let mut response = request
        .send_json(&json!({ "query": query, "variables": variables }))
        .await
        .expect("request through the balancer");
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{status}: {body}");
    let answered = response
        .headers()
        .get(BACKEND)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (answered, body)
}

/// A client following the room through the balancer.
pub struct Client {
    pub token: String,
    pub backend: String,
    pub ws: Ws,
    /// Every message received: (id, body).
    pub seen: Vec<(String, String)>,
}

impl Client {
    /// Connects through `base` and subscribes to `room` (after `after`, if given).
    pub async fn connect(base: &str, token: &str, room: &str, after: Option<&str>) -> Self {
        let (headers, ws) = Self::open(base, token).await;
        let mut client = Self {
            token: token.to_owned(),
            backend: backend(&headers),
            ws,
            seen: Vec::new(),
        };
        client
            .ws
            .subscribe("room", ROOM_EVENTS, json!({ "room": room, "after": after }))
            .await;
        client
    }

    /// Connects to one process at `base` (no balancer) and subscribes to `room`: from now on,
    /// in the words of any release, or after `after`.
    pub async fn direct(base: &str, token: &str, room: &str, after: Option<&str>) -> Self {
        let (_, ws) = Self::open(base, token).await;
        let mut client = Self {
            token: token.to_owned(),
            backend: base.to_owned(),
            ws,
            seen: Vec::new(),
        };
        let (query, variables) = match after {
            None => (ROOM_EVENTS_FROM_NOW, json!({ "room": room })),
            Some(after) => (ROOM_EVENTS, json!({ "room": room, "after": after })),
        };
        client.ws.subscribe("room", query, variables).await;
        client
    }

    /// A `graphql-transport-ws` socket to `base`, acknowledged for `token`, and the handshake's
    /// response headers.
    async fn open(base: &str, token: &str) -> (awc::http::header::HeaderMap, Ws) {
        let url = format!("{}/graphql", base.replacen("http", "ws", 1));
        let (response, framed) = awc::Client::new()
            .ws(url)
            .protocols([TRANSPORT])
            .connect()
            .await
            .expect("websocket handshake");
        let mut ws = Ws::from_framed(framed, TRANSPORT);
        ws.send(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }))
            .await;
        match ws.recv().await {
            Got::Message(m) if m["type"] == "connection_ack" => {}
            other => panic!("expected connection_ack from {base}, got {other:?}"),
        }
        (response.headers().clone(), ws)
    }

    /// Reads one event: a message (kept), or the socket closing (its code).
    pub async fn read(&mut self, within: Duration) -> Result<(), Option<u16>> {
        match self.ws.recv_within(within).await {
            Got::Message(m) if m["type"] == "next" => {
                let message = &m["payload"]["data"]["roomEvents"]["message"];
                let (Some(id), Some(body)) = (message["id"].as_str(), message["body"].as_str())
                else {
                    panic!("not a message: {m}");
                };
                self.seen.push((id.to_owned(), body.to_owned()));
                Ok(())
            }
            Got::Message(m) => panic!("unexpected {m}"),
            Got::Closed(code) => Err(code),
            Got::Nothing => panic!("no event within {within:?} (seen {:?})", self.seen),
        }
    }

    /// Reads until `n` messages were seen, then checks nothing more comes.
    pub async fn read_all(&mut self, n: usize) {
        while self.seen.len() < n {
            if let Err(code) = self.read(Duration::from_secs(10)).await {
                panic!("closed ({code:?}) after {:?}", self.seen);
            }
        }
        assert!(
            matches!(
                self.ws.recv_within(Duration::from_millis(300)).await,
                Got::Nothing
            ),
            "more messages than were sent"
        );
    }

    pub fn bodies(&self) -> Vec<&str> {
        self.seen.iter().map(|(_, body)| body.as_str()).collect()
    }
}
