//! What the server shows of itself: security headers on every answer, introspection and field
//! suggestions (`--introspection`), and where `/metrics` is served (`--metrics-bind`,
//! `--metrics-token`).

use std::process::Command;

use awc::http::header::HeaderMap;
use serde_json::{Value, json};

use crate::util::{ServerProcess, TestApp, first_error};

const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";
const UPLOAD: &str = "mutation($file: Upload!) { uploadBlob(file: $file) { id } }";

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
}

/// The headers every answer carries, and its Content-Security-Policy.
fn assert_secured<'a>(what: &str, headers: &'a HeaderMap) -> &'a str {
    assert_eq!(
        header(headers, "x-content-type-options"),
        "nosniff",
        "{what}"
    );
    assert_eq!(header(headers, "referrer-policy"), "no-referrer", "{what}");
    assert_eq!(header(headers, "x-frame-options"), "DENY", "{what}");
    let csp = header(headers, "content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    csp
}

/// A tiny PNG header, enough for the sniffer.
fn png() -> Vec<u8> {
    let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
    bytes.extend_from_slice(b"IHDR");
    bytes.extend_from_slice(&1u32.to_be_bytes());
    bytes.extend_from_slice(&1u32.to_be_bytes());
    bytes.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    bytes
}

#[actix_web::test]
async fn every_answer_carries_security_headers() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    std::fs::create_dir(&site).unwrap();
    std::fs::write(site.join("index.html"), "<title>demo</title>").unwrap();
    let app = TestApp::sqlite_with(|config| config.http.demo_dir = Some(site)).await;

    // Data: nothing may be built from it.
    let (status, headers, _) = app
        .post_raw(None, &json!({ "query": "{ __typename }" }), &[])
        .await;
    assert_eq!(status, 200);
    assert_eq!(assert_secured("POST /graphql", &headers), API_CSP);
    for path in [
        "/graphql?query=%7B__typename%7D",
        "/healthz",
        "/readyz",
        "/metrics",
        "/graphiql/graphiql.min.js",
        "/nope",
        "/blobs/0000",
    ] {
        let (status, headers, _) = app.fetch(path, None, &[]).await;
        assert!(status < 500, "{path}: {status}");
        assert_eq!(assert_secured(path, &headers), API_CSP, "{path}");
    }
    // Refusals made by actix itself: a wrong method, a body that is not JSON.
    let response = awc::Client::default()
        .put(format!("{}/graphql", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(assert_secured("PUT /graphql", response.headers()), API_CSP);
    let response = awc::Client::default()
        .post(format!("{}/graphql", app.base))
        .insert_header(("content-type", "application/json"))
        .send_body("{ not json")
        .await
        .unwrap();
    assert!(response.status().as_u16() < 500);
    assert_secured("POST /graphql (bad JSON)", response.headers());

    // A blob opened directly is sandboxed.
    let (ann, _) = app.register("ann").await;
    let body = app.upload(&ann, UPLOAD, &png(), "image/png").await;
    let id = body["data"]["uploadBlob"]["id"].as_str().unwrap();
    let (status, headers, _) = app.fetch(&format!("/blobs/{id}"), Some(&ann), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        assert_secured("blob", &headers),
        "default-src 'none'; frame-ancestors 'none'; sandbox"
    );

    // GraphiQL: its own scripts and styles, no inline script, no eval, sockets to itself.
    let (status, headers, page) = app.fetch("/", None, &[]).await;
    assert_eq!(status, 200);
    let csp = assert_secured("GraphiQL", &headers);
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} not in {csp}");
    }
    assert!(!csp.contains("unsafe-eval"), "{csp}");
    let page = String::from_utf8(page).unwrap();
    assert_eq!(
        page.matches("<script").count(),
        page.matches("<script src=\"/graphiql/").count(),
        "an inline script would be refused by {csp}:\n{page}"
    );
    assert_eq!(app.get("/graphiql/init.js").await.0, 200);
    assert_eq!(app.get("/graphiql/page.css").await.0, 200);

    // The demo client: its own policy, on the files and on the redirect to them.
    let (status, headers, _) = app.fetch("/demo/", None, &[]).await;
    assert_eq!(status, 200);
    let csp = assert_secured("/demo/", &headers);
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(csp.contains("connect-src 'self'"), "{csp}");
    let (status, headers, _) = app.fetch("/demo/missing.js", None, &[]).await;
    assert_eq!(status, 404);
    assert_secured("/demo/missing.js", &headers);
    let response = awc::Client::builder()
        .disable_redirects()
        .finish()
        .get(format!("{}/demo", app.base))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection());
    assert_secured("/demo", response.headers());
    app.stop().await;
}

