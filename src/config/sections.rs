//! The groups of settings besides calls, mail, search and limits: HTTP, database, auth,
//! retention, blobs, exposure, OpenTelemetry.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

/// What the server shows of itself beyond the API: the schema (introspection and "Did you
/// mean" suggestions) and its metrics. Development defaults; docs/production.md says what
/// to change for production.
#[derive(Debug, Clone, Args)]
pub struct ExposureConfig {
    /// Answer introspection (`__schema`, `__type`) and suggest field names in errors ("Did you
    /// mean ...?"). On for development (GraphiQL needs it); `--introspection=false` refuses both,
    /// so clients only learn the schema from `schema.graphql`.
    #[arg(
        long = "introspection",
        env = "CONFAB_INTROSPECTION",
        default_value_t = true,
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new(),
        global = true
    )]
    pub introspection: bool,
    /// Serve `GET /metrics` on this address (host:port, e.g. `127.0.0.1:9100`) instead of the
    /// main one, which then answers 404 there. Metrics are on the main address when unset.
    #[arg(long = "metrics-bind", env = "CONFAB_METRICS_BIND", global = true)]
    pub metrics_bind: Option<String>,
    /// Answer `GET /metrics` only with `Authorization: Bearer <this token>` (Prometheus:
    /// `authorization: { credentials: ... }`); 401 otherwise. Open when unset.
    #[arg(long = "metrics-token", env = "CONFAB_METRICS_TOKEN", global = true)]
    pub metrics_token: Option<String>,
}

/// OpenTelemetry trace export. Off unless an endpoint is given: then `serve` sends its spans
/// to an OTLP collector over HTTP (protobuf).
#[derive(Debug, Clone, Args)]
pub struct OtelConfig {
    /// Base URL of an OTLP/HTTP collector, e.g. `http://127.0.0.1:4318`; spans are POSTed to
    /// `<URL>/v1/traces`. Nothing is exported when unset.
    #[arg(
        long = "otel-endpoint",
        env = "CONFAB_OTEL_ENDPOINT",
        value_parser = otel_endpoint,
        global = true
    )]
    pub endpoint: Option<String>,
    /// The `service.name` of exported spans.
    #[arg(
        long = "otel-service-name",
        env = "CONFAB_OTEL_SERVICE_NAME",
        default_value = "confab",
        global = true
    )]
    pub service_name: String,
}

/// A plain-HTTP base URL: the exporter has no TLS (put a collector beside the server).
fn otel_endpoint(value: &str) -> Result<String, String> {
    let rest = value
        .strip_prefix("http://")
        .ok_or("must be an http:// URL (the exporter speaks plain HTTP)")?;
    if rest.trim_end_matches('/').is_empty() {
        return Err("needs a host, e.g. http://127.0.0.1:4318".to_owned());
    }
    Ok(value.trim_end_matches('/').to_owned())
}

