//! `roomEvents(roomId, after:)`: a client that reconnects gets the messages it missed, then
//! live events, with no gap and nothing twice.

use serde_json::{Value, json};

use crate::on_both_backends;
use crate::util::TestApp;
use crate::wsclient::{Got, TRANSPORT, Ws};

const SINCE: &str = "subscription($room: UUID!, $after: UUID) {
    roomEvents(roomId: $room, after: $after) {
        __typename ... on MessageAdded { message { id body deletedAt sender { username } } }
    }
}";

on_both_backends!(
    missed_messages_come_first_then_live_ones,
    after_must_be_a_message_of_the_room,
);

/// Too far behind: 501 messages sent, so the senders' rate limit is raised.
mod too_far_behind {
    use confab::service::message::CATCH_UP_MAX;

    fn roomy(config: &mut confab::config::Config) {
        config.limits.messages_per_10s = 10 * CATCH_UP_MAX as u32;
    }

    #[actix_web::test]
    async fn sqlite() {
        let app = crate::util::TestApp::sqlite_with(roomy).await;
        super::too_far_behind(&app).await;
        app.stop().await;
    }

    #[actix_web::test]
    async fn postgres() {
        if let Some(app) = crate::util::TestApp::postgres_with(roomy).await {
            super::too_far_behind(&app).await;
            app.stop().await;
        }
    }
}

fn message(payload: &Value) -> &Value {
    &payload["data"]["roomEvents"]["message"]
}

async fn missed_messages_come_first_then_live_ones(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let room = ann.create_room("catch up", &[&bob]).await;
    let seen = ann.send(&room, "seen").await;
    let missed: Vec<String> = vec![
        ann.send(&room, "missed 1").await,
        bob.send(&room, "missed 2").await,
        ann.send(&room, "missed 3").await,
    ];
    ann.ok(
        "mutation($id: UUID!) { deleteMessage(id: $id) { id } }",
        json!({ "id": missed[2] }),
    )
    .await;

    let mut ws = Ws::ready(app, TRANSPORT, &bob.token).await;
    ws.subscribe("1", SINCE, json!({ "room": room, "after": seen }))
        .await;
    // The missed messages, oldest first, as they are now (the third deleted since).
    for (id, body) in missed.iter().zip(["missed 1", "missed 2"]) {
        let got = ws.next("1").await;
        assert_eq!(got["data"]["roomEvents"]["__typename"], "MessageAdded");
        assert_eq!(message(&got)["id"], id.as_str(), "{got}");
        assert_eq!(message(&got)["body"], body);
    }
    let got = ws.next("1").await;
    assert_eq!(message(&got)["id"], missed[2].as_str(), "{got}");
    assert!(message(&got)["body"].is_null(), "{got}");
    assert!(message(&got)["deletedAt"].is_string(), "{got}");
    assert_eq!(message(&got)["sender"]["username"], "ann");

    // Then live, each message once.
    app.wait_for_room_subscribers(&room, 1).await;
    let live = ann.send(&room, "live").await;
    let got = ws.next("1").await;
    assert_eq!(message(&got)["id"], live.as_str(), "{got}");
    assert!(matches!(
        ws.recv_within(std::time::Duration::from_millis(300)).await,
        Got::Nothing
    ));

    // Caught up already: nothing replayed, live events only.
    ws.subscribe("2", SINCE, json!({ "room": room, "after": live }))
        .await;
    app.wait_for_room_subscribers(&room, 2).await;
    let next = ann.send(&room, "next").await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        match ws.recv().await {
            Got::Message(m) => ids.push((
                m["id"].clone(),
                m["payload"]["data"]["roomEvents"]["message"]["id"].clone(),
            )),
            other => panic!("expected a message, got {other:?}"),
        }
    }
    ids.sort_by_key(|(op, _)| op.to_string());
    assert_eq!(
        ids,
        vec![(json!("1"), json!(next)), (json!("2"), json!(next))]
    );
}

async fn after_must_be_a_message_of_the_room(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let room = ann.create_room("here", &[&bob]).await;
    let elsewhere = ann.create_room("there", &[&bob]).await;
    let other = ann.send(&elsewhere, "not in this room").await;

    let mut ws = Ws::ready(app, TRANSPORT, &bob.token).await;
    for (id, after) in [
        ("1", other.as_str()),
        ("2", "0190a0a0-0000-7000-8000-000000000000"),
    ] {
        ws.subscribe(id, SINCE, json!({ "room": room, "after": after }))
            .await;
        match ws.recv().await {
            // A resolver's error: one result carrying it, then the operation completes.
            Got::Message(m) if m["type"] == "next" => {
                assert_eq!(m["id"], id);
                let error = &m["payload"]["errors"][0];
                assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{m}");
                assert_eq!(error["extensions"]["field"], "after", "{m}");
            }
            other => panic!("expected an error, got {other:?}"),
        }
        assert!(
            matches!(ws.recv().await, Got::Message(m) if m["type"] == "complete" && m["id"] == id)
        );
    }
}

/// Further behind than one catch-up replays: refused, with the way out in the message.
async fn too_far_behind(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let room = ann.create_room("busy", &[&bob]).await;
    let first = ann.send(&room, "first").await;
    let sends = (0..=confab::service::message::CATCH_UP_MAX).map(|n| {
        json!({
            "query": "mutation($r: UUID!, $b: String!) { sendMessage(input: { roomId: $r, body: $b }) { id } }",
            "variables": { "r": room, "b": format!("m{n}") },
        })
    });
    for batch in sends.collect::<Vec<_>>().chunks(10) {
        let answers = app.post_json(Some(&ann.token), json!(batch)).await;
        assert!(
            answers
                .as_array()
                .is_some_and(|a| a.iter().all(|a| a["errors"].is_null())),
            "{answers}"
        );
    }
    let mut ws = Ws::ready(app, TRANSPORT, &bob.token).await;
    ws.subscribe("3", SINCE, json!({ "room": room, "after": first }))
        .await;
    match ws.recv().await {
        Got::Message(m) if m["type"] == "next" => {
            let error = &m["payload"]["errors"][0];
            assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{m}");
            assert_eq!(error["extensions"]["field"], "after", "{m}");
            let text = error["message"].as_str().unwrap_or_default();
            assert!(text.contains("Room.messages"), "{m}");
        }
        other => panic!("expected an error, got {other:?}"),
    }
}
