//! What one client may ask of the server at once: query shape and size, rates, sockets.

use std::path::PathBuf;

use clap::Args;

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
    /// Seconds between the WebSocket pings the server sends each socket; a socket that sent
    /// nothing (not even the pong a browser answers with) for two of them is closed with 1001,
    /// so a client whose network vanished goes offline. 0: no pings.
    #[arg(
        long = "ws-ping-secs",
        env = "CONFAB_WS_PING_SECS",
        default_value_t = 30,
        global = true
    )]
    pub ws_ping_secs: u64,
    /// Sign-in attempts per client address per minute.
    #[arg(
        long = "rate-login-per-minute",
        env = "CONFAB_RATE_LOGIN_PER_MINUTE",
        default_value_t = 30,
        global = true
    )]
    pub login_per_minute: u32,
    /// Failed sign-ins at one account from one address before that address is refused there
    /// for 15 minutes (and the account backs off for addresses it never signed in from); also
    /// wrong current passwords from the account's sessions before they and sign-in are locked.
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
