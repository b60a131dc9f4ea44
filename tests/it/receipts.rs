//! Delivery receipts: `markDelivered` moves a member's delivered marker forward only, reading
//! implies delivery, `Message.deliveredTo` and `Message.status` (SENT / DELIVERED / READ) follow
//! the markers in direct and group rooms, `ReceiptUpdated` names the marker that moved, and the
//! fields cost a fixed number of statements however many messages a query reaches.

use serde_json::{Value, json};

use crate::on_both_backends;
use crate::util::{TestApp, TestUser, first_error};
use crate::wsclient::{TRANSPORT, Ws};

on_both_backends!(
    direct_room_goes_sent_delivered_read,
    group_status_waits_for_every_member,
    delivered_moves_forward_only_and_reading_implies_it,
    receipt_events_name_the_marker,
    receipts_cost_a_fixed_number_of_statements,
    concurrent_marks_never_move_backward,
);

const DELIVERED: &str = "mutation($r: UUID!, $m: UUID!) { markDelivered(roomId: $r, messageId: $m) { lastDeliveredMessageId lastReadMessageId } }";
const READ: &str = "mutation($r: UUID!, $m: UUID!) { markRead(roomId: $r, messageId: $m) { lastDeliveredMessageId lastReadMessageId } }";
const STATE: &str = "query($r: UUID!) { room(id: $r) { messages(last: 10) { nodes {
    id status deliveredTo { username } readBy { username }
} } } }";

async fn mark(user: &TestUser<'_>, query: &str, room: &str, message: &str) -> Value {
    let data = user.ok(query, json!({ "r": room, "m": message })).await;
    data.as_object().unwrap().values().next().unwrap().clone()
}

/// (status, deliveredTo usernames, readBy usernames) of `message` as `user` sees it.
async fn state_of(
    user: &TestUser<'_>,
    room: &str,
    message: &str,
) -> (String, Vec<String>, Vec<String>) {
    let data = user.ok(STATE, json!({ "r": room })).await;
    let node = data["room"]["messages"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == message)
        .unwrap_or_else(|| panic!("{message} not in {data}"))
        .clone();
    let names = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_owned())
            .collect()
    };
    (
        node["status"].as_str().unwrap().to_owned(),
        names(&node["deliveredTo"]),
        names(&node["readBy"]),
    )
}

async fn direct_room_goes_sent_delivered_read(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let data = ann
        .ok(
            "mutation($u: UUID!) { openDirectRoom(userId: $u) { id } }",
            json!({ "u": bob.id }),
        )
        .await;
    let room = data["openDirectRoom"]["id"].as_str().unwrap().to_owned();
    let m = ann.send(&room, "hello bob").await;
    assert_eq!(
        state_of(&ann, &room, &m).await,
        ("SENT".into(), vec![], vec![])
    );

    let moved = mark(&bob, DELIVERED, &room, &m).await;
    assert_eq!(moved["lastDeliveredMessageId"], m.as_str());
    assert!(moved["lastReadMessageId"].is_null());
    assert_eq!(
        state_of(&ann, &room, &m).await,
        ("DELIVERED".into(), vec!["bob".into()], vec![])
    );

    mark(&bob, READ, &room, &m).await;
    assert_eq!(
        state_of(&ann, &room, &m).await,
        ("READ".into(), vec!["bob".into()], vec!["bob".into()])
    );
    // Everyone sees the same state: it is the sender's view of the message, not the caller's.
    assert_eq!(state_of(&bob, &room, &m).await.0, "READ");

    // Members only; the message must be in the room.
    let cat = app.user("cat").await;
    let body = cat.gql(DELIVERED, json!({ "r": room, "m": m })).await;
    assert_eq!(first_error(&body).0, "NOT_FOUND", "{body}");
    let other = ann.create_room("other", &[&bob]).await;
    let elsewhere = ann.send(&other, "elsewhere").await;
    let body = bob
        .gql(DELIVERED, json!({ "r": room, "m": elsewhere }))
        .await;
    assert_eq!(first_error(&body).0, "NOT_FOUND", "{body}");
}

