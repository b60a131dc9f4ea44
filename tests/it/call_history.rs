//! The history of calls over HTTP: connection events that name a call session (own sessions
//! only, in the call's room), `Room.calls` (members only, newest first, paged),
//! `Call.connectionEvents` (owners and admins only, oldest first, paged, one statement per
//! level), and `roomByCode` (a preview without joining; unknown codes rate limited).

use entity::connection_logs;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::on_both_backends;
use crate::util::{TestApp, TestUser, first_error};

const JOIN: &str = "mutation($room: UUID!) { joinCall(roomId: $room) { sessionId call { id } } }";
const LEAVE: &str = "mutation($s: UUID!) { leaveCall(sessionId: $s) }";
const LOG: &str = "mutation($i: ConnectionEventInput!) { logConnectionEvent(input: $i) }";
const STATS: &str = "query($r: UUID, $s: UUID) { connectionStats(roomId: $r, callSessionId: $s) { total users byEvent { event count } avgRttMs } }";
const CALLS: &str = "query($id: UUID!, $first: Int, $after: String) { room(id: $id) { calls(first: $first, after: $after) { edges { cursor node { id endedAt peakParticipants room { id } } } pageInfo { hasNextPage endCursor } } } }";
const EVENTS: &str = "query($id: UUID!, $first: Int, $after: String) { room(id: $id) { calls(first: 1) { edges { node { id connectionEvents(first: $first, after: $after) { edges { cursor node { id event callSessionId rttMs jitterMs packetLoss createdAt user { username } } } pageInfo { hasNextPage endCursor } } } } } } }";
const CREATE: &str =
    "mutation($input: CreateRoomInput!) { createRoom(input: $input) { id joinCode } }";
const JOIN_ROOM: &str = "mutation($code: String!) { joinRoom(code: $code) { id } }";
const BY_CODE: &str = "query($code: String!) { roomByCode(code: $code) { id name topic memberCount maxMembers callLive participantCount } }";
const ARCHIVE: &str = "mutation($input: UpdateRoomInput!) { updateRoom(input: $input) { id } }";
const NOWHERE: &str = "01900000-0000-7000-8000-000000000009";

on_both_backends!(
    connection_events_name_own_sessions,
    stats_by_call_session,
    room_calls_newest_first_in_pages,
    room_calls_are_for_members,
    connection_events_for_owners_and_admins,
    connection_events_cost_a_fixed_number_of_statements,
    room_by_code_previews_without_joining,
    room_by_code_limits_unknown_codes,
);

/// Joins `room`'s call: (session id, call id).
async fn join(user: &TestUser<'_>, room: &str) -> (String, String) {
    let data = user.ok(JOIN, json!({ "room": room })).await;
    (
        data["joinCall"]["sessionId"].as_str().unwrap().to_owned(),
        data["joinCall"]["call"]["id"].as_str().unwrap().to_owned(),
    )
}

async fn leave(user: &TestUser<'_>, session: &str) {
    user.ok(LEAVE, json!({ "s": session })).await;
}

fn log_input(room: Option<&str>, session: Option<&str>, event: &str, rtt: Option<f64>) -> Value {
    let mut input = json!({ "event": event });
    if let Some(room) = room {
        input["roomId"] = json!(room);
    }
    if let Some(session) = session {
        input["callSessionId"] = json!(session);
    }
    if let Some(rtt) = rtt {
        input["metrics"] = json!({ "rttMs": rtt, "jitterMs": 3.0, "packetLoss": 0.02 });
    }
    json!({ "i": input })
}

async fn log(user: &TestUser<'_>, session: &str, event: &str, rtt: Option<f64>) {
    let done = user
        .ok(LOG, log_input(None, Some(session), event, rtt))
        .await;
    assert_eq!(done["logConnectionEvent"], true);
}

