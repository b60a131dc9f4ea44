//! GraphiQL at `GET /`, served entirely by this server (the page and its scripts are embedded
//! in the binary), so it works on machines without internet access. Subscriptions run from it
//! over the WebSocket on `/graphql`, authenticated with the headers set in its Headers tab.
//!
//! GraphiQL learns the schema by introspection; with `--introspection=false` the page says so
//! and runs operations without docs or completion. Its Content-Security-Policy is
//! [`GRAPHIQL_CSP`]: the page has no inline script (its own code is `init.js`).

use std::sync::OnceLock;

use actix_web::http::header::{self, CacheControl, CacheDirective, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use flate2::Compression;

use super::compress;
use super::headers::GRAPHIQL_CSP;
use crate::state::AppState;

const PAGE: &str = include_str!("graphiql/index.html");
/// How `init.js` learns that introspection is off.
const INTROSPECTION_ON: &str = r#"data-introspection="true""#;

/// The embedded assets: (file name, content type, bytes).
const ASSETS: [(&str, &str, &[u8]); 6] = [
    (
        "init.js",
        "application/javascript; charset=utf-8",
        include_bytes!("graphiql/init.js"),
    ),
    (
        "page.css",
        "text/css; charset=utf-8",
        include_bytes!("graphiql/page.css"),
    ),
    (
        "graphiql.min.js",
        "application/javascript; charset=utf-8",
        include_bytes!("graphiql/graphiql.min.js"),
    ),
    (
        "graphiql.min.css",
        "text/css; charset=utf-8",
        include_bytes!("graphiql/graphiql.min.css"),
    ),
    (
        "react.production.min.js",
        "application/javascript; charset=utf-8",
        include_bytes!("graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        "application/javascript; charset=utf-8",
        include_bytes!("graphiql/react-dom.production.min.js"),
    ),
];

pub async fn page(state: web::Data<AppState>) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    response
        .content_type("text/html; charset=utf-8")
        .insert_header(CacheControl(vec![CacheDirective::NoCache]))
        .insert_header((header::CONTENT_SECURITY_POLICY, GRAPHIQL_CSP));
    if state.config.exposure.introspection {
        response.body(PAGE)
    } else {
        response.body(PAGE.replace(INTROSPECTION_ON, r#"data-introspection="false""#))
    }
}

/// An embedded asset; gzipped (1.5 MB -> 0.6 MB in all) for clients that take it, compressed
/// once per process at the best level, on a blocking thread, on first request.
pub async fn asset(req: HttpRequest, name: web::Path<String>) -> HttpResponse {
    static GZIPPED: [OnceLock<Option<Bytes>>; ASSETS.len()] =
        [const { OnceLock::new() }; ASSETS.len()];
    let Some(index) = ASSETS
        .iter()
        .position(|(file, _, _)| *file == name.as_str())
    else {
        return HttpResponse::NotFound().finish();
    };
    let (_, content_type, bytes) = ASSETS[index];
    let mut response = HttpResponse::Ok();
    response
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::VARY, HeaderValue::from_static("accept-encoding")))
        .insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(86_400),
        ]));
    if compress::accepts_gzip(&req) {
        let gzipped = web::block(move || {
            GZIPPED[index]
                .get_or_init(|| compress::gzip_bytes(bytes, Compression::best()).map(Bytes::from))
                .clone()
        })
        .await;
        if let Ok(Some(gzipped)) = gzipped {
            return response
                .insert_header((header::CONTENT_ENCODING, HeaderValue::from_static("gzip")))
                .body(gzipped);
        }
    }
    response.body(bytes)
}
