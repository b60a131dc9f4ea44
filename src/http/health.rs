//! Liveness and readiness for orchestrators and load balancers.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::state::AppState;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// Whether the process can serve, dependency by dependency: 200 while the database answers,
/// 503 otherwise. Redis being away degrades fan-out to this instance but does not stop it, so
/// it is reported without failing readiness.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let database = crate::db::ping(&state.db).await;
    let redis = match state.broker.link_up() {
        None => "not configured",
        Some(true) => "ok",
        Some(false) => "down",
    };
    let body = json!({
        "status": if database { "ready" } else { "unavailable" },
        "database": if database { "ok" } else { "down" },
        "redis": redis,
    });
    if database {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Prometheus text: operations by name and outcome, latency, open sockets, live subscriptions,
/// events published, database pool use (all pools: the shared one and each HTTP worker's).
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let (size, idle) = state.pool_use();
    metrics::gauge!("confab_db_pool_connections", "state" => "idle").set(idle as f64);
    metrics::gauge!("confab_db_pool_connections", "state" => "in_use")
        .set(f64::from(size).max(idle as f64) - idle as f64);
    match crate::telemetry::handle() {
        Some(handle) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4")
            .body(handle.render()),
        None => HttpResponse::ServiceUnavailable().body("metrics recorder unavailable"),
    }
}
