//! The session cookie of a WebSocket handshake, for a page that signs in with cookies.

use actix_web::HttpRequest;

use crate::auth;
use crate::http::cors::Origins;
use crate::state::AppState;

/// The session token of the handshake's cookie (`--cookie-sessions`), used when
/// `connection_init` carries no token: only from a page of Confab's own origin or a listed one
/// (browsers send `Origin` with every handshake, so a handshake without one is not a page's
/// and its cookie does not count; nor does a foreign page's under `--cors-origins '*'`).
pub(super) fn cookie_token(req: &HttpRequest, state: &AppState) -> Option<String> {
    if !state.config.auth.cookie_sessions {
        return None;
    }
    let origin = req.headers().get(actix_web::http::header::ORIGIN)?;
    if !Origins::of(req).trusts(origin, req.head()) {
        return None;
    }
    req.headers()
        .get_all(actix_web::http::header::COOKIE)
        .filter_map(|value| value.to_str().ok())
        .find_map(auth::cookie::token)
        .map(str::to_owned)
}