#[derive(Debug, Clone, Args)]
pub struct BlobConfig {
    /// Where blob bytes live: `dir` (the directory `--blob-dir`) or `s3` (S3-compatible
    /// object storage, `--s3-*`).
    #[arg(
        long = "blob-store",
        env = "CONFAB_BLOB_STORE",
        value_enum,
        default_value = "dir",
        global = true
    )]
    pub backend: super::BlobBackend,
    /// Answer `GET /blobs/{id}`, once the reader is allowed, with a redirect to a presigned
    /// URL of the object valid for 5 minutes, so the store serves the bytes (`s3` only).
    #[arg(long = "blob-redirect", env = "CONFAB_BLOB_REDIRECT", global = true)]
    pub redirect: bool,
    #[command(flatten)]
    pub s3: super::S3Config,
    /// Directory of the content-addressed blob store.
    #[arg(
        long = "blob-dir",
        env = "CONFAB_BLOB_DIR",
        default_value = "./blobs",
        global = true
    )]
    pub dir: PathBuf,
    /// Largest upload in bytes, enforced while the upload streams in.
    #[arg(long = "blob-max-bytes", env = "CONFAB_BLOB_MAX_BYTES", default_value_t = 10 * 1024 * 1024, global = true)]
    pub max_bytes: usize,
    /// Content types accepted, as sniffed from the bytes (comma-separated).
    #[arg(
        long = "blob-mime-types",
        env = "CONFAB_BLOB_MIME_TYPES",
        default_value = "image/jpeg,image/png,image/gif,image/webp",
        value_delimiter = ',',
        global = true
    )]
    pub mime_types: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseConfig {
    /// `sqlite://file.db?mode=rwc` (the default) or `postgres://user@host/db`.
    #[arg(
        long = "database-url",
        env = "CONFAB_DATABASE_URL",
        default_value = "sqlite://confab.db?mode=rwc",
        global = true
    )]
    pub url: String,
    /// Largest number of pooled connections.
    #[arg(
        long = "db-max-connections",
        env = "CONFAB_DB_MAX_CONNECTIONS",
        default_value_t = 16,
        global = true
    )]
    pub max_connections: u32,
    /// Connections the pool keeps open when idle.
    #[arg(
        long = "db-min-connections",
        env = "CONFAB_DB_MIN_CONNECTIONS",
        default_value_t = 1,
        global = true
    )]
    pub min_connections: u32,
    /// Seconds a request waits for a pooled connection before failing.
    #[arg(
        long = "db-acquire-timeout",
        env = "CONFAB_DB_ACQUIRE_TIMEOUT",
        default_value_t = 5,
        global = true
    )]
    pub acquire_timeout_secs: u64,
    /// SQLite: threads that run the DataLoaders' list reads on connections of their own and
    /// decode the rows there (docs/performance.md, "SQLite, the embedded default"); one per
    /// core when unset, 0 sends every read through the pool. Ignored on PostgreSQL.
    #[arg(long = "sqlite-readers", env = "CONFAB_SQLITE_READERS", global = true)]
    pub sqlite_readers: Option<usize>,
    /// How PostgreSQL plans Confab's prepared statements: its `plan_cache_mode`, set on every
    /// connection Confab opens. Ignored on SQLite.
    #[arg(
        long = "db-plan-cache-mode",
        env = "CONFAB_DB_PLAN_CACHE_MODE",
        value_enum,
        default_value_t = PlanCacheMode::ForceGenericPlan,
        global = true
    )]
    pub plan_cache_mode: PlanCacheMode,
    /// `--database-url` is a PgBouncer (1.21 or later, transaction pooling with
    /// `max_prepared_statements`): nothing is sent in the startup packet, which PgBouncer refuses
    /// (`--db-plan-cache-mode` and `jit` come from its `connect_query` instead). Off for a direct
    /// connection (docs/deploy.md, "Connection pooling (PgBouncer)").
    #[arg(
        long = "db-pgbouncer",
        env = "CONFAB_DB_PGBOUNCER",
        default_value_t = false,
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new(),
        global = true
    )]
    pub pgbouncer: bool,
    /// The language of full-text message search: a PostgreSQL text search configuration
    /// (`simple` for no stemming). The index is rebuilt at start-up when it was built for
    /// another one (docs/configuration.md).
    #[arg(
        long = "search-language",
        env = "CONFAB_SEARCH_LANGUAGE",
        value_enum,
        default_value_t = super::SearchLanguage::English,
        global = true
    )]
    pub search_language: super::SearchLanguage,
}

/// PostgreSQL's `plan_cache_mode`, named as PostgreSQL names its values.
///
/// Confab's statements look rows up by key (ids, a room's timeline, the rooms of a page), and
/// a plan made once per statement and connection serves every run as well as one made for
/// each run's values. PostgreSQL's default (`auto`) plans the first five runs for their values
/// and then keeps doing so for the list statements of the DataLoaders, whose plans for their
/// values were slower to make and to run than the one kept (docs/performance.md, "PostgreSQL
/// connections", has the measurements).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[clap(rename_all = "snake_case")]
pub enum PlanCacheMode {
    /// One plan per statement, kept for every run (the default).
    ForceGenericPlan,
    /// PostgreSQL's own default: values-specific plans until a kept one looks as cheap.
    Auto,
    /// A new plan for every run's values.
    ForceCustomPlan,
}

impl PlanCacheMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ForceGenericPlan => "force_generic_plan",
            Self::Auto => "auto",
            Self::ForceCustomPlan => "force_custom_plan",
        }
    }
}

impl DatabaseConfig {
    pub fn acquire_timeout(&self) -> Duration {
        Duration::from_secs(self.acquire_timeout_secs)
    }

    pub fn is_sqlite(&self) -> bool {
        self.url.starts_with("sqlite:")
    }
}

