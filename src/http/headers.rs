//! Security headers: what a browser may do with each answer Confab sends.
//!
//! [`defaults`] wraps the whole app (and the metrics listener), so every answer gets them, errors
//! and 404s included; a route that needs another Content-Security-Policy (GraphiQL, the demo
//! client, blobs) sets its own and the default does not replace it.
//!
//! - `X-Content-Type-Options: nosniff`: a browser takes the Content-Type as sent and never runs
//!   a JSON answer or an uploaded file as a script or a page.
//! - `Referrer-Policy: no-referrer`: Confab's pages link nowhere, and a URL here can carry a
//!   query (`GET /graphql?query=...`, GraphiQL's `?headers=`), so no URL is ever sent on.
//! - `X-Frame-Options: DENY` and `frame-ancestors 'none'`: nothing is shown inside another
//!   site's frame (clickjacking); the header is for browsers without CSP level 2.
//! - `Content-Security-Policy`: [`API_CSP`] on data (nothing in it may load anything), and a
//!   policy per page that allows exactly what that page loads ([`GRAPHIQL_CSP`], [`DEMO_CSP`]).
//!
//! HSTS belongs to whatever terminates TLS (docs/production.md), not to this plain-HTTP server.

use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;

/// Data (GraphQL JSON, health, metrics, errors): no page may be built from it.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// A blob opened directly is shown as what it is and nothing more: no scripts, no plugins, no
/// same-origin access (`sandbox`) even if a permitted type could carry markup.
pub const BLOB_CSP: &str = "default-src 'none'; frame-ancestors 'none'; sandbox";

/// GraphiQL (`/`): its scripts and styles come from `/graphiql/*` on this server (no inline
/// script: the page's own code is `/graphiql/init.js`); inline styles because GraphiQL's
/// dialogs and menus add `<style>` elements (the e2e in scripts/graphiql-e2e saw them refused
/// with `style-src 'self'`); fonts and icons are `data:` URIs in its CSS; queries go to
/// `/graphql` over `fetch` and subscriptions over a WebSocket to the same origin (`'self'`
/// covers `ws:`/`wss:` to the page's own host in CSP level 3).
pub const GRAPHIQL_CSP: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
    connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The demo client (`/demo/`): its bundle, stylesheet and `data:` favicon from the same origin,
/// and `/graphql` over `fetch` and WebSocket; nothing inline.
pub const DEMO_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

/// The headers every answer gets unless its route set them already.
pub fn defaults() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::CONTENT_SECURITY_POLICY, API_CSP))
}

/// The demo client's policy, for the scope that serves it (inside [`defaults`]).
pub fn demo() -> DefaultHeaders {
    DefaultHeaders::new().add((header::CONTENT_SECURITY_POLICY, DEMO_CSP))
}
