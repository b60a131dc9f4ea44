//! Confab: a real-time chat backend serving a chat product's whole data layer as one GraphQL API.
//!
//! Read it top-down: [`http`] hands a request to [`graphql`], whose resolvers are thin and call
//! [`service`], where the rules live; services reach the database through the generated
//! `entity` crate for plain row calls and through [`store`] for every query beyond those. The
//! schema itself is defined by the `migration` crate. Each layer imports only those below it
//! (docs/architecture.md).
//!
//! - [`config`]: command line and environment settings
//! - [`db`]: connecting (SQLite or PostgreSQL), migrating, write transactions
//! - [`store`]: batched reads, pages, search and retention; hand-written SQL
//! - [`workers`]: message group commit, the unread feed, rate limits, housekeeping
//! - [`realtime`]: events and the broker that fans them out
//! - [`auth`]: bearer tokens, password hashing, the [`auth::Viewer`]
//! - [`error`]: the one error type and its `extensions.code`
//! - [`oidc`]: OpenID providers' discovery documents and the HTTP client for them
//! - [`seed`]: sample data for `confab seed --demo`
//! - [`telemetry`] and [`otel`]: metrics, the per-operation span, OpenTelemetry export

pub mod auth;
pub mod blobstore;
pub mod config;
pub mod db;
pub mod error;
pub mod graphql;
pub mod http;
pub mod mail;
pub mod oidc;
pub mod otel;
pub mod realtime;
pub mod seed;
pub mod service;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod workers;

use std::net::TcpListener;

use anyhow::Context;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

use crate::config::{Cli, Command, Config};
use crate::state::AppState;

/// Runs the command the CLI asked for; serving is the default.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let command = cli.command.unwrap_or(Command::Serve);
    // Only the server exports spans; the one-shot commands just log.
    let otel = match command {
        Command::Serve => otel::tracer(&cli.config.otel, runtime.handle().clone())?,
        _ => None,
    };
    let exporter = init_tracing(&cli.config.log_format, otel);
    let result = runtime.block_on(async move {
        match command {
            Command::Serve => serve(cli.config).await,
            Command::Migrate => {
                db::connect_and_migrate(&cli.config.database).await?;
                tracing::info!("migrations applied");
                Ok(())
            }
            Command::Seed { bench, scale } => {
                let demo = cli.config.http.demo;
                anyhow::ensure!(
                    demo != bench,
                    "say which data to seed: --demo or --bench, one of them"
                );
                let db = db::connect_and_migrate(&cli.config.database).await?;
                let report = if bench {
                    seed::bench(&db, seed::Scale(scale)).await?
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
    });
    // The runtime still runs here, and the exporter's last requests run on it.
    if let Some(exporter) = exporter {
        exporter.shutdown();
    }
    result
}

/// Connects, migrates and serves until SIGINT or SIGTERM, then drains ([`http::drain`]).
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let db = db::connect_and_migrate(&config.database).await?;
    let listener = TcpListener::bind(&config.http.bind)
        .with_context(|| format!("binding {}", config.http.bind))?;
    tracing::info!(
        address = %listener.local_addr()?,
        database = %config::redact(&config.database.url),
        "confab listening; GraphiQL at /"
    );
    if config.http.demo {
        // Once: a later start finds the demo users and leaves the data as it is.
        let report = seed::demo(&db).await.context("seeding the demo data")?;
        tracing::info!("demo: {report}");
        if config.http.demo_dir.is_none() {
            tracing::info!(
                "demo client at http://{}/demo/: sign in as ann and, in another browser, as bob \
                 (password \"{}\")",
                listener.local_addr()?,
                seed::DEMO_PASSWORD
            );
        }
    }
    let metrics_listener = match &config.exposure.metrics_bind {
        Some(bind) => {
            let listener = TcpListener::bind(bind)
                .with_context(|| format!("binding the metrics address {bind}"))?;
            tracing::info!(address = %listener.local_addr()?, "metrics at /metrics");
            Some(listener)
        }
        None => None,
    };
    let state = AppState::new(db.clone(), config)?;
    let every =
        std::time::Duration::from_secs(state.config.retention.maintenance_interval_secs.max(1));
    let maintenance = tokio::spawn(workers::maintenance::run(
        state.db.clone(),
        state.writer.clone(),
        state.config.retention.clone(),
        every,
        state.blobs.clone(),
    ));
    let metrics = match metrics_listener {
        Some(listener) => Some(http::metrics_server(state.clone(), listener)?),
        None => None,
    };
    let drain = http::drain::Drain::default();
    let period = std::time::Duration::from_secs(state.config.http.shutdown_drain_secs);
    let main = http::server(state, listener, &drain)?;
    let handles = std::iter::once(main.handle())
        .chain(metrics.as_ref().map(actix_web::dev::Server::handle))
        .collect();
    let signals = tokio::spawn(http::drain::on_signal(drain, period, handles));
    run_servers(main, metrics).await?;
    signals.abort();
    maintenance.abort();
    db.close().await?;
    tracing::info!("stopped");
    Ok(())
}

/// Runs the API server and, when there is one, the metrics server until both stop: both stop on
/// SIGINT or SIGTERM, and either stopping for another reason stops the other.
async fn run_servers(
    main: actix_web::dev::Server,
    metrics: Option<actix_web::dev::Server>,
) -> anyhow::Result<()> {
    let Some(metrics) = metrics else {
        return Ok(main.await?);
    };
    let (main_handle, metrics_handle) = (main.handle(), metrics.handle());
    let main = async move {
        let result = main.await;
        metrics_handle.stop(true).await;
        result
    };
    let metrics = async move {
        let result = metrics.await;
        main_handle.stop(true).await;
        result
    };
    let (main, metrics) = tokio::join!(main, metrics);
    main?;
    metrics?;
    Ok(())
}

/// Logs to stdout as text or JSON, filtered by `RUST_LOG` (default `info`); with an exporter,
/// spans at info level and above also go to OpenTelemetry whatever `RUST_LOG` says, so quieter
/// logs do not cost traces. Returns the exporter to shut down at exit.
fn init_tracing(
    format: &str,
    otel: Option<(opentelemetry_sdk::trace::Tracer, otel::Exporter)>,
) -> Option<otel::Exporter> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = if format == "json" {
        tracing_subscriber::fmt::layer().json().boxed()
    } else {
        tracing_subscriber::fmt::layer().boxed()
    };
    let (tracer, exporter) = otel.unzip();
    let spans = tracer.map(|tracer| {
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            // Activation would start each OpenTelemetry span on first entry, fixing its name
            // before the operation's is known (telemetry::record_operation); nothing here
            // reads the OpenTelemetry context, so spans stay open until they close.
            .with_context_activation(false)
            .with_filter(LevelFilter::INFO)
    });
    // A second initialisation (tests, embedding) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(logs.with_filter(filter))
        .with(spans)
        .try_init();
    exporter
}
