//! Connecting to SQLite or PostgreSQL and bringing the schema up to date.
//!
//! SQLite runs in WAL mode with foreign keys on, `synchronous = NORMAL` (durable across process
//! crashes, which is what WAL guarantees at that level) and a busy timeout so concurrent writers
//! wait instead of failing. The log is checkpointed into the database file once it passes
//! [`WAL_AUTOCHECKPOINT`] pages; the message writer checkpoints it in the background long
//! before that (`workers::message_writer`).

pub mod direct;
mod migrate;
pub mod replica;
pub mod search_index;
mod write;

pub use write::{WriteTxn, Writer, begin_write, now, writer};

use std::time::Duration;

use anyhow::Context;
use futures_util::FutureExt as _;
use sea_orm::sqlx::postgres::PgSslMode;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr};

use crate::config::{DatabaseConfig, redact};

/// Pages of write-ahead log (4 KiB each) past which a commit checkpoints it itself: SQLite's
/// default is 1,000 pages; under a stream of messages that meant a checkpoint (and an fsync)
/// in a commit several times a second.
pub const WAL_AUTOCHECKPOINT: u32 = 10_000;

/// How long a SQLite connection waits for another's write lock before it fails: the pool's and
/// those Confab opens itself (`direct`).
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection idle this long is checked with a round trip before it is handed out.
const IDLE_CHECK: Duration = Duration::from_secs(30);

/// Opens the pool described by `config`.
pub async fn connect(config: &DatabaseConfig) -> anyhow::Result<DatabaseConnection> {
    Database::connect(options(config))
        .await
        .with_context(|| format!("connecting to {}", redact(&config.url)))
}

/// A PostgreSQL pool of `max` connections for one HTTP worker thread, made on that thread: it
/// opens none until asked, so each connection is opened, and then driven, by the worker's
/// runtime (see `AppState::for_worker`, which keeps SQLite, whose connections have threads of
/// their own, on the shared pool). None should the pool not be ready at once.
pub fn worker_pool(config: &DatabaseConfig, max: u32) -> Option<DatabaseConnection> {
    lazy_pool(config, max)?.ok()
}

/// A pool on a read replica at `url`, with the primary's settings. Lazy: it opens no
/// connection until asked, so Confab starts while a replica is down (`replica` keeps queries
/// off it until it answers).
pub fn replica_pool(config: &DatabaseConfig, url: &str) -> anyhow::Result<DatabaseConnection> {
    let config = DatabaseConfig {
        url: url.to_owned(),
        ..config.clone()
    };
    match lazy_pool(&config, config.max_connections) {
        Some(result) => result.with_context(|| format!("the read replica {}", redact(url))),
        None => anyhow::bail!("the read replica {}: the pool was not ready", redact(url)),
    }
}

/// A pool of at most `max` connections that opens none until asked. Connecting is then only
/// building the pool, ready on its first poll: None should that ever change.
fn lazy_pool(config: &DatabaseConfig, max: u32) -> Option<Result<DatabaseConnection, DbErr>> {
    let mut options = options(config);
    options
        .max_connections(max)
        .min_connections(0)
        .connect_lazy(true);
    Database::connect(options).now_or_never()
}

fn options(config: &DatabaseConfig) -> ConnectOptions {
    let mut options = ConnectOptions::new(config.url.clone());
    let plan_cache_mode = config.plan_cache_mode.as_str();
    options
        .max_connections(config.max_connections)
        .min_connections(config.min_connections)
        .acquire_timeout(config.acquire_timeout())
        .connect_timeout(Duration::from_secs(10))
        // sqlx's default checks every connection it hands out with a round trip of its own
        // (a Sync and its ReadyForQuery on PostgreSQL) before the statement: each statement
        // outside a transaction cost two round trips. A connection is now checked only after
        // it sat idle, when the server or the network may have dropped it.
        .test_before_acquire_if_idle_for(IDLE_CHECK)
        .sqlx_logging(false);
    let pgbouncer = config.pgbouncer;
    let ssl_mode_given = ssl_mode_given(&config.url);
    options.map_sqlx_postgres_opts(move |opts| {
        // On this machine, plaintext unless the URL or PGSSLMODE asks otherwise. sqlx's
        // default, libpq's `prefer`, takes TLS whenever the server offers it (Debian's
        // PostgreSQL does), and on loopback that only costs: no network to protect, and
        // `prefer` checks no certificate. It was 8% of a page request's instructions
        // (docs/performance.md, "Where a page request goes").
        let opts = if !ssl_mode_given && loopback(opts.get_host()) {
            opts.ssl_mode(PgSslMode::Disable)
        } else {
            opts
        };
        // Sent in the startup packet: no statement of its own. No JIT: it compiles any plan
        // whose cost estimate passes `jit_above_cost`, and ours are short reads whose
        // estimates can (the unread counts of 20 rooms: estimated 152,536, run in 1 ms, JIT
        // added 64 ms). PgBouncer refuses these parameters (`--db-pgbouncer`): its
        // `connect_query` sets them instead.
        if pgbouncer {
            opts
        } else {
            opts.options([("plan_cache_mode", plan_cache_mode), ("jit", "off")])
        }
    });
    options.map_sqlx_sqlite_opts(|opts| {
        opts.journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            .create_if_missing(true)
            .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT.to_string())
    });
    options
}

/// Whether the PostgreSQL URL, or the `PGSSLMODE` variable, says how to use TLS.
fn ssl_mode_given(url: &str) -> bool {
    std::env::var_os("PGSSLMODE").is_some()
        || url::Url::parse(url).is_ok_and(|url| {
            url.query_pairs()
                .any(|(key, _)| key == "sslmode" || key == "ssl-mode")
        })
}

/// Whether `host` is this machine over loopback (or a Unix socket's directory).
fn loopback(host: &str) -> bool {
    let host = host.trim_matches(['[', ']']);
    host.eq_ignore_ascii_case("localhost")
        || host.starts_with('/')
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Connects, applies every pending migration (see [`migrate`] for processes starting together
/// and databases a newer release has migrated) and builds the search index for the configured
/// language if it was built for another.
pub async fn connect_and_migrate(config: &DatabaseConfig) -> anyhow::Result<DatabaseConnection> {
    let db = connect(config).await?;
    migrate::migrate(&db, config.pgbouncer).await?;
    search_index::reconcile(&db, config.search_language)
        .await
        .context("building the search index for --search-language")?;
    Ok(db)
}

/// Connections open in `db`'s pool, and how many of them are idle.
pub fn pool_use(db: &DatabaseConnection) -> (u32, usize) {
    match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
    }
}

/// True when the database answers a trivial query.
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.execute_unprepared("SELECT 1").await.is_ok()
}

#[cfg(test)]
mod tests {
    use super::{loopback, ssl_mode_given};

    #[test]
    fn loopback_hosts_are_this_machine() {
        for host in [
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
            "localhost",
            "/run/postgresql",
        ] {
            assert!(loopback(host), "{host}");
        }
        for host in ["db", "10.0.0.5", "db.example.com", "::ffff:10.0.0.5"] {
            assert!(!loopback(host), "{host}");
        }
    }

    #[test]
    fn an_explicit_ssl_mode_is_seen() {
        assert!(ssl_mode_given("postgres://u@127.0.0.1/db?sslmode=prefer"));
        assert!(ssl_mode_given(
            "postgres://u@127.0.0.1/db?application_name=x&ssl-mode=require"
        ));
        assert_eq!(
            ssl_mode_given("postgres://u@127.0.0.1:5432/db"),
            std::env::var_os("PGSSLMODE").is_some()
        );
    }
}
