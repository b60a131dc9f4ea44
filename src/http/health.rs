//! Liveness and readiness for orchestrators and load balancers, and Prometheus metrics
//! (open, behind `--metrics-token`, or on the `--metrics-bind` address only).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::state::AppState;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// Whether the process can serve, dependency by dependency: 200 while the database answers,
/// 503 otherwise, and 503 `"status":"draining"` from the moment it was told to stop
/// (`super::drain`). Redis being away degrades fan-out to this instance but does not stop it,
/// so it is reported without failing readiness. The blob store (`--blob-store`) being away
/// fails it: uploads cannot work (`"blobs": "down"`).
pub async fn readyz(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let draining = req
        .app_data::<web::Data<super::drain::Drain>>()
        .is_some_and(|drain| drain.is_draining());
    let database = crate::db::ping(&state.db).await;
    let blobs = state.blobs.ready().await;
    // Reported without failing readiness: queries go to the primary meanwhile (`db::replica`).
    let replicas = match &state.replicas {
        Some(replicas) => replicas.report(),
        None => json!("not configured"),
    };
    let redis = match state.broker.link_up() {
        None => "not configured",
        Some(true) => "ok",
        Some(false) => "down",
    };
    let status = match (draining, database && blobs) {
        (true, _) => "draining",
        (false, true) => "ready",
        (false, false) => "unavailable",
    };
    let body = json!({
        "status": status,
        "database": if database { "ok" } else { "down" },
        "redis": redis,
        "replicas": replicas,
        "blobs": if blobs { "ok" } else { "down" },
    });
    if database && blobs && !draining {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Prometheus text: operations by name and outcome, latency, open sockets, live broker
/// subscriptions and `myEvents` listeners, events published and skipped, database pool use
/// (all pools: the shared one and each HTTP worker's).
/// With `--metrics-token`, 401 unless the request carries it as a bearer token.
pub async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Some(token) = &state.config.exposure.metrics_token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(crate::auth::bearer);
        // Digests compared, so the time taken says nothing about how much of the token matched.
        let matches =
            given.is_some_and(|given| Sha256::digest(given) == Sha256::digest(token.as_bytes()));
        if !matches {
            return HttpResponse::Unauthorized()
                .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
                .finish();
        }
    }
    let (size, idle) = state.pool_use();
    metrics::gauge!("confab_db_pool_connections", "state" => "idle").set(idle as f64);
    metrics::gauge!("confab_db_pool_connections", "state" => "in_use")
        .set(f64::from(size).max(idle as f64) - idle as f64);
    // Read at scrape time from the broker itself, so they cannot drift from it.
    for (kind, n) in state.broker.subscribers_by_kind() {
        metrics::gauge!("confab_broker_subscribers", "topic" => kind).set(n as f64);
    }
    metrics::gauge!("confab_event_listeners").set(state.listeners.registered() as f64);
    match crate::telemetry::handle() {
        Some(handle) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4")
            .body(handle.render()),
        None => HttpResponse::ServiceUnavailable().body("metrics recorder unavailable"),
    }
}
