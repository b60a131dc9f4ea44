//! The servers under test: `--processes` started by the bench on one database (and one Redis
//! when there are several), or the ones given with `--url`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::Args;

pub struct Servers {
    urls: Vec<String>,
    pids: Vec<u32>,
    children: Vec<Child>,
    /// What the report says of the database (and Redis).
    database: String,
    _dir: Option<tempfile::TempDir>,
}

impl Servers {
    /// The `--url` servers, with their `--pid`s.
    pub fn external(args: &Args) -> Servers {
        Servers {
            urls: args
                .urls
                .iter()
                .map(|u| u.trim_end_matches('/').to_owned())
                .collect(),
            pids: args.pids.clone(),
            children: Vec::new(),
            database: "the --url servers'".to_owned(),
            _dir: None,
        }
    }

    /// Seeds the database (unless `--no-seed`) and starts `--processes` servers on it, each on
    /// a port of its own, and waits until each listens.
    pub fn start(args: &Args) -> anyhow::Result<Servers> {
        let binary = env!("CARGO_BIN_EXE_confab");
        let dir = tempfile::tempdir().context("creating a temp dir")?;
        let database = args.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("fanout.db").display()
            )
        });
        if args.processes > 1 && (database.starts_with("sqlite:") || args.redis_url.is_none()) {
            bail!("--processes above 1 needs a PostgreSQL --database-url and a --redis-url");
        }
        if !args.no_seed {
            crate::common::seed_bench(binary, &database)?;
        }
        let mut servers = Servers {
            urls: Vec::new(),
            pids: Vec::new(),
            children: Vec::new(),
            database: describe(&database, args.redis_url.as_deref()),
            _dir: None,
        };
        for n in 0..args.processes {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .context("finding a free port")?
                .port();
            let log = std::fs::File::create(dir.path().join(format!("server-{n}.log")))
                .context("server log")?;
            let mut command = Command::new(binary);
            command
                .arg("serve")
                .args(["--database-url", &database])
                .args(["--bind", &format!("127.0.0.1:{port}")])
                .arg("--blob-dir")
                .arg(dir.path().join("blobs"))
                // Five sockets per user and a message per room per round: lift the per-user
                // limits.
                .args(["--max-sockets-per-user", "100"])
                .args(["--rate-messages-per-10s", "1000000"])
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(log);
            if let Some(redis) = &args.redis_url {
                command.args(["--redis-url", redis]);
            }
            if let Some(workers) = args.server_workers {
                command.args(["--workers", &workers.to_string()]);
            }
            let child = command.spawn().context("starting confab serve")?;
            servers.pids.push(child.id());
            servers.children.push(child);
            let deadline = Instant::now() + Duration::from_secs(60);
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                if Instant::now() > deadline {
                    bail!("server {n} did not listen within 60 s");
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            servers.urls.push(format!("http://127.0.0.1:{port}"));
        }
        servers._dir = Some(dir);
        Ok(servers)
    }

    pub fn urls(&self) -> &[String] {
        &self.urls
    }

    pub fn pids(&self) -> &[u32] {
        &self.pids
    }

    pub fn database(&self) -> &str {
        &self.database
    }

    pub fn stop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.children.clear();
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        self.stop();
    }
}

fn describe(database: &str, redis: Option<&str>) -> String {
    let database = if database.starts_with("sqlite:") {
        format!("SQLite ({database})")
    } else {
        redact(database)
    };
    match redis {
        Some(redis) => format!("{database}, Redis {}", redact(redis)),
        None => database,
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
