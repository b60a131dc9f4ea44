//! Settings: one typed struct per concern, each field a flag and an environment variable.
//!
//! Parsed once in `main` and passed down; nothing reads the environment after start-up.

use std::path::PathBuf;
use std::time::Duration;

use std::ffi::OsString;

use anyhow::Context as _;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

/// Confab: a real-time chat backend serving one GraphQL API.
#[derive(Debug, Parser)]
#[command(name = "confab", version, about)]
pub struct Cli {
    /// A TOML file of settings (keys are the long flag names, e.g. `bind = "0.0.0.0:8080"`).
    /// Precedence: flags, then environment variables, then this file, then built-in defaults.
    #[arg(long = "config", env = "CONFAB_CONFIG", global = true)]
    pub config_file: Option<PathBuf>,
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Serve the GraphQL API over HTTP and WebSocket (the default).
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Fill the database with sample data.
    Seed {
        /// A few users, rooms and a few thousand messages to explore in GraphiQL.
        #[arg(long, conflicts_with = "bench")]
        demo: bool,
        /// The side-by-side benchmark's data (bench/confab): 2,000 users with sessions
        /// `bench-token-<i>`, 500 rooms, 200,000 messages, 50,001 reactions.
        #[arg(long)]
        bench: bool,
    },
    /// Print the effective settings (passwords hidden) and exit.
    Config,
    /// Print the GraphQL schema (SDL) to stdout or write it to a file.
    ExportSchema {
        /// Write to this file instead of stdout.
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
}

impl Cli {
    /// Parses the process's arguments and environment, with `--config` file settings as defaults.
    pub fn load() -> anyhow::Result<Self> {
        Self::load_from(std::env::args_os())
    }

    /// Like [`load`](Self::load) for the given arguments (the first is the program name).
    pub fn load_from<I, T>(args: I) -> anyhow::Result<Self>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let cli = Self::parse_layers(args)?;
        cli.config.calls.check()?;
        Ok(cli)
    }

    /// Flags and environment over the `--config` file over the defaults, each value checked
    /// on its own (settings that depend on each other are checked by the caller).
    fn parse_layers<I, T>(args: I) -> anyhow::Result<Self>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let first = Self::parse_from(&args);
        let Some(path) = first.config_file else {
            return Ok(first);
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading the config file {}", path.display()))?;
        let table: toml::Table = text
            .parse()
            .with_context(|| format!("parsing the config file {}", path.display()))?;
        let mut command = Self::command();
        for (key, value) in table {
            let id = command
                .get_arguments()
                .find(|arg| arg.get_long() == Some(key.as_str()))
                .map(|arg| arg.get_id().clone())
                .with_context(|| format!("{}: unknown setting `{key}`", path.display()))?;
            let value = match &value {
                toml::Value::Array(items) => items
                    .iter()
                    .map(scalar)
                    .collect::<Option<Vec<_>>>()
                    .map(|v| v.join(",")),
                other => scalar(other),
            }
            .with_context(|| {
                format!(
                    "{}: `{key}` must be a string, number, boolean or list of those",
                    path.display()
                )
            })?;
            command = command.mut_arg(id, |arg| arg.default_value(value));
        }
        let matches = command.try_get_matches_from(&args)?;
        Ok(Self::from_arg_matches(&matches)?)
    }
}

