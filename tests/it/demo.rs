//! `--demo-dir`: a directory of static files at `/demo/` (the example web client), and nothing
//! outside it; `--demo`: the client built into the binary at `/demo/`, and the demo data
//! seeded on the first start only.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::util::{TestApp, TestDatabase};

#[actix_web::test]
async fn demo_dir_is_served_at_demo_and_nothing_outside_it() {
    // root/secret.txt must stay unreachable from root/site, which is served.
    let root = tempfile::tempdir().unwrap();
    let site = root.path().join("site");
    std::fs::create_dir(&site).unwrap();
    std::fs::write(site.join("index.html"), "<title>demo index</title>").unwrap();
    std::fs::write(site.join("app.js"), "console.log('demo app');").unwrap();
    std::fs::write(site.join(".env"), "HIDDEN=1").unwrap();
    std::fs::write(root.path().join("secret.txt"), "top secret").unwrap();
    let dir = site.clone();
    let app = TestApp::sqlite_with(|config| config.http.demo_dir = Some(dir)).await;

    assert_eq!(
        app.get("/demo/").await,
        (200, "<title>demo index</title>".to_owned())
    );
    let (status, headers, body) = app.fetch("/demo/app.js", None, &[]).await;
    assert_eq!(
        (status, body.as_slice()),
        (200, &b"console.log('demo app');"[..])
    );
    assert!(
        headers
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/javascript"),
        "{headers:?}"
    );

    // `/demo` redirects to `/demo/` (without following, to see the redirect itself).
    let client = awc::Client::builder().disable_redirects().finish();
    let response = client
        .get(format!("{}/demo", app.base))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    assert_eq!(response.headers().get("location").unwrap(), "/demo/");

    for path in [
        "/demo/../secret.txt",
        "/demo/%2e%2e/secret.txt",
        "/demo/..%2fsecret.txt",
        "/demo/site/../../secret.txt",
        "/demo/.env",
        "/demo/nope.js",
    ] {
        let (status, body) = app.get(path).await;
        assert!(
            (400..500).contains(&status),
            "{path} answered {status}: {body}"
        );
        assert!(
            !body.contains("secret") && !body.contains("HIDDEN"),
            "{path}: {body}"
        );
    }
    // The API around it is unchanged.
    assert_eq!(app.get("/healthz").await, (200, "ok".to_owned()));
}

#[actix_web::test]
async fn mailed_link_pages_answer_with_the_client_under_its_policy() {
    // With --public-url at the demo, mailed links land on /demo/reset-password?token=... and
    // /demo/confirm-email?token=...: the client's index.html, which handles them itself.
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "<title>demo index</title>").unwrap();
    let dir = site.path().to_owned();
    let app = TestApp::sqlite_with(|config| config.http.demo_dir = Some(dir)).await;

    for path in [
        "/demo/reset-password?token=abc",
        "/demo/confirm-email?token=abc",
        "/demo/reset-password",
    ] {
        let (status, headers, body) = app.fetch(path, None, &[]).await;
        assert_eq!(
            (status, body.as_slice()),
            (200, &b"<title>demo index</title>"[..]),
            "{path}"
        );
        let policy = headers
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(policy.contains("script-src 'self'"), "{path}: {policy}");
        assert!(
            headers
                .get("content-type")
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}: {headers:?}"
        );
    }
    // Only those pages: other missing paths, and those pages deeper down or outside /demo,
    // stay 404.
    for path in [
        "/demo/reset-password/x",
        "/demo/reset-passwordx",
        "/demo/confirm-email.js",
        "/demo/other",
        "/reset-password?token=abc",
    ] {
        let (status, body) = app.get(path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert!(!body.contains("demo index"), "{path}: {body}");
    }
}

#[actix_web::test]
async fn demo_is_not_served_without_the_setting() {
    let app = TestApp::sqlite().await;
    assert_eq!(app.get("/demo/").await.0, 404);
    assert_eq!(app.get("/demo").await.0, 404);
}

