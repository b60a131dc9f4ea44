//! The voice-room reads over HTTP on both backends: a room's membership history
//! (`Room.memberHistory`, a stint per time in), `myRooms(archived:)`, raw connection events
//! (`connectionEvents`, the caller's own or, for a room's owners and admins, the room's), and
//! the context a user shares with their presence.

use serde_json::{Value, json};

use crate::on_both_backends;
use crate::util::{TestApp, TestUser, first_error};
use crate::wsclient::{TRANSPORT, Ws};

const HISTORY: &str = "query($room: UUID!, $first: Int, $after: String) { room(id: $room) { memberHistory(first: $first, after: $after) { nodes { user { username } joinedAt leftAt } pageInfo { hasNextPage endCursor } } } }";
const LEAVE: &str = "mutation($room: UUID!) { leaveRoom(roomId: $room) }";
const ADD: &str =
    "mutation($room: UUID!, $user: UUID!) { addMember(roomId: $room, userId: $user) { role } }";
const REMOVE: &str =
    "mutation($room: UUID!, $user: UUID!) { removeMember(roomId: $room, userId: $user) }";

/// (username, left?) of each stint, newest first.
fn stints(data: &Value) -> Vec<(String, bool)> {
    data["room"]["memberHistory"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["user"]["username"].as_str().unwrap().to_owned(),
                n["leftAt"].is_string(),
            )
        })
        .collect()
}

fn pair(name: &str, left: bool) -> (String, bool) {
    (name.to_owned(), left)
}

on_both_backends!(rejoining_keeps_each_stint);