fn scalar(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Config {
    /// The settings as `name = value` lines, with passwords in URLs, the metrics token and the
    /// TURN secret hidden.
    pub fn describe(&self) -> String {
        let mut shown = self.clone();
        shown.database.url = redact(&shown.database.url);
        shown.redis_url = shown.redis_url.as_deref().map(redact);
        shown.otel.endpoint = shown.otel.endpoint.as_deref().map(redact);
        if shown.exposure.metrics_token.is_some() {
            shown.exposure.metrics_token = Some("<hidden>".to_owned());
        }
        if shown.calls.turn_secret.is_some() {
            shown.calls.turn_secret = Some("<hidden>".to_owned());
        }
        format!("{shown:#?}")
    }
}

/// Everything the server needs to run.
#[derive(Debug, Clone, Args)]
pub struct Config {
    #[command(flatten)]
    pub database: DatabaseConfig,
    #[command(flatten)]
    pub http: HttpConfig,
    #[command(flatten)]
    pub auth: AuthConfig,
    #[command(flatten)]
    pub retention: RetentionConfig,
    #[command(flatten)]
    pub limits: LimitsConfig,
    /// Log lines as human-readable `text` or one JSON object per line (`json`).
    #[arg(long = "log-format", env = "CONFAB_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"], global = true)]
    pub log_format: String,
    /// Redis for cross-process fan-out and presence; in-process when unset.
    #[arg(long, env = "CONFAB_REDIS_URL", global = true)]
    pub redis_url: Option<String>,
    #[command(flatten)]
    pub blobs: BlobConfig,
    #[command(flatten)]
    pub otel: OtelConfig,
    #[command(flatten)]
    pub exposure: ExposureConfig,
    #[command(flatten)]
    pub calls: CallConfig,
}

/// Calls: the STUN and TURN servers `iceServers` hands to clients, and the time-limited TURN
/// credentials it makes for them the way coturn's `use-auth-secret` (the TURN REST API)
/// checks them.
#[derive(Clone, Args)]
pub struct CallConfig {
    /// STUN and TURN URLs for clients' `RTCPeerConnection` (comma-separated), e.g.
    /// `stun:turn.example.com:3478,turn:turn.example.com:3478?transport=udp`. Schemes:
    /// `stun:`, `stuns:`, `turn:`, `turns:`. No ICE servers when unset.
    #[arg(
        long = "ice-urls",
        env = "CONFAB_ICE_URLS",
        value_delimiter = ',',
        value_parser = ice_url,
        global = true
    )]
    pub ice_urls: Vec<String>,
    /// The TURN server's shared secret (coturn's `static-auth-secret`): TURN URLs get
    /// credentials signed with it. Required when `--ice-urls` has a TURN URL.
    #[arg(long = "turn-secret", env = "CONFAB_TURN_SECRET", global = true)]
    pub turn_secret: Option<String>,
    /// Seconds a TURN credential stays valid after `iceServers` made it.
    #[arg(
        long = "turn-credential-ttl",
        env = "CONFAB_TURN_CREDENTIAL_TTL",
        default_value_t = 86_400,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub turn_credential_ttl_secs: u64,
    /// Seconds a call session stays in its call without a `callHeartbeat`: past that it
    /// leaves with reason `timeout` (clients heartbeat every third of it).
    #[arg(
        long = "call-session-ttl",
        env = "CONFAB_CALL_SESSION_TTL",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub call_session_ttl_secs: u64,
}

/// Never prints the secret, whoever formats the settings.
impl std::fmt::Debug for CallConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallConfig")
            .field("ice_urls", &self.ice_urls)
            .field(
                "turn_secret",
                &self.turn_secret.as_ref().map(|_| "<hidden>"),
            )
            .field("turn_credential_ttl_secs", &self.turn_credential_ttl_secs)
            .field("call_session_ttl_secs", &self.call_session_ttl_secs)
            .finish()
    }
}

impl CallConfig {
    /// How long a call session lasts without a heartbeat.
    pub fn call_session_ttl(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.call_session_ttl_secs)
    }

    /// The TURN URLs among `--ice-urls`.
    pub fn turn_urls(&self) -> impl Iterator<Item = &str> {
        self.ice_urls
            .iter()
            .map(String::as_str)
            .filter(|url| IceScheme::of(url).is_some_and(IceScheme::is_turn))
    }

    /// TURN URLs need the secret: a TURN server with `use-auth-secret` refuses clients
    /// without credentials, so a TURN URL handed out without them could never relay.
    pub fn check(&self) -> anyhow::Result<()> {
        let turn_secret_set = self.turn_secret.as_deref().is_some_and(|s| !s.is_empty());
        if let Some(url) = self.turn_urls().next()
            && !turn_secret_set
        {
            anyhow::bail!(
                "--ice-urls has the TURN URL `{url}` but --turn-secret (CONFAB_TURN_SECRET) is \
                 not set: set it to the TURN server's static-auth-secret, or list only stun: URLs"
            );
        }
        Ok(())
    }
}

