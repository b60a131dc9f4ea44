//! The HTTP surface besides GraphQL: GraphiQL, health and readiness, response compression.

use std::io::Read as _;

use awc::http::header::HeaderMap;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::util::TestApp;

on_both_backends!(
    health_readiness_and_graphiql,
    get_runs_queries_but_not_mutations,
    large_answers_are_gzipped_for_clients_that_take_them
);

async fn health_readiness_and_graphiql(app: &TestApp) {
    assert_eq!(app.get("/healthz").await, (200, "ok".to_owned()));
    let (status, ready) = app.get("/readyz").await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&ready).unwrap(),
        json!({ "status": "ready", "database": "ok", "redis": "not configured", "replicas": "not configured", "blobs": "ok" })
    );
    let (status, page) = app.get("/").await;
    assert_eq!(status, 200);
    // GraphiQL loads nothing from elsewhere, and subscribes over this server's WebSocket.
    let (_, init) = app.get("/graphiql/init.js").await;
    assert!(init.contains("subscriptionUrl"), "{init}");
    assert!(!page.contains("https://"), "external asset in {page}");
    for asset in [
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
    ] {
        let (status, body) = app.get(&format!("/graphiql/{asset}")).await;
        assert_eq!(status, 200, "{asset}");
        assert!(
            page.contains(&format!("/graphiql/{asset}")),
            "{asset} not on the page"
        );
        assert!(body.len() > 5_000, "{asset}");
    }
    assert_eq!(app.get("/graphiql/nope.js").await.0, 404);
}

async fn get_runs_queries_but_not_mutations(app: &TestApp) {
    let (status, body) = app.get("/graphql?query=%7B__typename%7D").await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap(),
        json!({ "data": { "__typename": "Query" } })
    );
    let (_, body) = app.get("/graphql?query=mutation%7Blogout%7D").await;
    assert!(body.contains("errors"), "{body}");
    assert_eq!(app.count("sessions").await, 0);
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// Every `Vary` token of the answer, lowercase, whichever header line it came on.
/// The `Vary` tokens but the CORS middleware's (`origin`, `access-control-request-*`: cors.rs).
fn vary(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("vary")
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|token| token.trim().to_ascii_lowercase())
        .filter(|token| token != "origin" && !token.starts_with("access-control-request-"))
        .collect()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut plain)
        .expect("a gzip body");
    plain
}

async fn large_answers_are_gzipped_for_clients_that_take_them(app: &TestApp) {
    let (token, _) = app.register("gzip").await;
    let room = app.create_room(&token, "gzip", &[]).await;
    for i in 0..20 {
        app.send(
            &token,
            &room,
            &format!("message {i}: {}", "words ".repeat(20)),
        )
        .await;
    }
    let page = json!({
        "query": "query($room: UUID!) { room(id: $room) { messages(first: 20) { nodes { id body createdAt sender { username } } } } }",
        "variables": { "room": room },
    });
    let gzip = [("Accept-Encoding", "gzip, deflate, br")];

    // Without Accept-Encoding: the plain answer, which says that it varies.
    let (status, headers, plain) = app.post_raw(Some(&token), &page, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-encoding"), None);
    assert_eq!(vary(&headers), ["accept", "accept-encoding"]);
    let answer: Value = serde_json::from_slice(&plain).expect("JSON");
    assert_eq!(
        answer["data"]["room"]["messages"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        20
    );
    assert!(plain.len() > 2_000, "{} bytes", plain.len());

    // With it: the same answer gzipped, several times smaller.
    let (status, headers, compressed) = app.post_raw(Some(&token), &page, &gzip).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-encoding"), Some("gzip"));
    assert_eq!(vary(&headers), ["accept", "accept-encoding"]);
    assert!(
        compressed.len() * 3 < plain.len(),
        "{} -> {} bytes",
        plain.len(),
        compressed.len()
    );
    let unpacked: Value = serde_json::from_slice(&gunzip(&compressed)).expect("JSON");
    assert_eq!(unpacked, answer);

    // gzip refused, or only encodings we do not offer: plain.
    for accept in ["gzip;q=0, identity", "br", "identity"] {
        let (_, headers, body) = app
            .post_raw(Some(&token), &page, &[("Accept-Encoding", accept)])
            .await;
        assert_eq!(header(&headers, "content-encoding"), None, "{accept}");
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap(),
            answer,
            "{accept}"
        );
    }

    // A small answer goes as it is.
    let me = json!({ "query": "{ me { username } }" });
    let (_, headers, body) = app.post_raw(Some(&token), &me, &gzip).await;
    assert_eq!(header(&headers, "content-encoding"), None);
    // It still varies with Accept (the media type), not with Accept-Encoding.
    assert_eq!(vary(&headers), ["accept"]);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({ "data": { "me": { "username": "gzip" } } })
    );

    // GET queries too.
    let query = format!(
        "/graphql?query={}",
        "%7B__schema%7Btypes%7Bname%20description%7D%7D%7D"
    );
    let (status, headers, body) = app.fetch(&query, None, &gzip).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-encoding"), Some("gzip"));
    let schema: Value = serde_json::from_slice(&gunzip(&body)).expect("JSON");
    assert!(
        schema["data"]["__schema"]["types"]
            .as_array()
            .unwrap()
            .len()
            > 50
    );

    // GraphiQL's scripts: gzipped for browsers, byte for byte the same once unpacked.
    let (_, headers, script) = app.fetch("/graphiql/graphiql.min.js", None, &[]).await;
    assert_eq!(header(&headers, "content-encoding"), None);
    let (status, headers, compressed) = app.fetch("/graphiql/graphiql.min.js", None, &gzip).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-encoding"), Some("gzip"));
    assert!(compressed.len() * 2 < script.len());
    assert_eq!(gunzip(&compressed), script);
}

