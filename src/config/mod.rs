//! Settings: one typed struct per concern, each field a flag and an environment variable.
//!
//! Parsed once in `main` and passed down; nothing reads the environment after start-up. The
//! groups of settings are in [`sections`] and, for calls, [`calls`]; both are re-exported here.

mod calls;
mod limits;
mod mail;
mod oidc;
mod replicas;
mod s3;
mod search;
mod sections;

pub use calls::{CallConfig, IceScheme};
pub use limits::LimitsConfig;
pub use mail::MailConfig;
pub use oidc::OidcProviderConfig;
pub use replicas::ReplicaConfig;
pub use s3::{BlobBackend, S3Config};
pub use search::SearchLanguage;
pub use sections::*;

use std::path::PathBuf;

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
    /// Fill the database with sample data: `--demo` or `--bench`.
    ///
    /// `--demo` (the global setting): a few users, rooms and a few thousand messages to
    /// explore in GraphiQL and the example client.
    Seed {
        /// The side-by-side benchmark's data (bench/confab): 2,000 users with sessions
        /// `bench-token-<i>`, 500 rooms, 200,000 messages, 50,001 reactions.
        #[arg(long)]
        bench: bool,
        /// With `--bench`: N times that data, the harness's own as the first of N copies
        /// (docs/performance.md, "Loading N× the benchmark data").
        #[arg(long, default_value_t = 1, requires = "bench",
              value_parser = clap::value_parser!(u64).range(1..=10_000))]
        scale: u64,
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
        let mut table: toml::Table = text
            .parse()
            .with_context(|| format!("parsing the config file {}", path.display()))?;
        // `[[oidc]]` tables are not flags: read them apart and set them after clap has parsed.
        let oidc = match table.remove("oidc") {
            Some(value) => oidc::parse(value).with_context(|| format!("{}", path.display()))?,
            None => Vec::new(),
        };
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
        let mut cli = Self::from_arg_matches(&matches)?;
        cli.config.oidc = oidc;
        Ok(cli)
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
    /// The settings as `name = value` lines, with passwords in URLs (the SMTP one too), the
    /// metrics token, the TURN secret and OpenID client secrets hidden.
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
    pub replicas: ReplicaConfig,
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
    #[command(flatten)]
    pub mail: MailConfig,
    /// OpenID Connect providers, from the `[[oidc]]` tables of the `--config` file only.
    #[arg(skip)]
    pub oidc: Vec<OidcProviderConfig>,
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
}