/// The scheme of an ICE server URL (RFC 7064, RFC 7065).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IceScheme {
    Stun,
    Stuns,
    Turn,
    Turns,
}

impl IceScheme {
    /// The scheme of a URL [`ice_url`] accepted; None for any other text.
    pub fn of(url: &str) -> Option<Self> {
        let (scheme, _) = url.split_once(':')?;
        Some(match scheme {
            "stun" => Self::Stun,
            "stuns" => Self::Stuns,
            "turn" => Self::Turn,
            "turns" => Self::Turns,
            _ => return None,
        })
    }

    pub fn is_turn(self) -> bool {
        matches!(self, Self::Turn | Self::Turns)
    }
}

/// A STUN or TURN URL as browsers accept it in `RTCIceServer.urls`:
/// `stun[s]:host[:port]` or `turn[s]:host[:port][?transport=udp|tcp]`. The scheme is
/// lower-cased; anything else is refused at start-up, not by clients later.
fn ice_url(value: &str) -> Result<String, String> {
    let value = value.trim();
    let (scheme, rest) = value.split_once(':').ok_or_else(|| {
        format!("`{value}` needs a scheme: stun:, stuns:, turn: or turns: (e.g. stun:host:3478)")
    })?;
    let scheme = scheme.to_ascii_lowercase();
    let url = format!("{scheme}:{rest}");
    let kind = IceScheme::of(&url).ok_or_else(|| {
        format!("`{value}`: unknown scheme `{scheme}:`, expected stun:, stuns:, turn: or turns:")
    })?;
    let (authority, query) = match rest.split_once('?') {
        Some((authority, query)) => (authority, Some(query)),
        None => (rest, None),
    };
    if authority.starts_with("//") {
        return Err(format!(
            "`{value}`: no `//` after the scheme (write {scheme}:host:port)"
        ));
    }
    let (host, port) = match authority.strip_prefix('[') {
        // An IPv6 literal: [::1]:3478.
        Some(bracketed) => {
            let (host, after) = bracketed
                .split_once(']')
                .filter(|(host, _)| host.parse::<std::net::Ipv6Addr>().is_ok())
                .ok_or_else(|| format!("`{value}`: malformed IPv6 address in `[...]`"))?;
            match after {
                "" => (host, None),
                port => (
                    host,
                    Some(
                        port.strip_prefix(':')
                            .ok_or_else(|| format!("`{value}`: expected `:port` after the host"))?,
                    ),
                ),
            }
        }
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_'));
    // (`:` only ever reaches here inside an IPv6 literal, which parsed above.)
    if !host_ok {
        return Err(format!("`{value}`: missing or malformed host"));
    }
    if let Some(port) = port
        && !matches!(port.parse::<u16>(), Ok(1..))
    {
        return Err(format!("`{value}`: port must be 1 to 65535"));
    }
    match (kind.is_turn(), query) {
        (_, None) => {}
        (true, Some("transport=udp" | "transport=tcp")) => {}
        (true, Some(query)) => {
            return Err(format!(
                "`{value}`: `?{query}` not understood; TURN URLs take ?transport=udp or ?transport=tcp"
            ));
        }
        (false, Some(_)) => {
            return Err(format!("`{value}`: STUN URLs take no `?` parameters"));
        }
    }
    Ok(url)
}

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
}

