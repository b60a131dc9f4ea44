//! Leaving for good: `deleteRoom` (owners and server administrators; members hear
//! RoomDeleted; nothing of the room stays readable or in the tables) and `deleteAccount`.

use serde_json::{Value, json};

use crate::on_both_backends;
use crate::util::{TestApp, first_error};
use crate::wsclient::{Got, TRANSPORT, Ws};

on_both_backends!(rooms_are_deleted_by_their_owners);

const DELETE_ROOM: &str = "mutation($r: UUID!) { deleteRoom(roomId: $r) }";
const ROOM_EVENTS: &str = "subscription($r: UUID!) { roomEvents(roomId: $r) { __typename ... on RoomDeleted { roomId } } }";
const MY_EVENTS: &str = "subscription { myEvents { __typename ... on RoomDeleted { roomId } } }";
const MESSAGE: &str = "query($m: UUID!) { message(id: $m) { id body } }";

/// The tables that hold what belongs to a room, with their row counts (the tests that use
/// it have one room with content at the time).
async fn room_rows(app: &TestApp) -> Vec<(&'static str, i64)> {
    let mut counts = Vec::new();
    for table in [
        "rooms",
        "messages",
        "room_members",
        "room_member_stints",
        "message_reactions",
        "calls",
        "call_sessions",
        "notifications",
    ] {
        counts.push((table, app.count(table).await));
    }
    counts
}

/// Waits on `ws` for the next result of `id`, skipping other operations' messages.
async fn next_of(ws: &mut Ws, id: &str) -> Value {
    loop {
        match ws.recv().await {
            Got::Message(m) if m["id"] == id && m["type"] == "next" => return m["payload"].clone(),
            Got::Message(_) => continue,
            other => panic!("expected a result for {id}, got {other:?}"),
        }
    }
}

async fn rooms_are_deleted_by_their_owners(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let cat = app.user("cat").await;
    let dan = app.user("dan").await;
    let room = ann.create_room("doomed", &[&bob, &cat]).await;
    let first = ann.send(&room, "hello @bob").await;
    bob.send(&room, "hi").await;
    bob.ok(
        "mutation($m: UUID!) { react(messageId: $m, emoji: \"👍\") { id } }",
        json!({ "m": first }),
    )
    .await;
    ann.ok(
        "mutation($r: UUID!) { joinCall(roomId: $r) { sessionId } }",
        json!({ "r": room }),
    )
    .await;
    // Bob listens to the room and to his own events.
    let mut ws = Ws::ready(app, TRANSPORT, &bob.token).await;
    ws.subscribe("room", ROOM_EVENTS, json!({ "r": room }))
        .await;
    ws.subscribe("mine", MY_EVENTS, json!({})).await;
    app.wait_for_room_subscribers(&room, 1).await;
    app.wait_for_listeners(&bob.id, 1).await;

    // A member who does not own it: FORBIDDEN; a stranger: NOT_FOUND; signed out:
    // UNAUTHENTICATED. Nothing changes.
    let body = bob.gql(DELETE_ROOM, json!({ "r": room })).await;
    assert_eq!(first_error(&body).0, "FORBIDDEN");
    let body = dan.gql(DELETE_ROOM, json!({ "r": room })).await;
    assert_eq!(first_error(&body).0, "NOT_FOUND");
    let body = app.gql(None, DELETE_ROOM, json!({ "r": room })).await;
    assert_eq!(first_error(&body).0, "UNAUTHENTICATED");
    for (table, n) in room_rows(app).await {
        assert!(n > 0, "{table} is empty before the delete");
    }

    let data = ann.ok(DELETE_ROOM, json!({ "r": room })).await;
    assert_eq!(data["deleteRoom"], true);

    // Bob hears it on both subscriptions; the room's ends there.
    let heard = next_of(&mut ws, "room").await;
    assert_eq!(heard["data"]["roomEvents"]["__typename"], "RoomDeleted");
    assert_eq!(heard["data"]["roomEvents"]["roomId"], room.as_str());
    let heard = next_of(&mut ws, "mine").await;
    assert_eq!(heard["data"]["myEvents"]["__typename"], "RoomDeleted");
    assert_eq!(heard["data"]["myEvents"]["roomId"], room.as_str());

    // Every read answers as for a room that never was.
    for user in [&ann, &bob, &cat] {
        let data = user
            .ok(
                "query($r: UUID!) { room(id: $r) { id } myRooms { edges { node { id } } } }",
                json!({ "r": room }),
            )
            .await;
        assert!(data["room"].is_null(), "{data}");
        assert_eq!(data["myRooms"]["edges"], json!([]), "{data}");
        let body = user.gql(MESSAGE, json!({ "m": first })).await;
        assert_eq!(first_error(&body).0, "NOT_FOUND");
        let body = user
            .gql(
                "mutation($r: UUID!) { sendMessage(input: { roomId: $r, body: \"late\" }) { id } }",
                json!({ "r": room }),
            )
            .await;
        assert_eq!(first_error(&body).0, "NOT_FOUND", "{body}");
        let data = user
            .ok(
                "query { searchMessages(query: \"hello\") { edges { node { id } } } }",
                json!({}),
            )
            .await;
        assert_eq!(data["searchMessages"]["edges"], json!([]));
    }
    // A second time: NOT_FOUND.
    let body = ann.gql(DELETE_ROOM, json!({ "r": room })).await;
    assert_eq!(first_error(&body).0, "NOT_FOUND");
    // Nothing points at the room any more.
    for (table, n) in room_rows(app).await {
        assert_eq!(n, 0, "{table} still has rows");
    }

    // A server administrator may delete any room, also one they are not in; it is audited.
    let other = bob.create_room("spam", &[&cat]).await;
    app.make_admin("dan").await;
    let data = dan.ok(DELETE_ROOM, json!({ "r": other })).await;
    assert_eq!(data["deleteRoom"], true);
    let data = dan
        .ok(
            "query { auditLog(kind: \"room_deleted\") { edges { node { kind } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["auditLog"]["edges"].as_array().map(Vec::len),
        Some(2),
        "{data}"
    );
    let data = cat
        .ok(
            "query($r: UUID!) { room(id: $r) { id } }",
            json!({ "r": other }),
        )
        .await;
    assert!(data["room"].is_null());
}
