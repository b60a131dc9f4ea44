//! Confab: a real-time chat backend serving a chat product's whole data layer as one GraphQL API.
//!
//! Read it top-down: [`http`] hands a request to [`graphql`], whose resolvers are thin and call
//! [`service`], where the rules live; services talk to the database through the generated
//! `entity` crate. The schema itself is defined by the `migration` crate.
//!
//! - [`config`]: command line and environment settings
//! - [`db`]: connecting (SQLite or PostgreSQL) and migrating
//! - [`auth`]: bearer tokens, password hashing, the [`auth::Viewer`]
//! - [`error`]: the one error type and its `extensions.code`
//! - [`seed`]: sample data for `confab seed --demo`

pub mod auth;
pub mod blobstore;
pub mod config;
pub mod db;
pub mod error;
pub mod graphql;
pub mod http;
pub mod mail;
pub mod realtime;
pub mod seed;
pub mod service;
pub mod state;
pub mod telemetry;

use std::net::TcpListener;

use anyhow::Context;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

use crate::config::{Cli, Command, Config};
use crate::state::AppState;

/// Runs the command the CLI asked for; serving is the default.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    init_tracing(&cli.config.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(cli.config).await,
            Command::Migrate => {
                db::connect_and_migrate(&cli.config.database).await?;
                tracing::info!("migrations applied");
                Ok(())
            }
            Command::Seed { demo, bench } => {
                anyhow::ensure!(demo || bench, "say which data to seed: --demo or --bench");
                let db = db::connect_and_migrate(&cli.config.database).await?;
                let report = if bench {
                    seed::bench(&db).await?
                } else {
                    seed::demo(&db).await?
                };
                println!("{report}");
                Ok(())
            }
            Command::Config => {
                println!("{}", cli.config.describe());
                Ok(())
            }
            Command::ExportSchema { out } => {
                let sdl = graphql::sdl();
                match out {
                    Some(path) => std::fs::write(&path, sdl)
                        .with_context(|| format!("writing {}", path.display()))?,
                    None => print!("{sdl}"),
                }
                Ok(())
            }
        }
    })
}

/// Connects, migrates and serves until SIGINT or SIGTERM, then drains in-flight requests.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let db = db::connect_and_migrate(&config.database).await?;
    let listener = TcpListener::bind(&config.http.bind)
        .with_context(|| format!("binding {}", config.http.bind))?;
    tracing::info!(
        address = %listener.local_addr()?,
        database = %db::redact(&config.database.url),
        "confab listening; GraphiQL at /"
    );
    let state = AppState::new(db.clone(), config)?;
    let every =
        std::time::Duration::from_secs(state.config.retention.maintenance_interval_secs.max(1));
    let maintenance = tokio::spawn(service::maintenance::run(state.clone(), every));
    http::server(state, listener)?.await?;
    maintenance.abort();
    db.close().await?;
    tracing::info!("stopped");
    Ok(())
}

/// Logs to stdout as text or JSON, filtered by `RUST_LOG` (default `info`). The filter belongs
/// to the log layer alone, so layers added beside it choose their own.
fn init_tracing(format: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = if format == "json" {
        tracing_subscriber::fmt::layer().json().boxed()
    } else {
        tracing_subscriber::fmt::layer().boxed()
    };
    // A second initialisation (tests, embedding) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(logs.with_filter(filter))
        .try_init();
}