#[derive(Debug, Clone, Args)]
pub struct HttpConfig {
    /// Address to listen on, host:port.
    #[arg(
        long,
        env = "CONFAB_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: String,
    /// HTTP worker threads; one per core when unset.
    #[arg(long, env = "CONFAB_WORKERS", global = true)]
    pub workers: Option<usize>,
    /// A directory of static files served at `/demo/` (e.g. the example web client's
    /// `examples/web/dist`); nothing is served there when unset.
    #[arg(long = "demo-dir", env = "CONFAB_DEMO_DIR", global = true)]
    pub demo_dir: Option<PathBuf>,
    /// The demo: `serve` seeds the demo data on its first start (five users, password
    /// `confab-demo`; a later start finds them and seeds nothing) and serves the example
    /// client built into the binary at `/demo/` (`--demo-dir`, when given, is served
    /// instead). `seed --demo` only seeds. Off unless asked for.
    #[arg(long, env = "CONFAB_DEMO", global = true)]
    pub demo: bool,
    /// Origins (`scheme://host[:port]`, comma-separated) whose pages may call the API over HTTP
    /// and WebSocket besides Confab's own; `*` for any origin (then without credentials).
    /// Unset: same-origin only.
    #[arg(
        long = "cors-origins",
        env = "CONFAB_CORS_ORIGINS",
        value_delimiter = ',',
        global = true
    )]
    pub cors_origins: Vec<String>,
    /// Seconds `serve` keeps serving after SIGTERM or SIGINT with `/readyz` answering 503
    /// ("draining"), so a load balancer's health check notices and sends nothing new; then
    /// open WebSockets are closed with 1012 (service restart, clients reconnect elsewhere) and
    /// in-flight requests finish. 0 stops at once.
    #[arg(
        long = "shutdown-drain-secs",
        env = "CONFAB_SHUTDOWN_DRAIN_SECS",
        default_value_t = 5,
        global = true
    )]
    pub shutdown_drain_secs: u64,
    /// Proxies (networks in CIDR form, comma-separated: `10.0.0.0/8,127.0.0.1/32`) whose
    /// `X-Forwarded-For` is believed: a request from one of them is taken to come from the
    /// address its proxies recorded (read from the right, past the trusted ones). Unset: the
    /// header is ignored and the peer's address is the client's.
    #[arg(
        long = "trusted-proxies",
        env = "CONFAB_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_parser = clap::value_parser!(ipnet::IpNet),
        global = true
    )]
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

#[derive(Debug, Clone, Args)]
pub struct AuthConfig {
    /// Hours a session stays valid after sign-in.
    #[arg(
        long = "session-ttl-hours",
        env = "CONFAB_SESSION_TTL_HOURS",
        default_value_t = 720,
        global = true
    )]
    pub session_ttl_hours: i64,
    /// Browser sessions in a cookie: `login`, `register` and `completeOidcLogin` with
    /// `cookie: true` set an HttpOnly cookie (`confab_session`) instead of answering the token,
    /// and requests without `Authorization` are signed in by it (POST only, CSRF-checked).
    #[arg(
        long = "cookie-sessions",
        env = "CONFAB_COOKIE_SESSIONS",
        default_value_t = false,
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new(),
        global = true
    )]
    pub cookie_sessions: bool,
    /// Mark the session cookie `Secure` (sent over HTTPS only; browsers make an exception for
    /// http://localhost). Off only for plain-HTTP testing on another host name.
    #[arg(
        long = "cookie-secure",
        env = "CONFAB_COOKIE_SECURE",
        default_value_t = true,
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new(),
        global = true
    )]
    pub cookie_secure: bool,
}

#[derive(Debug, Clone, Args)]
pub struct RetentionConfig {
    /// Days connection logs are kept.
    #[arg(
        long = "connection-log-retention-days",
        env = "CONFAB_CONNECTION_LOG_RETENTION_DAYS",
        default_value_t = 30,
        global = true
    )]
    pub connection_log_days: i64,
    /// Days the text of a deleted message is kept for administrators (moderation) before it
    /// is erased; 0 erases it at once. Also how long a deleted account's uploads are kept.
    #[arg(
        long = "deleted-body-retention-days",
        env = "CONFAB_DELETED_BODY_RETENTION_DAYS",
        default_value_t = 30,
        global = true
    )]
    pub deleted_body_days: i64,
    /// Days audit-log rows (`auditLog`, `mySecurityEvents`) are kept.
    #[arg(
        long = "audit-retention-days",
        env = "CONFAB_AUDIT_RETENTION_DAYS",
        default_value_t = 365,
        global = true
    )]
    pub audit_days: i64,
    /// Seconds between background cleanups (expired key packages, old connection logs).
    #[arg(
        long = "maintenance-interval",
        env = "CONFAB_MAINTENANCE_INTERVAL",
        default_value_t = 600,
        global = true
    )]
    pub maintenance_interval_secs: u64,
}

impl AuthConfig {
    pub fn session_ttl(&self) -> chrono::Duration {
        chrono::Duration::hours(self.session_ttl_hours)
    }
}
