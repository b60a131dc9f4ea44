//! The example web client at `/demo/`, served from the same origin as the API it talks to:
//! from the directory given with `--demo-dir` (for working on the client), or with `--demo`
//! from the copy built into the binary ([`embedded`], `examples/web/dist` at compile time).
//! `--demo-dir` wins when both are given.
//!
//! actix-files does the serving: it resolves `..` segments (also percent-encoded) within the
//! directory, never above it, rejects an encoded `/` and hidden files, so nothing outside the
//! directory can be reached; and it handles ranges, ETags and content types, which a
//! hand-written handler would have to get right again.
//!
//! The files are mounted in a scope of their own at [`PREFIX`], whose answers carry the demo's
//! Content-Security-Policy (`headers::DEMO_CSP`) instead of the API's.
//!
//! The links Confab mails (`--public-url` + [`PAGES`]) land on pages of the client when
//! `--public-url` is the demo's URL: those paths answer with `index.html`, which reads the
//! path and the token from `location`. Any other missing file stays a 404.

use std::path::{Path, PathBuf};

use actix_files::{Files, NamedFile};
use actix_web::dev::{ServiceRequest, ServiceResponse, fn_service};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

/// The URL prefix the directory is mounted at.
pub const PREFIX: &str = "/demo";

/// The paths of mailed links (`service::recovery`, `service::identity`), under [`PREFIX`],
/// that the client handles itself.
pub const PAGES: [&str; 2] = ["/reset-password", "/confirm-email"];

/// Fails at start-up, not on the first request, when the setting names no directory.
pub fn check(dir: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        dir.is_dir(),
        "--demo-dir {} is not a directory (build the example client with `npm run build` in examples/web)",
        dir.display()
    );
    Ok(())
}

/// The files, for the scope at [`PREFIX`]: `/demo/` answers with `index.html`, `/demo`
/// redirects there, `/demo/app.js` is the file, and each of [`PAGES`] is `index.html` too.
pub fn files(dir: &Path) -> Files {
    let index = dir.join("index.html");
    Files::new("", dir)
        .index_file("index.html")
        .redirect_to_slash_directory()
        .prefer_utf8(true)
        .default_handler(fn_service(move |req: ServiceRequest| {
            page_or_not_found(index.clone(), req)
        }))
}

/// Called for what is not a file: `index.html` for a client page, 404 for anything else.
async fn page_or_not_found(
    index: PathBuf,
    req: ServiceRequest,
) -> Result<ServiceResponse, actix_web::Error> {
    let page = req
        .path()
        .strip_prefix(PREFIX)
        .is_some_and(|rest| PAGES.contains(&rest));
    let (req, _) = req.into_parts();
    let file = if page {
        NamedFile::open_async(index).await.ok()
    } else {
        None
    };
    let response = match file {
        Some(file) => file.prefer_utf8(true).into_response(&req),
        None => HttpResponse::NotFound().finish(),
    };
    Ok(ServiceResponse::new(req, response))
}

/// The built client (`examples/web/dist`, committed and checked by CI to be what
/// `npm run build` makes), compiled into the binary: in debug builds too (`debug-embed`), so
/// tests serve what a release serves.
#[derive(rust_embed::RustEmbed)]
#[folder = "examples/web/dist/"]
struct Client;

/// The built-in client, for the scope at [`PREFIX`]: the same paths as [`files`] (`/demo`
/// redirects to `/demo/`, which is `index.html`, as is each of [`PAGES`]); anything else
/// that is not a built file is a 404.
pub fn embedded(cfg: &mut web::ServiceConfig) {
    cfg.route("", web::get().to(to_slash))
        .route("", web::head().to(to_slash))
        .route("/{file:.*}", web::get().to(embedded_file))
        .route("/{file:.*}", web::head().to(embedded_file));
}

async fn to_slash(req: HttpRequest) -> HttpResponse {
    let location = match req.query_string() {
        "" => format!("{PREFIX}/"),
        query => format!("{PREFIX}/?{query}"),
    };
    HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// The built file the request names, by its exact name: the lookup is in a table of the
/// files compiled in, so `..` (encoded or not) names nothing; dot-files are refused anyway.
/// Answers carry an ETag (the file's SHA-256) and `Cache-Control: no-cache`: the names are not
/// content-hashed, so a browser asks again each time and gets a 304 while nothing changed.
async fn embedded_file(req: HttpRequest) -> HttpResponse {
    let rest = req.path().strip_prefix(PREFIX).unwrap_or_default();
    let name = if rest == "/" || PAGES.contains(&rest) {
        "index.html"
    } else {
        rest.strip_prefix('/').unwrap_or(rest)
    };
    let hidden = name
        .split('/')
        .any(|part| part.is_empty() || part.starts_with('.'));
    let Some(file) = (!hidden).then(|| Client::get(name)).flatten() else {
        return HttpResponse::NotFound().finish();
    };
    let etag = format!("\"{}\"", hex::encode(file.metadata.sha256_hash()));
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        });
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"));
    if fresh {
        return response.finish();
    }
    response
        .content_type(content_type(file.metadata.mimetype()))
        .body(file.data.into_owned())
}

/// The guessed type, with `charset=utf-8` for text (the build writes UTF-8), as
/// `--demo-dir` answers (`prefer_utf8`).
fn content_type(mime: &str) -> String {
    let text =
        mime.starts_with("text/") || matches!(mime, "application/javascript" | "application/json");
    if text && !mime.contains("charset") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    }
}