async fn stored_logs(app: &TestApp, user: &TestUser<'_>) -> Vec<connection_logs::Model> {
    connection_logs::Entity::find()
        .filter(connection_logs::Column::UserId.eq(Uuid::parse_str(&user.id).unwrap()))
        .order_by_asc(connection_logs::Column::CreatedAt)
        .order_by_asc(connection_logs::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
}

fn uuid(s: &str) -> Uuid {
    Uuid::parse_str(s).unwrap()
}

async fn connection_events_name_own_sessions(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let room = ann.create_room("Standup", &[&bob]).await;
    let other_room = ann.create_room("Elsewhere", &[]).await;
    let (ann_session, _) = join(&ann, &room).await;
    let (bob_session, _) = join(&bob, &room).await;

    // The session alone puts the event in its call's room; with the room, it must match.
    log(&ann, &ann_session, "CONNECTED", None).await;
    ann.ok(
        LOG,
        log_input(Some(&room), Some(&ann_session), "QUALITY", Some(40.0)),
    )
    .await;
    let stored = stored_logs(app, &ann).await;
    assert_eq!(stored.len(), 2);
    for row in &stored {
        assert_eq!(row.call_session_id, Some(uuid(&ann_session)));
        assert_eq!(row.room_id, Some(uuid(&room)));
    }

    let body = ann
        .gql(LOG, log_input(None, Some(&bob_session), "QUALITY", None))
        .await;
    assert_eq!(first_error(&body).0, "FORBIDDEN", "somebody else's: {body}");
    let body = ann
        .gql(LOG, log_input(None, Some(NOWHERE), "QUALITY", None))
        .await;
    assert_eq!(first_error(&body).0, "NOT_FOUND", "{body}");
    let body = ann
        .gql(
            LOG,
            log_input(Some(&other_room), Some(&ann_session), "QUALITY", None),
        )
        .await;
    let (code, _, field) = first_error(&body);
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("roomId")),
        "{body}"
    );
    let body = app
        .gql(
            None,
            LOG,
            log_input(None, Some(&ann_session), "QUALITY", None),
        )
        .await;
    assert_eq!(first_error(&body).0, "UNAUTHENTICATED", "{body}");
    assert_eq!(
        stored_logs(app, &ann).await.len(),
        2,
        "refusals write nothing"
    );

    // A session that left may still be named: the client logs its disconnect afterwards.
    leave(&ann, &ann_session).await;
    log(&ann, &ann_session, "DISCONNECTED", None).await;
    // Without a session, as before.
    ann.ok(LOG, log_input(Some(&room), None, "QUALITY", Some(10.0)))
        .await;
    let stored = stored_logs(app, &ann).await;
    assert_eq!(stored.len(), 4);
    assert_eq!(stored[2].call_session_id, Some(uuid(&ann_session)));
    assert_eq!(stored[3].call_session_id, None);
    assert_eq!(stored[3].room_id, Some(uuid(&room)));

    // A former member's session no longer logs into the room.
    leave(&bob, &bob_session).await;
    bob.ok(
        "mutation($r: UUID!) { leaveRoom(roomId: $r) }",
        json!({ "r": room }),
    )
    .await;
    let body = bob
        .gql(LOG, log_input(None, Some(&bob_session), "QUALITY", None))
        .await;
    assert_eq!(first_error(&body).0, "NOT_FOUND", "{body}");
}

async fn stats_by_call_session(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let dan = app.user("dan").await;
    let room = ann.create_room("Standup", &[&bob]).await;
    let other_room = ann.create_room("Elsewhere", &[]).await;
    let (ann_session, _) = join(&ann, &room).await;
    let (bob_session, _) = join(&bob, &room).await;
    log(&ann, &ann_session, "CONNECTED", None).await;
    log(&ann, &ann_session, "QUALITY", Some(20.0)).await;
    log(&ann, &ann_session, "QUALITY", Some(40.0)).await;
    log(&bob, &bob_session, "QUALITY", Some(500.0)).await;

    // Members of the room read any session's figures, as they read the room's.
    for reader in [&ann, &bob] {
        let stats = reader.ok(STATS, json!({ "s": ann_session })).await["connectionStats"].clone();
        assert_eq!(stats["total"], 3, "{stats}");
        assert_eq!(stats["users"], 1);
        assert_eq!(stats["avgRttMs"], 30.0);
        assert_eq!(
            stats["byEvent"][0],
            json!({ "event": "CONNECTED", "count": 1 })
        );
    }
    let stats =
        ann.ok(STATS, json!({ "r": room, "s": bob_session })).await["connectionStats"].clone();
    assert_eq!(stats["total"], 1);
    assert_eq!(stats["avgRttMs"], 500.0);
    let stats = ann.ok(STATS, json!({ "r": room })).await["connectionStats"].clone();
    assert_eq!(stats["total"], 4, "the room's figures hold both sessions");

    let body = dan.gql(STATS, json!({ "s": ann_session })).await;
    assert_eq!(first_error(&body).0, "NOT_FOUND", "a stranger: {body}");
    let body = ann.gql(STATS, json!({ "s": NOWHERE })).await;
    assert_eq!(first_error(&body).0, "NOT_FOUND", "{body}");
    let body = ann
        .gql(STATS, json!({ "r": other_room, "s": ann_session }))
        .await;
    let (code, _, field) = first_error(&body);
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("roomId")),
        "{body}"
    );
}

