//! The server's WebSocket pings (`--ws-ping-secs`): a socket that answers none is closed after
//! two periods with 1001 and its user goes offline; one that answers stays open.

use std::time::Duration;

use serde_json::json;

use crate::util::TestApp;
use crate::wsclient::{Got, TRANSPORT, Ws};

const STATUS: &str = "query($id: UUID!) { user(id: $id) { status } }";

#[actix_web::test]
async fn a_socket_that_answers_no_ping_is_closed_and_its_user_goes_offline_sqlite() {
    silent_sockets_close(TestApp::sqlite_with(|c| c.limits.ws_ping_secs = 1).await).await;
}

#[actix_web::test]
async fn a_socket_that_answers_no_ping_is_closed_and_its_user_goes_offline_postgres() {
    if let Some(app) = TestApp::postgres_with(|c| c.limits.ws_ping_secs = 1).await {
        silent_sockets_close(app).await;
    }
}

async fn silent_sockets_close(app: TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let status = || async {
        app.ok(Some(&ann), STATUS, json!({ "id": bob_id })).await["user"]["status"].clone()
    };
    // Bob's client stops reading after the ack, like a phone whose network is gone: it
    // answers no ping. Ann's answers every one.
    let mut silent = Ws::ready(&app, TRANSPORT, &bob).await;
    let mut alive = Ws::ready(&app, TRANSPORT, &ann).await;
    assert_eq!(status().await, "ONLINE");

    let pings = alive.answer_pings(Duration::from_secs(4)).await;
    assert!(matches!(pings, Ok(n) if n >= 2), "{pings:?}");
    assert!(
        matches!(
            silent.recv_within(Duration::from_secs(2)).await,
            Got::Closed(Some(1001))
        ),
        "the silent socket stayed open"
    );
    assert_eq!(silent.close_reason.as_deref(), Some("no answer to ping"));
    let mut offline = false;
    for _ in 0..40 {
        if status().await == "OFFLINE" {
            offline = true;
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(offline, "bob stayed online after his socket was closed");

    // Ann's socket, which answered, still serves her.
    alive
        .subscribe("me", "subscription { myEvents { __typename } }", json!({}))
        .await;
    assert!(matches!(
        alive.recv_within(Duration::from_millis(300)).await,
        Got::Nothing
    ));
    assert!(
        alive
            .answer_pings(Duration::from_millis(1500))
            .await
            .is_ok()
    );
}
