//! graphql-transport-ws by its PROTOCOL.md (graphql-ws): the close codes for messages out of
//! order or out of shape. The legacy graphql-ws protocol keeps async-graphql's behaviour.

use serde_json::json;

use crate::util::TestApp;
use crate::wsclient::{Got, LEGACY, TRANSPORT, Ws};

const MY_EVENTS: &str = "subscription { myEvents { __typename } }";

#[actix_web::test]
async fn subscribe_before_connection_init_closes_4401() {
    let app = TestApp::sqlite().await;
    let mut ws = Ws::open_to(&app.base, TRANSPORT).await;
    ws.subscribe("1", "{ __typename }", json!({})).await;
    assert_eq!(ws.closed().await, Some(4401));
    assert_eq!(ws.close_reason.as_deref(), Some("Unauthorized"));
    // The legacy protocol as before: async-graphql's 1011.
    let mut ws = Ws::open_to(&app.base, LEGACY).await;
    ws.subscribe("1", "{ __typename }", json!({})).await;
    assert_eq!(ws.closed().await, Some(1011));
    app.stop().await;
}

#[actix_web::test]
async fn messages_out_of_the_protocol_close_4400() {
    let app = TestApp::sqlite().await;
    let (token, _) = app.register("ann").await;
    let invalid = [
        "not json",
        "{\"type\":",
        "[]",
        "42",
        r#"{"payload":{}}"#,
        r#"{"type":"nonsense"}"#,
        r#"{"type":7}"#,
        // The legacy protocol's message types are not this one's.
        r#"{"type":"start","id":"1","payload":{"query":"{ __typename }"}}"#,
        r#"{"type":"stop","id":"1"}"#,
        r#"{"type":"connection_terminate"}"#,
        r#"{"type":"subscribe","payload":{"query":"{ __typename }"}}"#,
        r#"{"type":"subscribe","id":"","payload":{"query":"{ __typename }"}}"#,
        r#"{"type":"subscribe","id":1,"payload":{"query":"{ __typename }"}}"#,
        r#"{"type":"subscribe","id":"1"}"#,
        r#"{"type":"subscribe","id":"1","payload":"{ __typename }"}"#,
        r#"{"type":"subscribe","id":"1","payload":{"query":7}}"#,
        r#"{"type":"complete"}"#,
        r#"{"type":"ping","payload":"x"}"#,
    ];
    for text in invalid {
        let mut ws = Ws::ready(&app, TRANSPORT, &token).await;
        ws.send_text(text).await;
        assert_eq!(ws.closed().await, Some(4400), "{text}");
    }
    // Before connection_init too.
    let mut ws = Ws::open_to(&app.base, TRANSPORT).await;
    ws.send_text("{").await;
    assert_eq!(ws.closed().await, Some(4400));
    let mut ws = Ws::open_to(&app.base, TRANSPORT).await;
    ws.send_text(r#"{"type":"connection_init","payload":"token"}"#)
        .await;
    assert_eq!(ws.closed().await, Some(4400));

    // A ping with or without a payload is answered, and the socket stays usable.
    let mut ws = Ws::ready(&app, TRANSPORT, &token).await;
    ws.send_text(r#"{"type":"ping"}"#).await;
    ws.send_text(r#"{"type":"ping","payload":{"at":1}}"#).await;
    ws.subscribe("q", "{ me { username } }", json!({})).await;
    assert_eq!(ws.next("q").await["data"]["me"]["username"], "ann");

    // The legacy protocol as before: async-graphql's 1002.
    let mut ws = Ws::ready(&app, LEGACY, &token).await;
    ws.send_text("not json").await;
    assert_eq!(ws.closed().await, Some(1002));
    app.stop().await;
}

#[actix_web::test]
async fn a_running_subscription_id_cannot_be_reused_4409() {
    let app = TestApp::sqlite().await;
    let (token, _) = app.register("ann").await;
    let mut ws = Ws::ready(&app, TRANSPORT, &token).await;

    // An id is free again once its operation completed: by the server (a query) ...
    for _ in 0..2 {
        ws.subscribe("q", "{ me { username } }", json!({})).await;
        assert_eq!(ws.next("q").await["data"]["me"]["username"], "ann");
        match ws.recv().await {
            Got::Message(m) => assert_eq!(
                (m["type"].as_str(), m["id"].as_str()),
                (Some("complete"), Some("q"))
            ),
            other => panic!("expected complete, got {other:?}"),
        }
    }
    // ... or by the client.
    for _ in 0..2 {
        ws.subscribe("s", MY_EVENTS, json!({})).await;
        ws.send(json!({ "type": "complete", "id": "s" })).await;
        assert!(matches!(
            ws.recv_within(std::time::Duration::from_millis(300)).await,
            Got::Nothing | Got::Message(_)
        ));
    }
    // While it runs, the same id again closes the socket.
    ws.subscribe("live", MY_EVENTS, json!({})).await;
    ws.subscribe("live", MY_EVENTS, json!({})).await;
    assert_eq!(ws.closed().await, Some(4409));
    assert_eq!(
        ws.close_reason.as_deref(),
        Some("Subscriber for live already exists")
    );

    // The legacy protocol as before: the second start replaces the first.
    let mut ws = Ws::ready(&app, LEGACY, &token).await;
    ws.subscribe("live", MY_EVENTS, json!({})).await;
    ws.subscribe("live", MY_EVENTS, json!({})).await;
    ws.subscribe("q", "{ me { username } }", json!({})).await;
    assert_eq!(ws.next("q").await["data"]["me"]["username"], "ann");
    app.stop().await;
}

#[actix_web::test]
async fn a_second_connection_init_closes_4429() {
    let app = TestApp::sqlite().await;
    let (token, _) = app.register("ann").await;
    let mut ws = Ws::ready(&app, TRANSPORT, &token).await;
    ws.send(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }))
        .await;
    assert_eq!(ws.closed().await, Some(4429));
    // Also when the second follows the first before its acknowledgement.
    let mut ws = Ws::connect(&app, TRANSPORT, Some(&token)).await;
    ws.send(json!({ "type": "connection_init", "payload": {} }))
        .await;
    assert_eq!(ws.closed().await, Some(4429));
    app.stop().await;
}
