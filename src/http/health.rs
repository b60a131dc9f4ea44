//! Liveness and readiness for orchestrators and load balancers.

use actix_web::{HttpResponse, web};

use crate::state::AppState;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// The process can serve: the database answers.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if crate::db::ping(&state.db).await {
        HttpResponse::Ok().content_type("text/plain").body("ready")
    } else {
        HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("database unavailable")
    }
}