async fn rejoining_keeps_each_stint(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let room = ann.create_room("stage", &[&bob]).await;
    let vars = |first: i32| json!({ "room": room, "first": first });

    // Bob leaves, is added back, is removed and added again: three stints of his, each
    // closed but the last; ann's one stint stays open.
    bob.ok(LEAVE, json!({ "room": room })).await;
    let again = json!({ "room": room, "user": bob.id });
    ann.ok(ADD, again.clone()).await;
    ann.ok(REMOVE, again.clone()).await;
    ann.ok(ADD, again).await;
    let data = ann.ok(HISTORY, vars(20)).await;
    // Newest first: bob's current stint, then his closed ones; ann's and bob's first stints
    // began together, when the room was made.
    let all = stints(&data);
    assert_eq!(all[0], pair("bob", false), "{all:?}");
    assert_eq!(all[1], pair("bob", true), "{all:?}");
    assert!(all[2..].contains(&pair("ann", false)), "{all:?}");
    assert!(all[2..].contains(&pair("bob", true)), "{all:?}");
    assert_eq!(all.len(), 4, "{all:?}");
    assert_eq!(all.iter().filter(|(n, _)| n == "bob").count(), 3);
    assert_eq!(all.iter().filter(|(_, left)| !left).count(), 2, "{all:?}");
    let nodes = data["room"]["memberHistory"]["nodes"].as_array().unwrap();
    for node in nodes.iter().filter(|n| n["leftAt"].is_string()) {
        assert!(
            node["leftAt"].as_str() >= node["joinedAt"].as_str(),
            "{node}"
        );
    }
    // The member row shows the latest stint only.
    let members = ann
        .ok(
            "query($room: UUID!) { room(id: $room) { members { user { username } joinedAt } } }",
            json!({ "room": room }),
        )
        .await;
    let bob_row = members["room"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user"]["username"] == "bob")
        .unwrap()
        .clone();
    assert_eq!(bob_row["joinedAt"], nodes[0]["joinedAt"]);

    // Pages, newest first.
    let first = ann.ok(HISTORY, vars(2)).await;
    assert_eq!(stints(&first), all[..2]);
    let page = &first["room"]["memberHistory"]["pageInfo"];
    assert_eq!(page["hasNextPage"], true);
    let rest = ann
        .ok(
            HISTORY,
            json!({ "room": room, "first": 10, "after": page["endCursor"] }),
        )
        .await;
    assert_eq!(stints(&rest), all[2..]);
    assert_eq!(
        rest["room"]["memberHistory"]["pageInfo"]["hasNextPage"],
        false
    );

    // Members who are neither owner nor admin may not read it.
    let body = bob.gql(HISTORY, vars(5)).await;
    assert_eq!(first_error(&body).0, "FORBIDDEN", "{body}");
    let body = ann
        .gql(HISTORY, json!({ "room": room, "first": 101 }))
        .await;
    assert_eq!(first_error(&body).2.as_deref(), Some("first"), "{body}");
}

on_both_backends!(reopening_a_direct_room_starts_a_stint);

async fn reopening_a_direct_room_starts_a_stint(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let open = "mutation($user: UUID!) { openDirectRoom(userId: $user) { id } }";
    let room = ann.ok(open, json!({ "user": bob.id })).await["openDirectRoom"]["id"].clone();
    bob.ok(LEAVE, json!({ "room": room })).await;
    // Bob reopens it: back in, in a new stint; twice is still one.
    bob.ok(open, json!({ "user": ann.id })).await;
    bob.ok(open, json!({ "user": ann.id })).await;
    let data = ann.ok(HISTORY, json!({ "room": room })).await;
    let all = stints(&data);
    assert_eq!(all.len(), 3, "{all:?}");
    assert_eq!(all[0], pair("bob", false));
    assert!(all[1..].contains(&pair("bob", true)), "{all:?}");
    assert!(all[1..].contains(&pair("ann", false)), "{all:?}");
}

on_both_backends!(my_rooms_filters_on_archived);

/// The ids of the caller's rooms that `myRooms(archived:)` lists, sorted.
async fn rooms(user: &TestUser<'_>, archived: Value) -> Vec<String> {
    let query = "query($archived: Boolean) { myRooms(archived: $archived) { nodes { id } } }";
    let data = user.ok(query, json!({ "archived": archived })).await;
    let mut ids: Vec<String> = data["myRooms"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

async fn my_rooms_filters_on_archived(app: &TestApp) {
    let ann = app.user("ann").await;
    let kept = ann.create_room("kept", &[]).await;
    let shelved = ann.create_room("shelved", &[]).await;
    ann.ok(
        "mutation($room: UUID!) { updateRoom(input: { roomId: $room, archived: true }) { id } }",
        json!({ "room": shelved }),
    )
    .await;
    let mut both = vec![kept.clone(), shelved.clone()];
    both.sort();
    assert_eq!(rooms(&ann, Value::Null).await, both);
    assert_eq!(rooms(&ann, json!(true)).await, [shelved]);
    assert_eq!(rooms(&ann, json!(false)).await, [kept]);
    let data = ann.ok("{ myRooms { nodes { id } } }", json!({})).await;
    assert_eq!(data["myRooms"]["nodes"].as_array().unwrap().len(), 2);
}

const LOG: &str = "mutation($room: UUID, $event: ConnectionEvent!, $rtt: Float) { logConnectionEvent(input: { roomId: $room, event: $event, metrics: { rttMs: $rtt } }) }";
const EVENTS: &str = "query($room: UUID, $user: UUID, $event: ConnectionEvent, $since: DateTime, $until: DateTime, $first: Int, $after: String) { connectionEvents(roomId: $room, userId: $user, event: $event, since: $since, until: $until, first: $first, after: $after) { nodes { user { username } roomId event rttMs createdAt } pageInfo { hasNextPage endCursor } } }";

/// (username, event) of each entry, newest first.
fn entries(data: &Value) -> Vec<(String, String)> {
    data["connectionEvents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["user"]["username"].as_str().unwrap().to_owned(),
                n["event"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn entry(name: &str, event: &str) -> (String, String) {
    (name.to_owned(), event.to_owned())
}

on_both_backends!(connection_events_are_read_by_self_and_managers);

async fn connection_events_are_read_by_self_and_managers(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let cat = app.user("cat").await;
    let room = ann.create_room("voice", &[&bob]).await;
    let log =
        |room: Value, event: &str, rtt: Value| json!({ "room": room, "event": event, "rtt": rtt });
    bob.ok(LOG, log(json!(room), "CONNECTED", Value::Null))
        .await;
    ann.ok(LOG, log(json!(room), "CONNECTED", Value::Null))
        .await;
    bob.ok(LOG, log(json!(room), "QUALITY", json!(40.0))).await;
    bob.ok(LOG, log(Value::Null, "DISCONNECTED", Value::Null))
        .await;

    // Bob reads his own, everywhere or in the room, newest first; not ann's.
    let mine = bob.ok(EVENTS, json!({})).await;
    assert_eq!(
        entries(&mine),
        [
            entry("bob", "DISCONNECTED"),
            entry("bob", "QUALITY"),
            entry("bob", "CONNECTED")
        ]
    );
    assert!(mine["connectionEvents"]["nodes"][0]["roomId"].is_null());
    assert_eq!(mine["connectionEvents"]["nodes"][1]["roomId"], json!(room));
    assert_eq!(mine["connectionEvents"]["nodes"][1]["rttMs"], 40.0);
    let in_room = bob.ok(EVENTS, json!({ "room": room })).await;
    assert_eq!(
        entries(&in_room),
        [entry("bob", "QUALITY"), entry("bob", "CONNECTED")]
    );
    let body = bob
        .gql(EVENTS, json!({ "room": room, "user": ann.id }))
        .await;
    assert_eq!(first_error(&body).0, "FORBIDDEN", "{body}");

    // The owner reads everyone's in the room, filtered by user and kind, in pages.
    let all = ann.ok(EVENTS, json!({ "room": room })).await;
    assert_eq!(
        entries(&all),
        [
            entry("bob", "QUALITY"),
            entry("ann", "CONNECTED"),
            entry("bob", "CONNECTED")
        ]
    );
    let bobs = ann
        .ok(EVENTS, json!({ "room": room, "user": bob.id }))
        .await;
    assert_eq!(entries(&bobs).len(), 2);
    let connects = ann
        .ok(EVENTS, json!({ "room": room, "event": "CONNECTED" }))
        .await;
    assert_eq!(
        entries(&connects),
        [entry("ann", "CONNECTED"), entry("bob", "CONNECTED")]
    );
    let first = ann.ok(EVENTS, json!({ "room": room, "first": 2 })).await;
    assert_eq!(entries(&first), entries(&all)[..2]);
    let page = &first["connectionEvents"]["pageInfo"];
    assert_eq!(page["hasNextPage"], true);
    let rest = ann
        .ok(
            EVENTS,
            json!({ "room": room, "first": 2, "after": page["endCursor"] }),
        )
        .await;
    assert_eq!(entries(&rest), entries(&all)[2..]);
    assert_eq!(rest["connectionEvents"]["pageInfo"]["hasNextPage"], false);

    // A time range: [since, until).
    let times: Vec<String> = all["connectionEvents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["createdAt"].as_str().unwrap().to_owned())
        .collect();
    let window = ann
        .ok(
            EVENTS,
            json!({ "room": room, "since": times[2], "until": times[0] }),
        )
        .await;
    assert!(entries(&window).contains(&entry("bob", "CONNECTED")));
    assert!(!entries(&window).contains(&entry("bob", "QUALITY")));
    let future = ann
        .ok(
            EVENTS,
            json!({ "room": room, "since": "2999-01-01T00:00:00Z" }),
        )
        .await;
    assert!(entries(&future).is_empty());
    let body = ann
        .gql(
            EVENTS,
            json!({ "room": room, "since": times[0], "until": "2000-01-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(first_error(&body).2.as_deref(), Some("until"), "{body}");

    // Others' events outside a room they manage are not the owner's to read; a stranger
    // has none of their own in the room, and may not name anyone else.
    let body = ann.gql(EVENTS, json!({ "user": bob.id })).await;
    assert_eq!(first_error(&body).0, "FORBIDDEN", "{body}");
    let theirs = cat.ok(EVENTS, json!({ "room": room })).await;
    assert!(entries(&theirs).is_empty());
    let body = cat
        .gql(EVENTS, json!({ "room": room, "user": bob.id }))
        .await;
    assert_eq!(first_error(&body).0, "FORBIDDEN", "{body}");
}

const SHARE: &str =
    "mutation($context: String) { updateProfile(input: { presenceContext: $context }) { id } }";
const CONTEXT: &str = "query($id: UUID!) { user(id: $id) { status presenceContext } }";

on_both_backends!(presence_carries_a_shared_context);

async fn presence_carries_a_shared_context(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let mut watcher = Ws::ready(app, TRANSPORT, &ann.token).await;
    watcher
        .subscribe(
            "p",
            "subscription($ids: [UUID!]!) { presence(userIds: $ids) { userId status context } }",
            json!({ "ids": [bob.id] }),
        )
        .await;
    app.wait_for_presence_watchers(&bob.id, 1).await;
    let bob_ws = Ws::ready(app, TRANSPORT, &bob.token).await;
    let got = watcher.next("p").await;
    assert_eq!(got["data"]["presence"]["status"], "ONLINE", "{got}");
    assert!(got["data"]["presence"]["context"].is_null(), "{got}");

    // Shared (trimmed): in the event, and where presence is read.
    bob.ok(SHARE, json!({ "context": "  In the lounge, room 2  " }))
        .await;
    let got = watcher.next("p").await;
    assert_eq!(
        got["data"]["presence"],
        json!({ "userId": bob.id, "status": "ONLINE", "context": "In the lounge, room 2" })
    );
    let read = ann.ok(CONTEXT, json!({ "id": bob.id })).await;
    assert_eq!(read["user"]["presenceContext"], "In the lounge, room 2");

    // Too long or not one line: BAD_USER_INPUT, and the context stays.
    for bad in ["x".repeat(65), "two\nlines".to_owned()] {
        let body = bob.gql(SHARE, json!({ "context": bad })).await;
        let (code, _, field) = first_error(&body);
        assert_eq!(
            (code.as_str(), field.as_deref()),
            ("BAD_USER_INPUT", Some("presenceContext")),
            "{body}"
        );
    }
    bob.ok(SHARE, json!({ "context": "é".repeat(64) })).await;
    let got = watcher.next("p").await;
    assert_eq!(got["data"]["presence"]["context"], "é".repeat(64));

    // Invisible (OFFLINE chosen): nobody sees it.
    bob.ok(
        "mutation { updateProfile(input: { status: OFFLINE }) { id } }",
        json!({}),
    )
    .await;
    let got = watcher.next("p").await;
    assert_eq!(
        got["data"]["presence"],
        json!({ "userId": bob.id, "status": "OFFLINE", "context": null })
    );
    let read = ann.ok(CONTEXT, json!({ "id": bob.id })).await;
    assert_eq!(
        read["user"],
        json!({ "status": "OFFLINE", "presenceContext": null })
    );
    // Visible again, with the context still shared.
    bob.ok(
        "mutation { updateProfile(input: { status: ONLINE }) { id } }",
        json!({}),
    )
    .await;
    let got = watcher.next("p").await;
    assert_eq!(got["data"]["presence"]["status"], "ONLINE", "{got}");
    assert_eq!(got["data"]["presence"]["context"], "é".repeat(64));

    // Null stops sharing.
    bob.ok(SHARE, json!({ "context": null })).await;
    let got = watcher.next("p").await;
    assert!(got["data"]["presence"]["context"].is_null(), "{got}");
    assert!(ann.ok(CONTEXT, json!({ "id": bob.id })).await["user"]["presenceContext"].is_null());

    // Going offline drops it: reconnecting does not bring it back.
    bob.ok(SHARE, json!({ "context": "on stage" })).await;
    let got = watcher.next("p").await;
    assert_eq!(got["data"]["presence"]["context"], "on stage");
    drop(bob_ws);
    let got = watcher.next("p").await;
    assert_eq!(got["data"]["presence"]["status"], "OFFLINE", "{got}");
    assert!(got["data"]["presence"]["context"].is_null(), "{got}");
    let _again = Ws::ready(app, TRANSPORT, &bob.token).await;
    let got = watcher.next("p").await;
    assert_eq!(got["data"]["presence"]["status"], "ONLINE", "{got}");
    assert!(got["data"]["presence"]["context"].is_null(), "{got}");
    let read = ann.ok(CONTEXT, json!({ "id": bob.id })).await;
    assert_eq!(
        read["user"],
        json!({ "status": "ONLINE", "presenceContext": null })
    );
}

/// The same through Redis, where presence (and so its context) lives between processes.
#[actix_web::test]
async fn presence_carries_a_shared_context_through_redis() {
    let Some(url) = crate::util::redis_url() else {
        return;
    };
    let app = TestApp::sqlite_with(|c| c.redis_url = Some(url)).await;
    presence_carries_a_shared_context(&app).await;
    app.stop().await;
}
