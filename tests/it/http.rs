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
