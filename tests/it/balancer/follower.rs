//! A real graphql-ws client (tests/graphql-ws/follow.mjs under Node) following a room: what it
//! printed, line by line.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/graphql-ws");

pub struct Follower {
    child: Child,
    lines: mpsc::Receiver<Value>,
    /// The process each of its sockets landed on, in order.
    pub backends: Vec<String>,
    /// The close code of each socket that closed.
    pub closes: Vec<u64>,
    /// Every message received: (id, body).
    pub seen: Vec<(String, String)>,
}

impl Follower {
    /// Starts following `room` through `base` as `token`; None (a skip) when Node or the
    /// package is not installed, a failure under CI (.ci/run installs it).
    pub fn start(base: &str, token: &str, room: &str) -> Option<Self> {
        let installed = std::path::Path::new(DIR)
            .join("node_modules/graphql-ws")
            .is_dir();
        if !installed {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run the graphql-ws client: npm ci in tests/graphql-ws"
            );
            eprintln!("tests/graphql-ws not installed: skipping the graphql-ws client");
            return None;
        }
        let url = format!("{}/graphql", base.replacen("http", "ws", 1));
        let mut child = Command::new("node")
            .current_dir(DIR)
            .args(["follow.mjs", &url, token, room])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start node");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let value = serde_json::from_str(&line).unwrap_or(Value::String(line));
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        Some(Self {
            child,
            lines,
            backends: Vec::new(),
            closes: Vec::new(),
            seen: Vec::new(),
        })
    }

    /// Takes in what it printed until `done` holds; fails after `within`.
    pub async fn until(&mut self, within: Duration, done: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + within;
        while !done(self) {
            match self.lines.try_recv() {
                Ok(line) => self.take(line),
                Err(mpsc::TryRecvError::Empty) => {
                    assert!(
                        Instant::now() < deadline,
                        "graphql-ws client: waited in vain (backends {:?}, closes {:?}, {} messages)",
                        self.backends,
                        self.closes,
                        self.seen.len()
                    );
                    actix_web::rt::time::sleep(Duration::from_millis(20)).await;
                }
                Err(mpsc::TryRecvError::Disconnected) => {
                    panic!("the graphql-ws client exited: {:?}", self.child.try_wait())
                }
            }
        }
    }

    /// Takes in whatever else it prints within 300 ms.
    pub async fn settle(&mut self) {
        actix_web::rt::time::sleep(Duration::from_millis(300)).await;
        while let Ok(line) = self.lines.try_recv() {
            self.take(line);
        }
    }

    fn take(&mut self, line: Value) {
        if let Some(backend) = line["backend"].as_str() {
            self.backends.push(backend.to_owned());
        } else if let Some(code) = line["closed"].as_u64() {
            self.closes.push(code);
        } else if let (Some(id), Some(body)) = (
            line["message"]["id"].as_str(),
            line["message"]["body"].as_str(),
        ) {
            self.seen.push((id.to_owned(), body.to_owned()));
        } else {
            panic!("graphql-ws client: {line}");
        }
    }

    pub fn bodies(&self) -> Vec<&str> {
        self.seen.iter().map(|(_, body)| body.as_str()).collect()
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
