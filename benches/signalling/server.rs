//! The servers under test: one or more `confab serve` processes on one database, started and
//! seeded by the bench, and the PostgreSQL database it creates for them (dropped at the end).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::Args;

/// One `confab serve` process.
pub struct Process {
    pub url: String,
    pub child: Child,
    pub log: PathBuf,
}

/// The processes, their database and where they keep their files.
pub struct Servers {
    pub processes: Vec<Process>,
    /// What the report calls the database.
    pub database: String,
    /// A database the bench created on `--postgres`, dropped by `stop`.
    created: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Servers {
    pub fn start(args: &Args) -> anyhow::Result<Servers> {
        let binary = env!("CARGO_BIN_EXE_confab");
        let dir = tempfile::tempdir().context("creating a temp dir")?;
        let (database_url, created) = match &args.postgres {
            Some(admin) => {
                let name = format!(
                    "confab_signalling_{}_{}",
                    std::process::id(),
                    chrono::Utc::now().format("%Y%m%d%H%M%S")
                );
                psql(admin, &format!("CREATE DATABASE {name}"))?;
                let url = match admin.rfind('/') {
                    Some(slash) if slash > admin.find("://").map_or(0, |s| s + 2) => {
                        format!("{}/{name}", &admin[..slash])
                    }
                    _ => bail!("--postgres must name a database: postgres://user@host:port/db"),
                };
                (url, Some((admin.clone(), name)))
            }
            None => (
                format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("signalling.db").display()
                ),
                None,
            ),
        };
        let mut servers = Servers {
            processes: Vec::new(),
            database: match &created {
                Some((_, name)) => format!("PostgreSQL (a fresh database {name}, dropped after)"),
                None => "SQLite (a fresh file in a temp dir)".to_owned(),
            },
            created,
            _dir: dir,
        };
        crate::common::seed_bench(binary, &database_url)?;

        for p in 0..args.processes {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .context("finding a free port")?
                .port();
            let log = servers._dir.path().join(format!("server-{p}.log"));
            let file = std::fs::File::create(&log).context("server log")?;
            let mut command = Command::new(binary);
            command
                .arg("serve")
                .args(["--database-url", &database_url])
                .args(["--bind", &format!("127.0.0.1:{port}")])
                .arg("--blob-dir")
                .arg(servers._dir.path().join(format!("blobs-{p}")))
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(file);
            if args.processes > 1 {
                command.args(["--redis-url", &args.redis_url]);
            }
            if let Some(workers) = args.server_workers {
                command.args(["--workers", &workers.to_string()]);
            }
            let child = command.spawn().context("starting confab serve")?;
            servers.processes.push(Process {
                url: format!("http://127.0.0.1:{port}"),
                child,
                log,
            });
        }
        Ok(servers)
    }

    /// The last lines of every process's log, for an error report.
    pub fn log_tails(&self) -> String {
        let mut out = String::new();
        for (p, process) in self.processes.iter().enumerate() {
            let text = std::fs::read_to_string(&process.log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            out.push_str(&format!("--- server {p} log (last 20 lines) ---\n"));
            for line in &lines[lines.len().saturating_sub(20)..] {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }

    pub fn stop(&mut self) {
        for process in &mut self.processes {
            let _ = process.child.kill();
            let _ = process.child.wait();
        }
        self.processes.clear();
        if let Some((admin, name)) = self.created.take()
            && let Err(err) = psql(
                &admin,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            )
        {
            eprintln!("dropping database {name}: {err:#}");
        }
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        self.stop();
    }
}

fn psql(admin: &str, sql: &str) -> anyhow::Result<()> {
    let output = Command::new("psql")
        .args([admin, "-v", "ON_ERROR_STOP=1", "-qc", sql])
        .output()
        .context("running psql")?;
    if !output.status.success() {
        bail!(
            "psql {sql:?}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// Waits until `/readyz` answers 200 (and, with Redis, reports the link up).
pub async fn wait_ready(url: &str, redis: bool) -> anyhow::Result<()> {
    let http = awc::Client::builder()
        .timeout(Duration::from_secs(5))
        .finish();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = String::new();
    while Instant::now() < deadline {
        if let Ok(mut response) = http.get(format!("{url}/readyz")).send().await {
            let body = response.body().await.unwrap_or_default();
            last = String::from_utf8_lossy(&body).into_owned();
            if response.status().is_success() && (!redis || last.contains("\"redis\":\"ok\"")) {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{url} was not ready within 60 s (last /readyz: {last:?})")
}

/// A Prometheus gauge or counter from `/metrics` on the main bind, if served there.
pub async fn metric(url: &str, series: &str) -> Option<f64> {
    let http = awc::Client::builder()
        .timeout(Duration::from_secs(5))
        .finish();
    let mut response = http.get(format!("{url}/metrics")).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    let body = response.body().limit(16 << 20).await.ok()?;
    String::from_utf8_lossy(&body)
        .lines()
        .find_map(|l| l.strip_prefix(series))
        .and_then(|rest| rest.trim().parse().ok())
}
