//! Cross-origin access (`--cors-origins`): which other origins' pages may call the API.
//!
//! A browser lets a page read answers from its own origin only, unless the server says
//! otherwise with CORS headers. Confab says so for the origins listed (exactly, scheme, host
//! and port), or for any with `*`:
//! - a preflight (`OPTIONS` with `Access-Control-Request-Method`) from a listed origin is
//!   answered 200 with the allowed methods (GET, POST) and headers ([`ALLOWED_HEADERS`]),
//!   cached by the browser for [`MAX_AGE_SECS`]; from any other origin 400, without CORS
//!   headers, so the browser never sends the request;
//! - an answer to a listed origin carries `Access-Control-Allow-Origin` (that origin, `*` for
//!   `*`), `Vary: Origin` and `Access-Control-Expose-Headers` ([`EXPOSED_HEADERS`]); listed
//!   origins also get `Access-Control-Allow-Credentials: true`, `*` never does;
//! - a WebSocket upgrade on `/graphql` ([`websocket_allowed`]) is refused with 403 when its
//!   `Origin` is neither Confab's own nor allowed: browsers send `Origin` on every WebSocket
//!   handshake and CORS does not apply to WebSockets, so this check is the server's.
//!
//! A request without `Origin` (curl, servers, mobile apps) is not a browser page: it is served
//! as before. Same origin means the `Origin`'s host and port are the request's `Host` (or
//! `X-Forwarded-Host`, for a proxy that rewrites `Host`).

use std::borrow::Cow;

use actix_cors::Cors;
use actix_web::dev::RequestHead;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, web};

/// Seconds a browser may reuse a preflight answer (Chromium caps this at 7200).
pub const MAX_AGE_SECS: usize = 3600;

/// Request headers a cross-origin page may send (`X-Confab-CSRF`: see `super::graphql`'s
/// cookie checks).
pub const ALLOWED_HEADERS: [header::HeaderName; 4] = [
    header::AUTHORIZATION,
    header::CONTENT_TYPE,
    header::ACCEPT,
    header::HeaderName::from_static("x-confab-csrf"),
];

/// Response headers a cross-origin page may read beyond the CORS-safelisted ones
/// (`Content-Type`, `Cache-Control`, ...): a blob's `ETag` and download file name, and the
/// `WWW-Authenticate` of a 401.
pub const EXPOSED_HEADERS: [header::HeaderName; 3] = [
    header::ETAG,
    header::CONTENT_DISPOSITION,
    header::WWW_AUTHENTICATE,
];

/// The origins other than Confab's own that may call it: checked once at start-up.
#[derive(Clone, Debug, Default)]
pub struct Origins {
    any: bool,
    listed: Vec<String>,
}

impl Origins {
    /// The origins the server was started with, or for an embedder that serves `routes`
    /// without `server` (and so registered none) the default: Confab's own origin only.
    pub fn of(req: &HttpRequest) -> Cow<'_, Self> {
        match req.app_data::<web::Data<Self>>() {
            Some(origins) => Cow::Borrowed(origins.get_ref()),
            None => Cow::Owned(Self::default()),
        }
    }

    /// Parses `--cors-origins`: `*` alone, or origins like `https://app.example.com` or
    /// `http://localhost:5173` (no path, no trailing slash).
    pub fn parse(values: &[String]) -> anyhow::Result<Self> {
        let values: Vec<&str> = values
            .iter()
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .collect();
        if values.contains(&"*") {
            anyhow::ensure!(
                values.len() == 1,
                "--cors-origins: `*` allows every origin; list origins or give `*` alone"
            );
            return Ok(Self {
                any: true,
                listed: Vec::new(),
            });
        }
        let mut listed = Vec::with_capacity(values.len());
        for value in values {
            let origin = value.to_ascii_lowercase();
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            let ok = rest.is_some_and(|host| {
                !host.is_empty()
                    && !host.contains(['/', '?', '#', '@', ' '])
                    && HeaderValue::from_str(&origin).is_ok()
            });
            anyhow::ensure!(
                ok,
                "--cors-origins: `{value}` is not an origin (scheme://host[:port], e.g. http://localhost:5173)"
            );
            listed.push(origin);
        }
        Ok(Self { any: false, listed })
    }

    /// Whether a page of `origin` (the `Origin` header's value) may call the API.
    fn allows(&self, origin: &HeaderValue) -> bool {
        self.any
            || origin.to_str().is_ok_and(|origin| {
                self.listed
                    .iter()
                    .any(|listed| listed.eq_ignore_ascii_case(origin))
            })
    }

    /// The CORS middleware for these origins (one per worker).
    pub fn middleware(&self) -> Cors {
        let cors = if self.any {
            // `*` names nobody, so it never comes with credentials (the Fetch standard
            // refuses the pair anyway).
            Cors::default().allow_any_origin().send_wildcard()
        } else {
            let origins = self.clone();
            let cors = Cors::default().allowed_origin_fn(move |origin, req| {
                origins.allows(origin) || same_origin(origin, req)
            });
            if self.listed.is_empty() {
                cors
            } else {
                cors.supports_credentials()
            }
        };
        cors.allowed_methods(["GET", "POST"])
            .allowed_headers(ALLOWED_HEADERS)
            .expose_headers(EXPOSED_HEADERS)
            .max_age(MAX_AGE_SECS)
    }

    /// Whether a page of `origin` may act with the browser's credentials (the session
    /// cookie): Confab's own origin or a listed one. `*` names nobody, so it never counts.
    pub fn trusts(&self, origin: &HeaderValue, req: &RequestHead) -> bool {
        same_origin(origin, req)
            || origin.to_str().is_ok_and(|origin| {
                self.listed
                    .iter()
                    .any(|listed| listed.eq_ignore_ascii_case(origin))
            })
    }

    /// Whether a WebSocket handshake may go ahead: no `Origin` (not a browser), Confab's
    /// own origin, or an allowed one.
    pub fn websocket_allowed(&self, req: &RequestHead) -> bool {
        match req.headers().get(header::ORIGIN) {
            None => true,
            Some(origin) => self.allows(origin) || same_origin(origin, req),
        }
    }
}

/// Whether `origin` is the origin the request was sent to: its host and port are the
/// request's `Host` (or `X-Forwarded-Host`). The scheme is not compared: behind a proxy that
/// ends TLS the request arrives as plain HTTP.
fn same_origin(origin: &HeaderValue, req: &RequestHead) -> bool {
    let Some(authority) = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, authority)| authority)
    else {
        return false;
    };
    let host = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|host| host.trim().eq_ignore_ascii_case(authority))
    };
    host("host") || host("x-forwarded-host")
}

#[cfg(test)]
mod tests {
    use super::Origins;

    fn parse(values: &[&str]) -> anyhow::Result<Origins> {
        Origins::parse(&values.iter().map(|v| (*v).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn origins_are_checked_at_start_up() {
        assert!(parse(&[]).is_ok());
        assert!(parse(&["*"]).is_ok());
        assert!(parse(&["http://localhost:5173", "https://App.example.com"]).is_ok());
        for bad in [
            &["*", "http://a.example"][..],
            &["localhost:5173"],
            &["http://a.example/"],
            &["http://a.example/app"],
            &["ftp://a.example"],
            &["http://"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
