//! HTTP: the routes and the server around the schema.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};

use crate::graphql::persisted::AllowList;
use crate::graphql::{Pipeline, build_schema};
use crate::state::AppState;

mod blobs;
mod compress;
pub mod cors;
mod demo;
pub mod drain;
mod forwarded;
mod graphiql;
mod graphql;
mod headers;
mod health;
mod ws;

/// Registers every route but `/metrics` (see [`metrics_route`]); shared by the server and
/// anything that embeds Confab.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/graphql")
            .route(web::post().to(graphql::execute))
            .route(web::get().to(graphql::get)),
    )
    .route("/", web::get().to(graphiql::page))
    .route("/graphiql/{file}", web::get().to(graphiql::asset))
    .route("/blobs/{id}", web::get().to(blobs::get))
    .route("/healthz", web::get().to(health::healthz))
    .route("/readyz", web::get().to(health::readyz));
}

/// `GET /metrics`: on the main listener unless `--metrics-bind` gives it one of its own.
pub fn metrics_route(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(health::metrics));
}

/// An HTTP server on `listener`, not yet running. The schema is built once here, outside the
/// per-worker factory, so every worker shares it. With `--metrics-bind`, `/metrics` is not
/// here but on [`metrics_server`]. It does not listen for signals: `crate::serve` does, and
/// drains through `drain` first ([`drain`]).
pub fn server(
    state: AppState,
    listener: TcpListener,
    drain: &drain::Drain,
) -> anyhow::Result<Server> {
    let limits = &state.config.limits;
    let allow_list = match &limits.persisted_queries {
        Some(path) => Some(AllowList::load(path, limits.persisted_queries_only)?),
        None if limits.persisted_queries_only => {
            anyhow::bail!("--persisted-queries-only needs --persisted-queries <manifest>")
        }
        None => None,
    };
    let schema: Pipeline = build_schema(state.clone(), allow_list);
    let origins = cors::Origins::parse(&state.config.http.cors_origins)?;
    let demo_dir = state.config.http.demo_dir.clone();
    let demo_embedded = state.config.http.demo && demo_dir.is_none();
    let metrics_here = state.config.exposure.metrics_bind.is_none();
    let drain = drain.clone();
    if let Some(dir) = &demo_dir {
        demo::check(dir)?;
    }
    // One count for actix and for the workers' shares of the database connections.
    let worker_count = state.config.http.workers.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let http = HttpServer::new(move || {
        App::new()
            .wrap(headers::defaults())
            // Outside the default headers: a refused preflight gets them too.
            .wrap(origins.middleware())
            .app_data(web::Data::new(origins.clone()))
            .app_data(web::Data::new(schema.clone()))
            .app_data(web::Data::new(drain.clone()))
            .app_data(web::Data::new(state.for_worker(worker_count)))
            .configure(routes)
            .configure(|cfg| {
                if metrics_here {
                    metrics_route(cfg);
                }
                if let Some(dir) = &demo_dir {
                    cfg.service(
                        web::scope(demo::PREFIX)
                            .wrap(headers::demo())
                            .service(demo::files(dir)),
                    );
                } else if demo_embedded {
                    cfg.service(
                        web::scope(demo::PREFIX)
                            .wrap(headers::demo())
                            .configure(demo::embedded),
                    );
                }
            })
    })
    .workers(worker_count)
    .disable_signals()
    .listen(listener)?
    .shutdown_timeout(10);
    Ok(http.run())
}

/// The `--metrics-bind` server: `GET /metrics` alone, on one worker of its own so a scrape is
/// answered even while the API's workers are busy. Started and stopped with the main server
/// (`crate::serve`).
pub fn metrics_server(state: AppState, listener: TcpListener) -> anyhow::Result<Server> {
    let http = HttpServer::new(move || {
        App::new()
            .wrap(headers::defaults())
            .app_data(web::Data::new(state.clone()))
            .configure(metrics_route)
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .shutdown_timeout(1);
    Ok(http.run())
}
