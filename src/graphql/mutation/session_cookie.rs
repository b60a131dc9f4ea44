//! The answer of a sign-in (`login`, `register`, `completeOidcLogin`): the token in the JSON,
//! or, when the client asked for `cookie: true`, the session in the `confab_session` cookie
//! and no token (see `crate::auth::cookie`).

use async_graphql::{Context, ErrorExtensions, Result};

use crate::auth::cookie::{self, CookieRequest};
use crate::error::ApiError;
use crate::graphql::state;
use crate::graphql::types::{AuthPayload, Session, User};
use crate::service::account::SignedIn;

/// Whether the session goes into a cookie: checked before signing in, so a request that
/// may not have the cookie opens no session. `cookie` is the client's argument.
pub(super) fn wanted(ctx: &Context<'_>, cookie: Option<bool>) -> Result<bool> {
    if cookie != Some(true) {
        return Ok(false);
    }
    if !state(ctx)?.config.auth.cookie_sessions {
        return Err(ApiError::bad_input(
            "cookie",
            "this server keeps sessions out of cookies (--cookie-sessions is off): sign in without `cookie` and send the token",
        )
        .into());
    }
    match ctx.data_opt::<CookieRequest>() {
        None => Err(ApiError::bad_input(
            "cookie",
            "a cookie can only be set over HTTP: sign in with a POST to /graphql",
        )
        .into()),
        Some(CookieRequest {
            refused: Some(why), ..
        }) => Err(csrf_refusal(why)),
        Some(_) => Ok(true),
    }
}

/// What a sign-in answers: the token, or (`to_cookie`) the cookie set on the answer and the
/// empty string for the token, so that page scripts never see it (the field stays non-null,
/// as clients are written against it).
pub(super) fn payload(
    ctx: &Context<'_>,
    signed_in: SignedIn,
    to_cookie: bool,
) -> Result<AuthPayload> {
    let token = if to_cookie {
        let secure = state(ctx)?.config.auth.cookie_secure;
        let max_age = (signed_in.session.expires_at - crate::db::now())
            .num_seconds()
            .max(0);
        ctx.append_http_header("set-cookie", cookie::set(&signed_in.token, max_age, secure));
        String::new()
    } else {
        signed_in.token
    };
    Ok(AuthPayload {
        token,
        user: User::own(signed_in.user),
        session: Session(signed_in.session),
    })
}

/// Removes the cookie from the browser if the request carried it (`logout`).
pub(super) fn clear(ctx: &Context<'_>) {
    if let Some(request) = ctx.data_opt::<CookieRequest>()
        && request.carried
    {
        ctx.append_http_header("set-cookie", cookie::clear(request.secure));
    }
}

/// FORBIDDEN with `reason: "csrf"`: the request does not show it is the page's own.
fn csrf_refusal(why: &str) -> async_graphql::Error {
    async_graphql::Error::new(why).extend_with(|_, ext| {
        ext.set("code", "FORBIDDEN");
        ext.set("reason", "csrf");
    })
}
