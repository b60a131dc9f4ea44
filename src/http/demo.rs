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

use std::path::Path;

use actix_files::Files;

/// The URL prefix the directory is mounted at.
pub const PREFIX: &str = "/demo";

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
/// redirects there, `/demo/app.js` is the file.
pub fn files(dir: &Path) -> Files {
    Files::new("", dir)
        .index_file("index.html")
        .redirect_to_slash_directory()
        .prefer_utf8(true)
}