/// On PostgreSQL each HTTP worker has a pool of its own: the pool gauge counts them all, the
/// shared pool's connections and the one the worker opened for the request.
#[actix_web::test]
async fn pool_gauge_counts_every_pool() {
    let Some(app) = TestApp::postgres().await else {
        return;
    };
    let (ann, _) = app.register("ann").await;
    app.ok(Some(&ann), "{ me { id } }", json!({})).await;
    // This handle shares the server's shared pool; the worker's pool is the server's alone.
    let shared = app.db.get_postgres_connection_pool().size();
    let (status, text) = app.get("/metrics").await;
    assert_eq!(status, 200);
    let gauge = |state: &str| -> f64 {
        let prefix = format!("confab_db_pool_connections{{state=\"{state}\"}} ");
        text.lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {state} gauge in:\n{text}"))
    };
    let open = gauge("idle") + gauge("in_use");
    assert!(
        open > f64::from(shared),
        "open connections: {open}, {shared} of them in the shared pool"
    );
    app.stop().await;
}

#[actix_web::test]
async fn metrics_count_operations_sockets_and_pool() {
    let app = TestApp::sqlite().await;
    let (ann, _) = app.register("ann").await;
    app.ok(Some(&ann), "query MetricsProbe { me { id } }", json!({}))
        .await;
    app.gql(Some(&ann), "query MetricsProbe { nope }", json!({}))
        .await;
    let room = app.create_room(&ann, "r", &[]).await;
    app.send(&ann, &room, "counted").await;
    // Operations over a socket go through the same pipeline: measured, and their errors coded.
    let mut socket = crate::wsclient::Ws::ready(&app, crate::wsclient::TRANSPORT, &ann).await;
    socket
        .subscribe("q", "query SocketProbe { me { id } }", json!({}))
        .await;
    let payload = socket.next("q").await;
    assert!(payload["data"]["me"]["id"].is_string(), "{payload}");
    socket.subscribe("bad", "query { nope }", json!({})).await;
    let payload = loop {
        match socket.recv().await {
            crate::wsclient::Got::Message(m) if m["id"] == "bad" && m["type"] == "next" => {
                break m["payload"].clone();
            }
            crate::wsclient::Got::Message(m) if m["id"] == "q" => continue,
            other => panic!("expected a result for bad, got {other:?}"),
        }
    };
    assert_eq!(
        payload["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{payload}"
    );
    let (status, text) = app.get("/metrics").await;
    assert_eq!(status, 200);
    for needle in [
        "confab_graphql_requests_total{operation=\"MetricsProbe\",outcome=\"ok\"}",
        "confab_graphql_request_duration_seconds_bucket{operation=\"MetricsProbe\"",
        "confab_graphql_requests_total{operation=\"SocketProbe\",outcome=\"ok\"}",
        "confab_websocket_connections",
        "confab_db_pool_connections{state=\"idle\"}",
        "confab_events_published_total",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    // A failed parse is counted by its code, under no operation name.
    assert!(text.contains("outcome=\"BAD_USER_INPUT\""), "{text}");
    app.stop().await;
}