async fn group_status_waits_for_every_member(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let cat = app.user("cat").await;
    let room = ann.create_room("group", &[&bob, &cat]).await;
    let m = ann.send(&room, "hello all").await;

    mark(&bob, DELIVERED, &room, &m).await;
    assert_eq!(
        state_of(&ann, &room, &m).await,
        ("SENT".into(), vec!["bob".into()], vec![])
    );
    mark(&cat, DELIVERED, &room, &m).await;
    assert_eq!(
        state_of(&ann, &room, &m).await,
        ("DELIVERED".into(), vec!["bob".into(), "cat".into()], vec![])
    );
    mark(&bob, READ, &room, &m).await;
    assert_eq!(state_of(&ann, &room, &m).await.0, "DELIVERED");
    mark(&cat, READ, &room, &m).await;
    assert_eq!(
        state_of(&ann, &room, &m).await,
        (
            "READ".into(),
            vec!["bob".into(), "cat".into()],
            vec!["bob".into(), "cat".into()]
        )
    );

    // A new member who has not received it holds the message back; leaving lets it go.
    let dan = app.user("dan").await;
    ann.ok(
        "mutation($r: UUID!, $u: UUID!) { addMember(roomId: $r, userId: $u) { role } }",
        json!({ "r": room, "u": dan.id }),
    )
    .await;
    assert_eq!(state_of(&ann, &room, &m).await.0, "SENT");
    dan.ok(
        "mutation($r: UUID!) { leaveRoom(roomId: $r) }",
        json!({ "r": room }),
    )
    .await;
    assert_eq!(state_of(&ann, &room, &m).await.0, "READ");
}

async fn delivered_moves_forward_only_and_reading_implies_it(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let room = ann.create_room("forward", &[&bob]).await;
    let m1 = ann.send(&room, "one").await;
    let m2 = ann.send(&room, "two").await;
    let m3 = ann.send(&room, "three").await;

    assert_eq!(
        mark(&bob, DELIVERED, &room, &m2).await["lastDeliveredMessageId"],
        m2.as_str()
    );
    // Never backward.
    assert_eq!(
        mark(&bob, DELIVERED, &room, &m1).await["lastDeliveredMessageId"],
        m2.as_str()
    );
    assert_eq!(
        state_of(&ann, &room, &m1).await.0,
        "DELIVERED",
        "m1 is before the marker"
    );
    assert_eq!(state_of(&ann, &room, &m3).await.0, "SENT");

    // Reading m3 moves the delivered marker with it.
    let moved = mark(&bob, READ, &room, &m3).await;
    assert_eq!(moved["lastReadMessageId"], m3.as_str());
    assert_eq!(moved["lastDeliveredMessageId"], m3.as_str());
    assert_eq!(
        state_of(&ann, &room, &m3).await,
        ("READ".into(), vec!["bob".into()], vec!["bob".into()])
    );
    // Delivering an older message after reading changes nothing.
    let still = mark(&bob, DELIVERED, &room, &m2).await;
    assert_eq!(still["lastDeliveredMessageId"], m3.as_str());

    // The member's markers are readable on the membership.
    let data = ann
        .ok(
            "query($r: UUID!) { room(id: $r) { members { user { username } lastDeliveredMessageId } } }",
            json!({ "r": room }),
        )
        .await;
    let bobs = data["room"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user"]["username"] == "bob")
        .unwrap()
        .clone();
    assert_eq!(bobs["lastDeliveredMessageId"], m3.as_str());
}

const ROOM_EVENTS: &str = "subscription($room: UUID!) { roomEvents(roomId: $room) { __typename
    ... on ReceiptUpdated { user { username } messageId marker }
} }";

async fn receipt_events_name_the_marker(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let room = ann.create_room("live", &[&bob]).await;
    let m1 = ann.send(&room, "one").await;
    let m2 = ann.send(&room, "two").await;
    let mut ws = Ws::ready(app, TRANSPORT, &ann.token).await;
    ws.subscribe("1", ROOM_EVENTS, json!({ "room": room }))
        .await;
    app.wait_for_room_subscribers(&room, 1).await;

    mark(&bob, DELIVERED, &room, &m1).await;
    let got = ws.next("1").await;
    let event = &got["data"]["roomEvents"];
    assert_eq!(event["__typename"], "ReceiptUpdated", "{got}");
    assert_eq!(event["marker"], "DELIVERED");
    assert_eq!(event["messageId"], m1.as_str());
    assert_eq!(event["user"]["username"], "bob");

    // A marker that does not move publishes nothing: the next event is the read below.
    mark(&bob, DELIVERED, &room, &m1).await;
    mark(&bob, READ, &room, &m2).await;
    let got = ws.next("1").await;
    let event = &got["data"]["roomEvents"];
    assert_eq!(event["marker"], "READ", "{got}");
    assert_eq!(event["messageId"], m2.as_str());
    // Reading moved the delivered marker too: delivering m2 now is a no-op, with no event, so
    // the next event is the message sent after it.
    mark(&bob, DELIVERED, &room, &m2).await;
    ann.send(&room, "three").await;
    let got = ws.next("1").await;
    assert_eq!(
        got["data"]["roomEvents"]["__typename"], "MessageAdded",
        "{got}"
    );
}

