//! Read replicas (`--database-read-url`): where queries that tolerate lag may run.

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct ReplicaConfig {
    /// PostgreSQL streaming replicas for queries (comma-separated, or the flag repeated).
    /// GraphQL queries over HTTP run on one of them, round robin, unless the caller wrote in
    /// the last `--read-your-writes-secs` or every replica lags more than
    /// `--read-max-lag-secs`; mutations, subscriptions and sign-in always use
    /// `--database-url`. Unset: everything runs on `--database-url`.
    #[arg(
        long = "database-read-url",
        env = "CONFAB_DATABASE_READ_URL",
        value_delimiter = ',',
        global = true
    )]
    pub urls: Vec<String>,
    /// Seconds after a caller's mutation during which their queries still go to the primary,
    /// so they read what they wrote (shared across instances through Redis when set).
    #[arg(
        long = "read-your-writes-secs",
        env = "CONFAB_READ_YOUR_WRITES_SECS",
        default_value_t = 5,
        global = true
    )]
    pub read_your_writes_secs: u64,
    /// A replica further behind the primary than this many seconds gets no queries until it
    /// catches up (measured every second).
    #[arg(
        long = "read-max-lag-secs",
        env = "CONFAB_READ_MAX_LAG_SECS",
        default_value_t = 30,
        global = true
    )]
    pub max_lag_secs: u64,
}
