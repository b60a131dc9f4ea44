//! Read replicas (`--database-read-url`): GraphQL queries over HTTP run on a PostgreSQL
//! streaming replica, round robin, so the primary keeps its work for writes.
//!
//! A replica lags the primary, so two kinds of query stay on the primary:
//! - **the caller's own, just after they wrote.** A mutation marks its caller for
//!   `--read-your-writes-secs` (the model of Rails' automatic role switching: a fixed window
//!   after a write, not LSN bookkeeping), so whoever sent a message sees it in their next page.
//!   The mark is kept in this process and, with Redis, shared
//!   (`SET confab:wrote:<user> 1 PX <ms>`), since the caller's next request may land on another
//!   instance. When Redis does not answer the query goes to the primary: a stale read is what
//!   the window exists to prevent.
//! - **everyone's, while the replica lags.** Each replica's replay lag is measured every second;
//!   one more than `--read-max-lag-secs` behind, or not answering, gets no queries until it is
//!   back. With none usable every query runs on the primary.
//!
//! Mutations, subscriptions, the session lookup of sign-in and everything sent over WebSocket
//! always use the primary.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::config::{Config, redact};
use crate::realtime::redis_link::RedisLink;

/// How often each replica's lag is measured.
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// Longest a lag measurement may take before the replica counts as down.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// The lag of a replica that did not answer.
const DOWN: u64 = u64::MAX;

/// Milliseconds the replica's replay is behind: 0 when it has replayed all it received (or is
/// not in recovery at all), else the age of the last transaction it replayed. NULL before it
/// replayed any.
const LAG: &str = "SELECT CASE \
    WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 \
    ELSE (EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) * 1000)::bigint \
    END AS lag_ms";

pub struct ReadReplicas {
    replicas: Vec<Replica>,
    next: AtomicUsize,
    fresh_for: Duration,
    max_lag_ms: u64,
    /// Callers who wrote, and when, in this process.
    wrote: Mutex<HashMap<Uuid, Instant>>,
    redis: Option<RedisLink>,
}

struct Replica {
    db: DatabaseConnection,
    /// The URL without its password, for `/readyz`.
    name: String,
    /// Milliseconds behind at the last measurement; [`DOWN`] when it did not answer.
    lag_ms: AtomicU64,
}