#[test]
fn demo_dir_is_a_setting_and_must_name_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("confab.toml");
    std::fs::write(&file, "demo-dir = \"examples/web/dist\"\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_confab"))
        .arg("--config")
        .arg(&file)
        .arg("config")
        .env_remove("CONFAB_DEMO_DIR")
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{shown}");
    assert!(
        shown.contains("demo_dir: Some(\n            \"examples/web/dist\",")
            || shown.contains("\"examples/web/dist\""),
        "{shown}"
    );

    // A missing directory stops `serve` at start-up instead of answering 404 forever.
    let output = Command::new(env!("CARGO_BIN_EXE_confab"))
        .arg("--database-url")
        .arg(format!("sqlite://{}/d.db?mode=rwc", dir.path().display()))
        .args(["--bind", "127.0.0.1:0", "--demo-dir"])
        .arg(dir.path().join("missing"))
        .arg("serve")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("is not a directory"), "{err}");
}

/// The built client, as committed: what the binary must serve.
fn built(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/examples/web/dist/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[actix_web::test]
async fn demo_serves_the_built_in_client_under_its_policy() {
    let app = TestApp::sqlite_with(|config| config.http.demo = true).await;

    let (status, headers, body) = app.fetch("/demo/", None, &[]).await;
    assert_eq!(status, 200);
    assert!(body == built("index.html"), "not the built index.html");
    let header = |name: &str| headers.get(name).unwrap().to_str().unwrap().to_owned();
    assert!(
        header("content-type").starts_with("text/html"),
        "{headers:?}"
    );
    let policy = header("content-security-policy");
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert_eq!(header("x-content-type-options"), "nosniff");

    let (status, headers, body) = app.fetch("/demo/app.js", None, &[]).await;
    assert_eq!(status, 200);
    assert!(body == built("app.js"), "not the built app.js");
    let content_type = headers.get("content-type").unwrap().to_str().unwrap();
    assert!(
        content_type.starts_with("text/javascript"),
        "{content_type}"
    );
    assert_eq!(headers.get("cache-control").unwrap(), "no-cache");
    // Asked again with its ETag: 304 without the body; with another tag, the file.
    let etag = headers.get("etag").unwrap().to_str().unwrap().to_owned();
    let (status, _, body) = app
        .fetch("/demo/app.js", None, &[("if-none-match", &etag)])
        .await;
    assert_eq!((status, body.len()), (304, 0));
    let (status, _, body) = app
        .fetch("/demo/app.js", None, &[("if-none-match", "\"other\"")])
        .await;
    assert_eq!((status, body.len()), (200, built("app.js").len()));
    let (status, headers, _) = app.fetch("/demo/style.css", None, &[]).await;
    assert_eq!(status, 200);
    let content_type = headers.get("content-type").unwrap().to_str().unwrap();
    assert!(content_type.starts_with("text/css"), "{content_type}");

    // `/demo` redirects to `/demo/` (without following, to see the redirect itself).
    let client = awc::Client::builder().disable_redirects().finish();
    let response = client
        .get(format!("{}/demo", app.base))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    assert_eq!(response.headers().get("location").unwrap(), "/demo/");

    // Mailed links land on the client.
    for path in [
        "/demo/reset-password?token=abc",
        "/demo/confirm-email?token=abc",
    ] {
        let (status, headers, body) = app.fetch(path, None, &[]).await;
        assert_eq!(status, 200, "{path}");
        assert!(body == built("index.html"), "{path}");
        assert!(headers.contains_key("content-security-policy"), "{path}");
    }
    // Nothing else: unknown files, other pages, climbing out, dot-files, empty segments.
    for path in [
        "/demo/nope.js",
        "/demo/other",
        "/demo/reset-password/x",
        "/demo/../Cargo.toml",
        "/demo/%2e%2e/Cargo.toml",
        "/demo/..%2fCargo.toml",
        "/demo/x/../../Cargo.toml",
        "/demo/.env",
        "/demo//app.js",
        "/demo/app.js/",
    ] {
        let (status, body) = app.get(path).await;
        assert!(
            (400..500).contains(&status),
            "{path} answered {status}: {body}"
        );
        assert!(!body.contains("[package]"), "{path}: {body}");
    }
    assert_eq!(app.get("/healthz").await, (200, "ok".to_owned()));
}

#[actix_web::test]
async fn demo_dir_wins_over_the_built_in_client() {
    let site = tempfile::tempdir().unwrap();
    std::fs::write(
        site.path().join("index.html"),
        "<title>working copy</title>",
    )
    .unwrap();
    let dir = site.path().to_owned();
    let app = TestApp::sqlite_with(|config| {
        config.http.demo = true;
        config.http.demo_dir = Some(dir);
    })
    .await;
    assert_eq!(
        app.get("/demo/").await,
        (200, "<title>working copy</title>".to_owned())
    );
    assert_eq!(app.get("/demo/app.js").await.0, 404);
}

/// `confab serve --demo` on `url` until it answers; the child and the server's base URL.
async fn serve_demo(url: &str, blobs: &std::path::Path) -> (Child, String) {
    let port = crate::util::free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_confab"))
        .args(["serve", "--demo"])
        .env("CONFAB_BIND", format!("127.0.0.1:{port}"))
        .env("CONFAB_DATABASE_URL", url)
        .env("CONFAB_BLOB_DIR", blobs)
        .env("CONFAB_WORKERS", "1")
        .env_remove("CONFAB_DEMO_DIR")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = awc::Client::default();
    // Seeding comes before listening: a debug build hashes the password and writes 4,000
    // messages first.
    for _ in 0..600 {
        if let Ok(response) = client.get(format!("{base}/readyz")).send().await
            && response.status().is_success()
        {
            return (child, base);
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("confab serve --demo exited: {status}");
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    panic!("confab serve --demo did not become ready");
}

fn stop(mut child: Child) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}

/// Two starts of `serve --demo` on one database: the first seeds, the second finds the demo
/// users and seeds nothing; both serve the client and let ann and bob sign in.
async fn demo_seeds_on_the_first_start_only(database: TestDatabase, url: String) {
    let blobs = tempfile::tempdir().unwrap();
    for start in 0..2 {
        let (child, base) = serve_demo(&url, blobs.path()).await;
        let app = TestApp::remote(&base);
        let (status, headers, _) = app.fetch("/demo/", None, &[]).await;
        assert_eq!(status, 200, "start {start}");
        assert!(headers.contains_key("content-security-policy"));
        let mut tokens = Vec::new();
        for user in ["ann", "bob"] {
            let data = app
                .ok(
                    None,
                    "mutation($login: String!) { login(input: { login: $login, password: \"confab-demo\" }) { token } }",
                    json!({ "login": user }),
                )
                .await;
            tokens.push(data["login"]["token"].as_str().unwrap().to_owned());
        }
        // Their direct room is there to chat in.
        let data = app
            .ok(
                Some(&tokens[1]),
                "{ myRooms(first: 10) { edges { node { kind } } } }",
                json!({}),
            )
            .await;
        let kinds: Vec<&str> = data["myRooms"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edge| edge["node"]["kind"].as_str().unwrap())
            .collect();
        assert!(kinds.contains(&"DIRECT"), "{data}");
        stop(child);
    }
    let app = TestApp::start(database, url).await;
    assert_eq!(app.count("users").await, 5, "seeded twice?");
    assert_eq!(app.count("rooms").await, 4);
    assert_eq!(app.count("messages").await, 4000);
    app.stop().await;
}

#[actix_web::test]
async fn demo_seeds_once_on_sqlite() {
    let (database, url) = TestDatabase::sqlite_migrated().await;
    demo_seeds_on_the_first_start_only(database, url).await;
}

#[actix_web::test]
async fn demo_seeds_once_on_postgres() {
    let Some((database, url)) = TestDatabase::postgres_migrated().await else {
        return;
    };
    demo_seeds_on_the_first_start_only(database, url).await;
}

/// Two processes started with `--demo` at the same moment on an empty database: both serve,
/// and the data is there once.
#[actix_web::test]
async fn demo_seeds_once_when_two_processes_start_together() {
    let Some((database, url)) = TestDatabase::postgres_migrated().await else {
        return;
    };
    let blobs = tempfile::tempdir().unwrap();
    let ((one, _), (two, _)) = tokio::join!(
        serve_demo(&url, blobs.path()),
        serve_demo(&url, blobs.path())
    );
    stop(one);
    stop(two);
    let app = TestApp::start(database, url).await;
    assert_eq!(app.count("users").await, 5, "seeded twice?");
    assert_eq!(app.count("messages").await, 4000);
    app.stop().await;
}