async fn error_message(app: &TestApp, query: &str) -> (String, String, Value) {
    let body = app.gql(None, query, json!({})).await;
    let (code, message, _) = first_error(&body);
    (code, message, body)
}

#[actix_web::test]
async fn introspection_and_suggestions_are_on_by_default() {
    let app = TestApp::sqlite().await;
    let data = app
        .ok(
            None,
            "{ __schema { queryType { name } } __type(name: \"User\") { name } }",
            json!({}),
        )
        .await;
    assert_eq!(data["__schema"]["queryType"]["name"], "Query");
    assert_eq!(data["__type"]["name"], "User");
    let (code, message, _) = error_message(&app, "{ me { usernme } }").await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("Did you mean \"username\"?"), "{message}");
    let (_, page) = app.get("/").await;
    assert!(page.contains("data-introspection=\"true\""), "{page}");
    app.stop().await;
}

#[actix_web::test]
async fn introspection_off_refuses_the_schema_and_suggests_nothing() {
    let app = TestApp::sqlite_with(|config| config.exposure.introspection = false).await;
    for query in [
        "{ __schema { queryType { name } } }",
        "{ __type(name: \"User\") { name fields { name } } }",
        "query { me { id } __schema { types { name } } }",
    ] {
        let (code, message, body) = error_message(&app, query).await;
        assert_eq!(code, "BAD_USER_INPUT", "{query}: {body}");
        assert!(
            message.starts_with("introspection is turned off"),
            "{query}: {body}"
        );
        assert!(body["data"]["__schema"].is_null(), "{body}");
        assert!(body["data"]["__type"].is_null(), "{body}");
    }
    // No field names in errors, for fields or for arguments.
    for query in [
        "{ mee { id } }",
        "{ me { usernme } }",
        "{ user(idd: \"x\") { id } }",
    ] {
        let (code, message, body) = error_message(&app, query).await;
        assert_eq!(code, "BAD_USER_INPUT", "{query}: {body}");
        assert!(!message.contains("Did you mean"), "{query}: {message}");
    }
    // `__typename` is part of every query, not introspection.
    let data = app.ok(None, "{ __typename }", json!({})).await;
    assert_eq!(data["__typename"], "Query");
    // GraphiQL still loads and knows not to ask for the schema.
    let (status, page) = app.get("/").await;
    assert_eq!(status, 200);
    assert!(page.contains("data-introspection=\"false\""), "{page}");
    app.stop().await;

    // The SDL does not come from introspection: export-schema is the same with it off.
    let exported = Command::new(env!("CARGO_BIN_EXE_confab"))
        .args(["export-schema", "--introspection=false"])
        .output()
        .unwrap();
    assert!(exported.status.success());
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    assert_eq!(String::from_utf8(exported.stdout).unwrap(), committed);
}