/// What one client may ask of the server at once. Past a limit the answer is a coded
/// GraphQL error, never a dropped connection.
#[derive(Debug, Clone, Args)]
pub struct LimitsConfig {
    /// Deepest nesting of one query.
    #[arg(
        long = "max-depth",
        env = "CONFAB_MAX_DEPTH",
        default_value_t = 16,
        global = true
    )]
    pub depth: usize,
    /// Largest complexity of one query (a field costs 1, a page of n items n times its fields).
    #[arg(
        long = "max-complexity",
        env = "CONFAB_MAX_COMPLEXITY",
        default_value_t = 5_000,
        global = true
    )]
    pub complexity: usize,
    /// An Apollo persisted-query manifest: these operations may be sent by hash.
    #[arg(
        long = "persisted-queries",
        env = "CONFAB_PERSISTED_QUERIES",
        global = true
    )]
    pub persisted_queries: Option<PathBuf>,
    /// Refuse every operation that is not in the manifest.
    #[arg(
        long = "persisted-queries-only",
        env = "CONFAB_PERSISTED_QUERIES_ONLY",
        global = true
    )]
    pub persisted_queries_only: bool,
    /// Largest JSON request body, bytes (uploads: `--blob-max-bytes` plus 1 MiB).
    #[arg(long = "max-body-bytes", env = "CONFAB_MAX_BODY_BYTES", default_value_t = 1024 * 1024, global = true)]
    pub body_bytes: usize,
    /// Most operations in one batched request.
    #[arg(
        long = "max-batch",
        env = "CONFAB_MAX_BATCH",
        default_value_t = 10,
        global = true
    )]
    pub batch: usize,
    /// Most root fields in one operation.
    #[arg(
        long = "max-root-fields",
        env = "CONFAB_MAX_ROOT_FIELDS",
        default_value_t = 20,
        global = true
    )]
    pub root_fields: usize,
    /// Most aliased fields in one document.
    #[arg(
        long = "max-aliases",
        env = "CONFAB_MAX_ALIASES",
        default_value_t = 30,
        global = true
    )]
    pub aliases: usize,
    /// Largest WebSocket message a client may send, bytes.
    #[arg(long = "max-ws-message-bytes", env = "CONFAB_MAX_WS_MESSAGE_BYTES", default_value_t = 64 * 1024, global = true)]
    pub ws_message_bytes: usize,
    /// Most subscriptions open on one WebSocket.
    #[arg(
        long = "max-subscriptions-per-socket",
        env = "CONFAB_MAX_SUBSCRIPTIONS_PER_SOCKET",
        default_value_t = 100,
        global = true
    )]
    pub subscriptions_per_socket: usize,
    /// Sign-in attempts per client address per minute.
    #[arg(
        long = "rate-login-per-minute",
        env = "CONFAB_RATE_LOGIN_PER_MINUTE",
        default_value_t = 30,
        global = true
    )]
    pub login_per_minute: u32,
    /// Failed sign-ins and password changes for one account (or one unknown login) before it
    /// is locked for 15 minutes.
    #[arg(
        long = "rate-login-failures",
        env = "CONFAB_RATE_LOGIN_FAILURES",
        default_value_t = 5,
        global = true
    )]
    pub login_failures: u32,
    /// Registrations per client address per minute.
    #[arg(
        long = "rate-register-per-minute",
        env = "CONFAB_RATE_REGISTER_PER_MINUTE",
        default_value_t = 10,
        global = true
    )]
    pub register_per_minute: u32,
    /// Messages one user may send per 10 seconds.
    #[arg(
        long = "rate-messages-per-10s",
        env = "CONFAB_RATE_MESSAGES_PER_10S",
        default_value_t = 100,
        global = true
    )]
    pub messages_per_10s: u32,
    /// Uploads one user may make per minute.
    #[arg(
        long = "rate-uploads-per-minute",
        env = "CONFAB_RATE_UPLOADS_PER_MINUTE",
        default_value_t = 30,
        global = true
    )]
    pub uploads_per_minute: u32,
    /// Most WebSockets one user may hold open on one instance.
    #[arg(
        long = "max-sockets-per-user",
        env = "CONFAB_MAX_SOCKETS_PER_USER",
        default_value_t = 10,
        global = true
    )]
    pub sockets_per_user: usize,
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
    /// is erased; 0 erases it at once.
    #[arg(
        long = "deleted-body-retention-days",
        env = "CONFAB_DELETED_BODY_RETENTION_DAYS",
        default_value_t = 30,
        global = true
    )]
    pub deleted_body_days: i64,
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