/// The ids on a page of `Room.calls`, and its `pageInfo`.
async fn calls_page(
    user: &TestUser<'_>,
    room: &str,
    first: Option<i64>,
    after: Option<&str>,
) -> (Vec<String>, Value) {
    let data = user
        .ok(CALLS, json!({ "id": room, "first": first, "after": after }))
        .await;
    let calls = &data["room"]["calls"];
    let ids = calls["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| {
            assert_eq!(edge["node"]["room"]["id"], room);
            edge["node"]["id"].as_str().unwrap().to_owned()
        })
        .collect();
    (ids, calls["pageInfo"].clone())
}

async fn room_calls_newest_first_in_pages(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let room = ann.create_room("Standup", &[&bob]).await;
    let other_room = ann.create_room("Elsewhere", &[]).await;
    let (ids, info) = calls_page(&ann, &room, None, None).await;
    assert!(ids.is_empty());
    assert_eq!(info["hasNextPage"], false);

    // Four ended calls (the second with two participants), then a live one; one call in
    // another room that must not show.
    let mut started = Vec::new();
    for i in 0..4 {
        let (session, call) = join(&ann, &room).await;
        if i == 1 {
            let (bobs, _) = join(&bob, &room).await;
            leave(&bob, &bobs).await;
        }
        leave(&ann, &session).await;
        started.push(call);
    }
    let (_, elsewhere) = join(&ann, &other_room).await;
    let (_, live) = join(&bob, &room).await;
    started.push(live.clone());
    let newest_first: Vec<String> = started.iter().rev().cloned().collect();

    let (all, info) = calls_page(&bob, &room, None, None).await;
    assert_eq!(all, newest_first);
    assert!(!all.contains(&elsewhere));
    assert_eq!(info["hasNextPage"], false);
    let data = ann.ok(CALLS, json!({ "id": room })).await;
    let edges = data["room"]["calls"]["edges"].as_array().unwrap().clone();
    assert!(edges[0]["node"]["endedAt"].is_null(), "the live call first");
    assert!(edges[1]["node"]["endedAt"].is_string());
    assert_eq!(edges[3]["node"]["peakParticipants"], 2);

    // Pages of two: 2 + 2 + 1, each after the last one's end cursor.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let (ids, info) = calls_page(&ann, &room, Some(2), after.as_deref()).await;
        pages += 1;
        assert!(ids.len() <= 2);
        seen.extend(ids);
        if info["hasNextPage"] == false {
            break;
        }
        after = Some(info["endCursor"].as_str().unwrap().to_owned());
        assert!(pages < 5, "paging does not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, newest_first);

    let body = ann.gql(CALLS, json!({ "id": room, "first": 101 })).await;
    let (code, _, field) = first_error(&body);
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("first"))
    );
    let body = ann
        .gql(CALLS, json!({ "id": room, "after": "not a cursor" }))
        .await;
    let (code, _, field) = first_error(&body);
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("after"))
    );
}

async fn room_calls_are_for_members(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let dan = app.user("dan").await;
    let room = ann.create_room("Private", &[&bob]).await;
    let (session, _) = join(&ann, &room).await;
    leave(&ann, &session).await;
    join(&ann, &room).await;
    assert_eq!(calls_page(&bob, &room, None, None).await.0.len(), 2);

    // Strangers and former members do not see the room at all.
    let body = dan.gql(CALLS, json!({ "id": room })).await;
    assert!(
        body["data"]["room"].is_null() && body["errors"].is_null(),
        "{body}"
    );
    bob.ok(
        "mutation($r: UUID!) { leaveRoom(roomId: $r) }",
        json!({ "r": room }),
    )
    .await;
    let body = bob.gql(CALLS, json!({ "id": room })).await;
    assert!(body["data"]["room"].is_null(), "{body}");
    let body = app.gql(None, CALLS, json!({ "id": room })).await;
    assert_eq!(first_error(&body).0, "UNAUTHENTICATED", "{body}");

    // A site administrator sees every room (moderation) but not its calls, as with
    // `Room.call`.
    app.make_admin("dan").await;
    let data = dan
        .ok(
            "{ rooms(first: 10) { edges { node { id call { id } calls { edges { node { id } } pageInfo { hasNextPage } } } } } }",
            json!({}),
        )
        .await;
    let rooms = data["rooms"]["edges"].as_array().unwrap();
    let node = &rooms
        .iter()
        .find(|edge| edge["node"]["id"] == room.as_str())
        .expect("the room is listed")["node"];
    assert!(node["call"].is_null());
    assert_eq!(node["calls"]["edges"], json!([]));
    assert_eq!(node["calls"]["pageInfo"]["hasNextPage"], false);
}