/// `confab config` shows the exposure settings and hides the metrics token.
#[test]
fn exposure_settings_are_shown_without_the_token() {
    let output = Command::new(env!("CARGO_BIN_EXE_confab"))
        .args([
            "config",
            "--introspection=false",
            "--metrics-bind",
            "127.0.0.1:9100",
        ])
        .env("CONFAB_METRICS_TOKEN", "metrics-secret")
        .output()
        .unwrap();
    assert!(output.status.success());
    let shown = String::from_utf8(output.stdout).unwrap();
    assert!(shown.contains("introspection: false"), "{shown}");
    assert!(shown.contains("\"127.0.0.1:9100\""), "{shown}");
    assert!(!shown.contains("metrics-secret"), "{shown}");
    // Introspection defaults to on; the environment variable turns it off.
    let output = Command::new(env!("CARGO_BIN_EXE_confab"))
        .arg("config")
        .output()
        .unwrap();
    assert!(
        String::from_utf8(output.stdout)
            .unwrap()
            .contains("introspection: true")
    );
    let output = Command::new(env!("CARGO_BIN_EXE_confab"))
        .arg("config")
        .env("CONFAB_INTROSPECTION", "false")
        .output()
        .unwrap();
    assert!(
        String::from_utf8(output.stdout)
            .unwrap()
            .contains("introspection: false")
    );
}

#[actix_web::test]
async fn metrics_are_served_only_on_the_metrics_address() {
    let dir = tempfile::tempdir().unwrap();
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let metrics_base = format!("http://127.0.0.1:{metrics_port}");
    let database = format!("sqlite://{}/c.db?mode=rwc", dir.path().display());
    let blobs = dir.path().join("blobs").display().to_string();
    let mut server = ServerProcess::start(&[
        ("CONFAB_DATABASE_URL", &database),
        ("CONFAB_BLOB_DIR", &blobs),
        ("CONFAB_METRICS_BIND", &format!("127.0.0.1:{metrics_port}")),
    ])
    .await;
    let main = TestApp::remote(&server.base);
    main.ok(None, "query Counted { __typename }", json!({}))
        .await;

    let (status, headers, _) = main.fetch("/metrics", None, &[]).await;
    assert_eq!(status, 404, "the main address serves no metrics");
    assert_secured("main /metrics", &headers);

    let metrics = TestApp::remote(&metrics_base);
    let (status, headers, body) = metrics.fetch("/metrics", None, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(assert_secured("metrics /metrics", &headers), API_CSP);
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.contains("confab_graphql_requests_total{operation=\"Counted\",outcome=\"ok\"}"),
        "{text}"
    );
    // Nothing else is on the metrics address.
    for path in ["/graphql?query=%7B__typename%7D", "/", "/healthz"] {
        assert_eq!(metrics.fetch(path, None, &[]).await.0, 404, "{path}");
    }
    // Both servers stop on SIGTERM, and the process exits cleanly.
    server.terminate(std::time::Duration::from_secs(15));
    assert!(
        awc::Client::default()
            .get(format!("{metrics_base}/metrics"))
            .send()
            .await
            .is_err(),
        "the metrics address still answers after exit"
    );
}

#[actix_web::test]
async fn metrics_token_is_required_when_set() {
    let app = TestApp::sqlite_with(|config| {
        config.exposure.metrics_token = Some("scrape-me".to_owned());
    })
    .await;
    for headers in [
        &[][..],
        &[("Authorization", "Bearer scrape-m")][..],
        &[("Authorization", "Bearer scrape-me-too")][..],
        &[("Authorization", "Basic scrape-me")][..],
    ] {
        let (status, response, _) = app.fetch("/metrics", None, headers).await;
        assert_eq!(status, 401, "{headers:?}");
        assert_eq!(header(&response, "www-authenticate"), "Bearer");
    }
    let (status, _, body) = app.fetch("/metrics", Some("scrape-me"), &[]).await;
    assert_eq!(status, 200);
    assert!(String::from_utf8(body).unwrap().contains("confab_"));
    // The token guards metrics only.
    assert_eq!(app.get("/healthz").await.0, 200);
    app.stop().await;
}