impl Config {
    /// Every setting at its built-in default. The defaults are written once, in the clap
    /// attributes above; this reads them back, ignoring the environment.
    pub fn defaults() -> Self {
        let command = Cli::command().mut_args(|arg| arg.env(None));
        let parsed = command
            .try_get_matches_from(["confab"])
            .map_err(anyhow::Error::from)
            .and_then(|matches| Ok(Cli::from_arg_matches(&matches)?));
        match parsed {
            Ok(cli) => cli.config,
            // Only a default that does not parse as its own type gets here: a bug in this
            // file, which the unit test below catches.
            Err(err) => panic!("the built-in settings do not parse: {err}"),
        }
    }

    /// Settings for tests and tools: the defaults with the database at `database_url`, an
    /// ephemeral port, two HTTP workers and a smaller pool.
    pub fn for_database(database_url: impl Into<String>) -> Self {
        let mut config = Self::defaults();
        config.database.url = database_url.into();
        config.database.max_connections = 8;
        config.http.bind = "127.0.0.1:0".to_owned();
        config.http.workers = Some(2);
        config
    }
}

/// The URL without its password, for logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &creds[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::Config;

    #[test]
    fn defaults_come_from_the_flags() {
        let config = Config::defaults();
        assert_eq!(config.limits.depth, 16);
        assert_eq!(config.limits.complexity, 5_000);
        assert_eq!(config.database.max_connections, 16);
        assert!(config.exposure.introspection);
        assert_eq!(config.http.bind, "127.0.0.1:8080");
        assert!(config.calls.ice_urls.is_empty());
        assert_eq!(config.calls.turn_credential_ttl_secs, 86_400);
        assert_eq!(config.calls.call_session_ttl_secs, 30);
    }

    #[test]
    fn ice_urls_are_checked() {
        for ok in [
            "stun:turn.example.com",
            "stun:turn.example.com:3478",
            "stuns:turn.example.com:5349",
            "turn:10.0.0.1:3478?transport=udp",
            "turns:turn.example.com:5349?transport=tcp",
            "turn:[::1]:3478",
        ] {
            assert_eq!(super::ice_url(ok).as_deref(), Ok(ok));
        }
        assert_eq!(
            super::ice_url(" TURN:host:3478 ").as_deref(),
            Ok("turn:host:3478")
        );
        for bad in [
            "http://turn.example.com",
            "turn.example.com:3478",
            "turn:",
            "turn://host:3478",
            "turn:host:0",
            "turn:host:99999",
            "turn:host:x",
            "turn:host?transport=sctp",
            "stun:host?transport=udp",
            "turn:[nope]:3478",
            "turn:ho st",
        ] {
            assert!(super::ice_url(bad).is_err(), "{bad} accepted");
        }
        let err = super::ice_url("http://turn.example.com").unwrap_err();
        assert!(err.contains("unknown scheme `http:`"), "{err}");
    }

    #[test]
    fn turn_urls_need_the_secret_and_the_secret_is_never_shown() {
        let args = |extra: &[&str]| {
            let mut args = vec!["confab", "--ice-urls", "stun:h:3478,turn:h:3478"];
            args.extend_from_slice(extra);
            super::Cli::load_from(args)
        };
        let err = args(&[]).unwrap_err().to_string();
        assert!(err.contains("--turn-secret"), "{err}");
        let cli = args(&["--turn-secret", "s3cret-value"]).expect("valid settings");
        assert_eq!(cli.config.calls.ice_urls, ["stun:h:3478", "turn:h:3478"]);
        assert!(!cli.config.describe().contains("s3cret-value"));
        assert!(!format!("{:?}", cli.config).contains("s3cret-value"));
        let stun_only = super::Cli::load_from(["confab", "--ice-urls", "stun:h"]);
        assert!(stun_only.is_ok());
    }
}