impl ReadReplicas {
    /// The replicas of `--database-read-url`, with their lag watched in the background; None
    /// when there are none. Must run inside the tokio runtime.
    pub fn start(config: &Config) -> anyhow::Result<Option<Arc<Self>>> {
        let settings = &config.replicas;
        if settings.urls.is_empty() {
            return Ok(None);
        }
        if config.database.is_sqlite() {
            anyhow::bail!("--database-read-url needs PostgreSQL as --database-url");
        }
        let replicas = settings
            .urls
            .iter()
            .map(|url| {
                Ok(Replica {
                    db: super::replica_pool(&config.database, url)?,
                    name: redact(url),
                    lag_ms: AtomicU64::new(DOWN),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let redis = config
            .redis_url
            .as_deref()
            .map(RedisLink::open)
            .transpose()?;
        let this = Arc::new(Self {
            replicas,
            next: AtomicUsize::new(0),
            fresh_for: Duration::from_secs(settings.read_your_writes_secs),
            max_lag_ms: settings.max_lag_secs.saturating_mul(1000),
            wrote: Mutex::new(HashMap::new()),
            redis,
        });
        tokio::spawn(watch(Arc::downgrade(&this)));
        Ok(Some(this))
    }

    /// A replica for a query by `viewer` (None: anonymous), or None for the primary.
    pub async fn pick(&self, viewer: Option<Uuid>) -> Option<DatabaseConnection> {
        let n = self.replicas.len();
        let first = self.next.fetch_add(1, Ordering::Relaxed);
        let replica = (0..n)
            .map(|i| &self.replicas[(first + i) % n])
            .find(|replica| replica.lag_ms.load(Ordering::Relaxed) <= self.max_lag_ms)?;
        if let Some(user) = viewer
            && self.wrote_lately(user).await
        {
            metrics::counter!("confab_db_queries_total", "target" => "primary").increment(1);
            return None;
        }
        metrics::counter!("confab_db_queries_total", "target" => "replica").increment(1);
        Some(replica.db.clone())
    }

    /// Marks `user` as having just written: their queries read the primary for
    /// `--read-your-writes-secs`.
    pub async fn wrote(&self, user: Uuid) {
        let now = Instant::now();
        {
            let mut wrote = self.wrote.lock().unwrap_or_else(PoisonError::into_inner);
            if wrote.len() > 100_000 {
                let fresh_for = self.fresh_for;
                wrote.retain(|_, at| now.duration_since(*at) < fresh_for);
            }
            wrote.insert(user, now);
        }
        if let Some(redis) = &self.redis {
            let mut pipe = redis::pipe();
            pipe.cmd("SET")
                .arg(key(user))
                .arg(1)
                .arg("PX")
                .arg(self.fresh_for.as_millis().max(1) as u64)
                .ignore();
            // Unanswered, the other instances cannot know: `wrote_lately` there sends the
            // caller to the primary whenever Redis does not answer them either.
            let _ = redis.query::<()>(&pipe).await;
        }
    }

    async fn wrote_lately(&self, user: Uuid) -> bool {
        let here = self
            .wrote
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&user)
            .is_some_and(|at| at.elapsed() < self.fresh_for);
        if here {
            return true;
        }
        let Some(redis) = &self.redis else {
            return false;
        };
        let mut pipe = redis::pipe();
        pipe.cmd("EXISTS").arg(key(user));
        match redis.query::<(u32,)>(&pipe).await {
            Some((found,)) => found > 0,
            None => true,
        }
    }

    /// Each replica's state for `/readyz`: `ok`, `lagging` (more than `--read-max-lag-secs`
    /// behind) or `down`, with the lag measured last.
    pub fn report(&self) -> Value {
        let replicas = self.replicas.iter().map(|replica| {
            let lag = replica.lag_ms.load(Ordering::Relaxed);
            let status = match lag {
                DOWN => "down",
                lag if lag > self.max_lag_ms => "lagging",
                _ => "ok",
            };
            json!({
                "url": replica.name,
                "status": status,
                "lagMs": (lag != DOWN).then_some(lag),
            })
        });
        Value::Array(replicas.collect())
    }
}

fn key(user: Uuid) -> String {
    format!("confab:wrote:{}", user.simple())
}

/// Measures every replica's lag each [`CHECK_EVERY`] until the replicas are dropped.
async fn watch(replicas: Weak<ReadReplicas>) {
    let mut tick = tokio::time::interval(CHECK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(replicas) = replicas.upgrade() else {
            return;
        };
        for replica in &replicas.replicas {
            let lag = lag_ms(&replica.db).await;
            let before = replica.lag_ms.swap(lag, Ordering::Relaxed);
            if (before == DOWN) != (lag == DOWN) {
                if lag == DOWN {
                    tracing::warn!(replica = %replica.name, "read replica down; queries go to the primary");
                } else {
                    tracing::info!(replica = %replica.name, lag_ms = lag, "read replica up");
                }
            }
        }
    }
}

async fn lag_ms(db: &DatabaseConnection) -> u64 {
    let statement = Statement::from_string(DatabaseBackend::Postgres, LAG);
    match tokio::time::timeout(CHECK_TIMEOUT, db.query_one_raw(statement)).await {
        Ok(Ok(Some(row))) => match row.try_get::<Option<i64>>("", "lag_ms") {
            Ok(Some(lag)) => lag.max(0) as u64,
            _ => DOWN,
        },
        _ => DOWN,
    }
}
