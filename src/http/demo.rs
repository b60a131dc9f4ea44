//! Static files at `/demo/` from the directory given with `--demo-dir`: how the example web
//! client in `examples/web` is served from the same origin as the API it talks to.
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
use actix_web::HttpResponse;
use actix_web::dev::{ServiceRequest, ServiceResponse, fn_service};

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
