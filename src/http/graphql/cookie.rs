//! The session cookie on HTTP (`--cookie-sessions`, see `crate::auth::cookie`): which token a
//! request without `Authorization` is signed in by, and the checks that keep other sites from
//! acting with it (CSRF).
//!
//! A browser sends cookies with requests other pages make, so a request signed in by the
//! cookie, or asking for it to be set, must show it is the page's own:
//! - it is a POST: GET is for links, and a link must not act as the user;
//! - it says `Content-Type: application/json`, which a form or a cross-origin "simple" request
//!   cannot send without a CORS preflight, or carries the `X-Confab-CSRF` header, which none
//!   of those can send either (multipart uploads, which a form can send, need the header);
//! - when it has an `Origin` (browsers send it with every POST), that origin is Confab's own
//!   or one `--cors-origins` lists (not `*`, which never comes with credentials).
//!
//! A request that fails these gets FORBIDDEN with `reason: "csrf"` and nothing runs. The
//! bearer token wins over the cookie: a request with `Authorization` is never signed in by it.

use actix_web::HttpRequest;
use actix_web::http::{Method, header};

use super::body::BodyKind;
use crate::auth::cookie::{self, CookieRequest};
use crate::http::cors::Origins;
use crate::state::AppState;

/// The header a page sends to say a request is its own (any value but empty).
pub const CSRF_HEADER: &str = "x-confab-csrf";

/// What the request may do with the cookie, and the token it carries there (when cookie
/// sessions are on).
pub(super) fn inspect(state: &AppState, req: &HttpRequest) -> (CookieRequest, Option<String>) {
    let on = state.config.auth.cookie_sessions;
    let token = on
        .then(|| {
            req.headers()
                .get_all(header::COOKIE)
                .filter_map(|value| value.to_str().ok())
                .find_map(cookie::token)
                .map(str::to_owned)
        })
        .flatten();
    let request = CookieRequest {
        refused: if on { csrf(req).err() } else { None },
        carried: token.is_some(),
        secure: state.config.auth.cookie_secure,
    };
    (request, token)
}

/// Whether the request shows it is the page's own (the module's rules), or why not.
fn csrf(req: &HttpRequest) -> Result<(), &'static str> {
    if req.method() != Method::POST {
        return Err("the session cookie signs in POST requests only: send the operation with POST");
    }
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(BodyKind::of)
        .is_some_and(|kind| matches!(kind, BodyKind::Json));
    let marked = req
        .headers()
        .get(CSRF_HEADER)
        .is_some_and(|value| !value.is_empty());
    if !json && !marked {
        return Err(
            "a request signed in by the session cookie must be Content-Type: application/json or carry an X-Confab-CSRF header",
        );
    }
    if let Some(origin) = req.headers().get(header::ORIGIN)
        && !Origins::of(req).trusts(origin, req.head())
    {
        return Err(
            "a request signed in by the session cookie must come from Confab's own origin or one --cors-origins lists",
        );
    }
    Ok(())
}
