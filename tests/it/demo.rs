//! `--demo-dir`: a directory of static files at `/demo/` (the example web client), and nothing
//! outside it.

use std::process::Command;

use crate::util::TestApp;

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
