//! The HTTP surface besides GraphQL: GraphiQL, health and readiness.

use serde_json::json;

use crate::on_both_backends;
use crate::util::TestApp;

on_both_backends!(
    health_readiness_and_graphiql,
    get_runs_queries_but_not_mutations
);

async fn health_readiness_and_graphiql(app: &TestApp) {
    assert_eq!(app.get("/healthz").await, (200, "ok".to_owned()));
    let (status, ready) = app.get("/readyz").await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&ready).unwrap(),
        json!({ "status": "ready", "database": "ok", "redis": "not configured" })
    );
    let (status, page) = app.get("/").await;
    assert_eq!(status, 200);
    // GraphiQL loads nothing from elsewhere, and subscribes over this server's WebSocket.
    assert!(page.contains("subscriptionUrl"), "{page}");
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