/// The events on a page of the room's newest call's `connectionEvents`: (events, pageInfo).
async fn events_page(
    user: &TestUser<'_>,
    room: &str,
    first: Option<i64>,
    after: Option<&str>,
) -> (Vec<Value>, Value) {
    let data = user
        .ok(
            EVENTS,
            json!({ "id": room, "first": first, "after": after }),
        )
        .await;
    let events = &data["room"]["calls"]["edges"][0]["node"]["connectionEvents"];
    let nodes = events["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"].clone())
        .collect();
    (nodes, events["pageInfo"].clone())
}

async fn connection_events_for_owners_and_admins(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let cat = app.user("cat").await;
    let room = ann.create_room("Standup", &[&bob, &cat]).await;
    app.ok(
        Some(&ann.token),
        "mutation($r: UUID!, $u: UUID!) { setMemberRole(roomId: $r, userId: $u, role: ADMIN) { role } }",
        json!({ "r": room, "u": bob.id }),
    )
    .await;

    // An earlier call of the room, with an event that must not show in the later one.
    let (old_session, _) = join(&cat, &room).await;
    log(&cat, &old_session, "CONNECTED", None).await;
    leave(&cat, &old_session).await;

    let (cats, _) = join(&cat, &room).await;
    let (anns, _) = join(&ann, &room).await;
    log(&cat, &cats, "CONNECTED", None).await;
    log(&ann, &anns, "CONNECTED", None).await;
    for rtt in [30.0, 60.0, 90.0] {
        log(&cat, &cats, "QUALITY", Some(rtt)).await;
    }
    // Room events without a session are not the call's.
    ann.ok(LOG, log_input(Some(&room), None, "QUALITY", Some(1.0)))
        .await;
    log(&cat, &cats, "RECONNECTED", None).await;

    let expected = [
        ("CONNECTED", "cat"),
        ("CONNECTED", "ann"),
        ("QUALITY", "cat"),
        ("QUALITY", "cat"),
        ("QUALITY", "cat"),
        ("RECONNECTED", "cat"),
    ];
    for reader in [&ann, &bob] {
        let (events, info) = events_page(reader, &room, None, None).await;
        let got: Vec<(String, String)> = events
            .iter()
            .map(|e| {
                (
                    e["event"].as_str().unwrap().to_owned(),
                    e["user"]["username"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let want: Vec<(String, String)> = expected
            .iter()
            .map(|(e, u)| ((*e).to_owned(), (*u).to_owned()))
            .collect();
        assert_eq!(got, want, "oldest first, this call's sessions only");
        assert_eq!(info["hasNextPage"], false);
        assert_eq!(events[0]["callSessionId"], cats.as_str());
        assert_eq!(events[1]["callSessionId"], anns.as_str());
        assert_eq!(events[3]["rttMs"], 60.0);
        assert_eq!(events[3]["jitterMs"], 3.0);
        assert_eq!(events[3]["packetLoss"], 0.02);
        assert!(events[0]["rttMs"].is_null());
        let times: Vec<&str> = events
            .iter()
            .map(|e| e["createdAt"].as_str().unwrap())
            .collect();
        let mut sorted = times.clone();
        sorted.sort_unstable();
        assert_eq!(times, sorted);
    }

    // Pages of four: 4 + 2, the second after the first's end cursor.
    let (first, info) = events_page(&bob, &room, Some(4), None).await;
    assert_eq!(first.len(), 4);
    assert_eq!(info["hasNextPage"], true);
    let cursor = info["endCursor"].as_str().unwrap().to_owned();
    let (second, info) = events_page(&bob, &room, Some(4), Some(&cursor)).await;
    assert_eq!(second.len(), 2);
    assert_eq!(info["hasNextPage"], false);
    let (all, _) = events_page(&ann, &room, None, None).await;
    let paged: Vec<Value> = first.into_iter().chain(second).collect();
    assert_eq!(paged, all);

    // A plain member sees the call, not the events.
    let body = cat.gql(EVENTS, json!({ "id": room })).await;
    assert_eq!(first_error(&body).0, "FORBIDDEN", "{body}");
    let data = cat
        .ok(
            "query($id: UUID!) { room(id: $id) { calls { edges { node { id } } } } }",
            json!({ "id": room }),
        )
        .await;
    assert_eq!(data["room"]["calls"]["edges"].as_array().unwrap().len(), 2);
    // An admin demoted is a plain member again.
    ann.ok(
        "mutation($r: UUID!, $u: UUID!) { setMemberRole(roomId: $r, userId: $u, role: MEMBER) { role } }",
        json!({ "r": room, "u": bob.id }),
    )
    .await;
    let body = bob.gql(EVENTS, json!({ "id": room })).await;
    assert_eq!(first_error(&body).0, "FORBIDDEN", "{body}");
}

/// `myRooms { calls { connectionEvents { user } } }` costs the same statements for one call
/// of one event per room as for three calls of up to three events each.
async fn connection_events_cost_a_fixed_number_of_statements(app: &TestApp) {
    const NESTED: &str = "{ myRooms(first: 5) { edges { node { id calls(first: 5) { edges { node { id participants { sessionId } connectionEvents(first: 5) { edges { node { event user { username } } } } } } } } } } }";
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let mut rooms = Vec::new();
    for i in 0..3 {
        rooms.push(ann.create_room(&format!("Room {i}"), &[&bob]).await);
    }
    let mut counts = Vec::new();
    for round in 0..2 {
        let calls_per_room = if round == 0 { 1 } else { 2 };
        for room in &rooms {
            for _ in 0..calls_per_room {
                let (anns, _) = join(&ann, room).await;
                log(&ann, &anns, "CONNECTED", None).await;
                if round == 1 {
                    let (bobs, _) = join(&bob, room).await;
                    log(&bob, &bobs, "CONNECTED", None).await;
                    log(&bob, &bobs, "QUALITY", Some(5.0)).await;
                    leave(&bob, &bobs).await;
                }
                leave(&ann, &anns).await;
            }
        }
        app.settle().await;
        ann.ok("{ me { id } }", json!({})).await;
        let before = app.statements();
        let data = ann.ok(NESTED, json!({})).await;
        counts.push(app.statements() - before);
        let edges = data["myRooms"]["edges"].as_array().unwrap();
        assert_eq!(edges.len(), 3);
        for edge in edges {
            let calls = edge["node"]["calls"]["edges"].as_array().unwrap();
            assert_eq!(calls.len(), if round == 0 { 1 } else { 3 }, "{data}");
            let events = calls[0]["node"]["connectionEvents"]["edges"]
                .as_array()
                .unwrap();
            assert_eq!(events.len(), if round == 0 { 1 } else { 3 }, "{data}");
        }
    }
    assert_eq!(
        counts[0], counts[1],
        "statements for 1 call of 1 event and 3 calls of up to 3 events per room: {counts:?}"
    );
}

async fn room_by_code_previews_without_joining(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let dan = app.user("dan").await;
    let created = ann
        .ok(
            CREATE,
            json!({ "input": { "name": "Voice lounge", "topic": "Fridays", "maxMembers": 5, "memberIds": [bob.id], "withJoinCode": true } }),
        )
        .await;
    let room = created["createRoom"]["id"].as_str().unwrap().to_owned();
    let code = created["createRoom"]["joinCode"]
        .as_str()
        .unwrap()
        .to_owned();

    // Read out loud and typed in: any case, spaces around.
    let typed = format!("  {}  ", code.to_lowercase());
    let preview = dan.ok(BY_CODE, json!({ "code": typed })).await["roomByCode"].clone();
    assert_eq!(
        preview,
        json!({ "id": room, "name": "Voice lounge", "topic": "Fridays", "memberCount": 2,
                "maxMembers": 5, "callLive": false, "participantCount": 0 })
    );
    let body = dan
        .gql(
            "query($id: UUID!) { room(id: $id) { id } }",
            json!({ "id": room }),
        )
        .await;
    assert!(
        body["data"]["room"].is_null(),
        "a preview does not join: {body}"
    );

    let (anns, _) = join(&ann, &room).await;
    join(&bob, &room).await;
    let preview = dan.ok(BY_CODE, json!({ "code": code })).await["roomByCode"].clone();
    assert_eq!(preview["callLive"], true);
    assert_eq!(preview["participantCount"], 2);
    leave(&ann, &anns).await;
    let preview = dan.ok(BY_CODE, json!({ "code": code })).await["roomByCode"].clone();
    assert_eq!(preview["participantCount"], 1);

    // After joining by the code, the member count says so.
    dan.ok(
        "mutation($c: String!) { joinRoom(code: $c) { id } }",
        json!({ "c": code }),
    )
    .await;
    let preview = ann.ok(BY_CODE, json!({ "code": code })).await["roomByCode"].clone();
    assert_eq!(preview["memberCount"], 3);

    // No room with that code, or not one to join: null. Not a code at all: BAD_USER_INPUT.
    let unknown = if code == "ABCDEF" { "ABCDEG" } else { "ABCDEF" };
    let body = dan.gql(BY_CODE, json!({ "code": unknown })).await;
    assert!(
        body["data"]["roomByCode"].is_null() && body["errors"].is_null(),
        "{body}"
    );
    for bad in ["", "ABC", "ABCDEFG", "ABCDE0", "ABC DE"] {
        let body = dan.gql(BY_CODE, json!({ "code": bad })).await;
        let (code, _, field) = first_error(&body);
        assert_eq!(
            (code.as_str(), field.as_deref()),
            ("BAD_USER_INPUT", Some("code")),
            "{bad:?}: {body}"
        );
    }
    let body = app.gql(None, BY_CODE, json!({ "code": code })).await;
    assert_eq!(first_error(&body).0, "UNAUTHENTICATED", "{body}");
    ann.ok(
        ARCHIVE,
        json!({ "input": { "roomId": room, "archived": true } }),
    )
    .await;
    let body = dan.gql(BY_CODE, json!({ "code": code })).await;
    assert!(body["data"]["roomByCode"].is_null(), "archived: {body}");
}

async fn room_by_code_limits_unknown_codes(app: &TestApp) {
    let ann = app.user("ann").await;
    let dan = app.user("dan").await;
    let eve = app.user("eve").await;
    let created = ann
        .ok(
            CREATE,
            json!({ "input": { "name": "Lounge", "memberIds": [], "withJoinCode": true } }),
        )
        .await;
    let code = created["createRoom"]["joinCode"]
        .as_str()
        .unwrap()
        .to_owned();

    // Known codes do not count: a client may show the preview again and again.
    for _ in 0..15 {
        let data = eve.ok(BY_CODE, json!({ "code": code })).await;
        assert_eq!(data["roomByCode"]["name"], "Lounge");
    }

    // Ten unknown codes a minute, then nothing, not even a known code.
    let guesses: Vec<String> = (0..11)
        .map(|i| {
            let letters = b"ABCDEFGHJK";
            let c = letters[i % letters.len()] as char;
            format!("{c}{c}{c}{c}{c}{}", if i < 10 { '2' } else { '3' })
        })
        .filter(|guess| *guess != code)
        .take(10)
        .collect();
    // Half of them previewed, half tried at `joinRoom`: the misses count together.
    for (n, guess) in guesses.iter().enumerate() {
        if n % 2 == 0 {
            let body = dan.gql(BY_CODE, json!({ "code": guess })).await;
            assert!(
                body["data"]["roomByCode"].is_null() && body["errors"].is_null(),
                "{body}"
            );
        } else {
            let body = dan.gql(JOIN_ROOM, json!({ "code": guess })).await;
            assert_eq!(first_error(&body).0, "NOT_FOUND", "{body}");
        }
    }
    let body = dan.gql(JOIN_ROOM, json!({ "code": code })).await;
    assert_eq!(first_error(&body).0, "RATE_LIMITED", "joinRoom too: {body}");
    for asked in ["ZZZZZZ", code.as_str()] {
        let body = dan.gql(BY_CODE, json!({ "code": asked })).await;
        assert_eq!(first_error(&body).0, "RATE_LIMITED", "{body}");
        let retry = body["errors"][0]["extensions"]["retryAfter"]
            .as_u64()
            .unwrap();
        assert!((1..=60).contains(&retry), "{body}");
    }
    // Per user: the others are not held up.
    let data = eve.ok(BY_CODE, json!({ "code": code })).await;
    assert_eq!(data["roomByCode"]["name"], "Lounge");
    let body = ann.gql(BY_CODE, json!({ "code": "ZZZZZZ" })).await;
    assert!(body["errors"].is_null(), "{body}");
}