/// Rooms with three messages each; the nested query costs the same for 3 rooms as for 12.
async fn receipts_cost_a_fixed_number_of_statements(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let cat = app.user("cat").await;
    let query = "query($n: Int!) { myRooms(first: $n) { edges { node {
        messages(last: 3) { nodes { status deliveredTo { username displayName } } }
    } } } }";
    let mut counts = Vec::new();
    let mut rooms = 0;
    for target in [3, 12] {
        while rooms < target {
            let room = ann
                .create_room(&format!("room{rooms}"), &[&bob, &cat])
                .await;
            let mut last = String::new();
            for i in 0..3 {
                last = ann.send(&room, &format!("m{i}")).await;
            }
            mark(&bob, DELIVERED, &room, &last).await;
            mark(&cat, READ, &room, &last).await;
            rooms += 1;
        }
        app.settle().await;
        ann.ok("{ me { id } }", json!({})).await;
        let before = app.statements();
        let data = ann.ok(query, json!({ "n": target })).await;
        counts.push(app.statements() - before);
        let edges = data["myRooms"]["edges"].as_array().unwrap();
        assert_eq!(edges.len(), target);
        for edge in edges {
            for node in edge["node"]["messages"]["nodes"].as_array().unwrap() {
                assert_eq!(node["status"], "DELIVERED", "{node}");
                assert_eq!(node["deliveredTo"].as_array().unwrap().len(), 2, "{node}");
            }
        }
    }
    assert_eq!(
        counts[0], counts[1],
        "statements for 3 rooms vs 12: {counts:?}"
    );
    // 1 session + 2 room page + message pages (1-2) + delivered with users + progress.
    assert!(counts[1] <= 7, "nested receipts ran {counts:?} statements");
}

/// An event from a release before delivery receipts (no `marker`) still decodes, as a read.
#[test]
fn receipt_events_from_older_releases_decode_as_read() {
    use confab::realtime::wire::{Envelope, WireEvent};
    use confab::realtime::{Event, ReceiptMarker, Topic};
    let (room_id, user_id, message_id) = (
        uuid::Uuid::now_v7(),
        uuid::Uuid::now_v7(),
        uuid::Uuid::now_v7(),
    );
    let event = Event::ReceiptUpdated {
        room_id,
        user_id,
        message_id,
        marker: ReceiptMarker::Delivered,
    };
    let mut json = serde_json::to_value(Envelope::new(Topic::Room(room_id), &event, 0)).unwrap();
    assert_eq!(json["event"]["marker"], "delivered");
    json["event"].as_object_mut().unwrap().remove("marker");
    let decoded = Envelope::decode(json.to_string().as_bytes()).unwrap();
    match decoded.event {
        WireEvent::ReceiptUpdated {
            marker,
            message_id: id,
            ..
        } => {
            assert_eq!(marker, ReceiptMarker::Read);
            assert_eq!(id, message_id);
        }
        other => panic!("decoded as {other:?}"),
    }
}

/// Two devices marking at once, newest and older messages interleaved: each marker ends at
/// the newest message marked, whatever order the writes land in.
async fn concurrent_marks_never_move_backward(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let room = ann.create_room("Race", &[&bob]).await;
    let mut ids = Vec::new();
    for n in 0..12 {
        ids.push(ann.send(&room, &format!("m{n}")).await);
    }
    let newest = ids.last().unwrap().clone();
    // Newest first, so an older mark landing later would move the marker back.
    let marks = ids.iter().rev().flat_map(|id| {
        [
            bob.gql(READ, json!({ "r": room, "m": id })),
            bob.gql(DELIVERED, json!({ "r": room, "m": id })),
        ]
    });
    for body in futures_util::future::join_all(marks).await {
        assert!(body["errors"].is_null(), "{body}");
    }
    let me = bob
        .ok(
            "query($r: UUID!) { room(id: $r) { members { user { username } lastReadMessageId lastDeliveredMessageId } } }",
            json!({ "r": room }),
        )
        .await;
    let mine = me["room"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user"]["username"] == "bob")
        .unwrap()
        .clone();
    assert_eq!(mine["lastReadMessageId"], newest, "{mine}");
    assert_eq!(mine["lastDeliveredMessageId"], newest, "{mine}");
}
