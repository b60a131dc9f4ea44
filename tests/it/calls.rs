//! Call sessions over HTTP: joining and leaving a room's call, several devices, members only,
//! capacity under concurrent joins, heartbeats and the liveness TTL, media state.

use std::time::{Duration, Instant};

use entity::{call_sessions, calls};
use futures_util::future::join_all;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::on_both_backends;
use crate::util::{TestApp, TestUser, first_error};

const JOIN: &str = "mutation($room: UUID!, $input: JoinCallInput) { joinCall(roomId: $room, input: $input) { sessionId iceServers { urls } call { id startedAt endedAt peakParticipants room { id } participants { sessionId user { username } muted cameraOff } } } }";
const LEAVE: &str = "mutation($s: UUID!) { leaveCall(sessionId: $s) }";
const HEARTBEAT: &str = "mutation($s: UUID!) { callHeartbeat(sessionId: $s) }";
const UPDATE: &str = "mutation($s: UUID!, $input: CallStateInput!) { updateCallState(sessionId: $s, input: $input) { sessionId muted cameraOff screenSharing handRaised speaking connection user { username } } }";
const ROOM_CALL: &str = "query($id: UUID!) { room(id: $id) { call { id endedAt peakParticipants participants { sessionId joinedAt muted cameraOff screenSharing handRaised speaking connection user { username } } } } }";
const CREATE: &str = "mutation($input: CreateRoomInput!) { createRoom(input: $input) { id } }";

on_both_backends!(
    join_and_leave,
    two_devices_are_two_sessions,
    members_only,
    concurrent_joins_respect_the_cap,
    sessions_are_their_owners,
    state_changes_show_in_participants,
    participants_cost_a_fixed_number_of_statements,
);

async fn join(user: &TestUser<'_>, room: &str) -> String {
    let data = user.ok(JOIN, json!({ "room": room })).await;
    data["joinCall"]["sessionId"].as_str().unwrap().to_owned()
}

async fn room_call(user: &TestUser<'_>, room: &str) -> Value {
    user.ok(ROOM_CALL, json!({ "id": room })).await["room"]["call"].clone()
}

fn usernames(call: &Value) -> Vec<String> {
    call["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["user"]["username"].as_str().unwrap().to_owned())
        .collect()
}

async fn join_and_leave(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let room = ann.create_room("Standup", &[&bob]).await;
    assert!(
        room_call(&ann, &room).await.is_null(),
        "no call before the first join"
    );

    let joined = ann
        .ok(JOIN, json!({ "room": room, "input": { "muted": true } }))
        .await;
    let first = &joined["joinCall"];
    let ann_session = first["sessionId"].as_str().unwrap().to_owned();
    let call_id = first["call"]["id"].as_str().unwrap().to_owned();
    assert_eq!(first["call"]["room"]["id"], room);
    assert!(first["call"]["endedAt"].is_null());
    assert_eq!(first["call"]["peakParticipants"], 1);
    assert_eq!(
        first["call"]["participants"],
        json!([{ "sessionId": ann_session, "user": { "username": "ann" }, "muted": true, "cameraOff": false }])
    );
    assert!(first["iceServers"].as_array().unwrap().is_empty());

    let bob_session = join(&bob, &room).await;
    let call = room_call(&bob, &room).await;
    assert_eq!(call["id"], call_id, "the second join joins the same call");
    assert_eq!(usernames(&call), ["ann", "bob"]);
    assert_eq!(call["peakParticipants"], 2);
    assert_eq!(call["participants"][1]["connection"], "CONNECTING");

    assert_eq!(
        ann.ok(LEAVE, json!({ "s": ann_session })).await["leaveCall"],
        true
    );
    assert_eq!(
        ann.ok(LEAVE, json!({ "s": ann_session })).await["leaveCall"],
        false,
        "leaving twice"
    );
    let call = room_call(&ann, &room).await;
    assert_eq!(usernames(&call), ["bob"]);
    assert_eq!(call["peakParticipants"], 2, "the peak stays");

    assert_eq!(
        bob.ok(LEAVE, json!({ "s": bob_session })).await["leaveCall"],
        true
    );
    assert!(
        room_call(&ann, &room).await.is_null(),
        "the last leave ends the call"
    );
    let ended = stored_call(app, &call_id).await;
    assert!(ended.ended_at.is_some());
    assert_eq!(ended.peak_participants, 2);
    let reasons = leave_reasons(app, &call_id).await;
    assert_eq!(reasons, ["left", "left"]);

    // The next join starts a new call.
    let again = ann.ok(JOIN, json!({ "room": room })).await;
    assert_ne!(again["joinCall"]["call"]["id"], call_id);
    assert_eq!(again["joinCall"]["call"]["peakParticipants"], 1);
}

async fn stored_call(app: &TestApp, call_id: &str) -> calls::Model {
    calls::Entity::find_by_id(Uuid::parse_str(call_id).unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
}

/// The leave reasons of a call's sessions in the order they joined; `-` for none yet.
async fn leave_reasons(app: &TestApp, call_id: &str) -> Vec<String> {
    call_sessions::Entity::find()
        .filter(call_sessions::Column::CallId.eq(Uuid::parse_str(call_id).unwrap()))
        .order_by_asc(call_sessions::Column::JoinedAt)
        .order_by_asc(call_sessions::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.leave_reason.unwrap_or_else(|| "-".to_owned()))
        .collect()
}

async fn two_devices_are_two_sessions(app: &TestApp) {
    let ann = app.user("ann").await;
    let room = ann.create_room("Phone and laptop", &[]).await;
    let phone = join(&ann, &room).await;
    let laptop = join(&ann, &room).await;
    assert_ne!(phone, laptop);
    let call = room_call(&ann, &room).await;
    assert_eq!(usernames(&call), ["ann", "ann"]);
    assert_eq!(call["peakParticipants"], 2);
    ann.ok(LEAVE, json!({ "s": phone })).await;
    let call = room_call(&ann, &room).await;
    assert_eq!(call["participants"][0]["sessionId"], laptop.as_str());
    ann.ok(LEAVE, json!({ "s": laptop })).await;
    assert!(room_call(&ann, &room).await.is_null());
}

async fn members_only(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let dan = app.user("dan").await;
    let room = ann.create_room("Private", &[&bob]).await;
    join(&ann, &room).await;

    let body = dan.gql(JOIN, json!({ "room": room })).await;
    assert_eq!(first_error(&body).0, "NOT_FOUND", "{body}");
    let body = dan.gql(ROOM_CALL, json!({ "id": room })).await;
    assert!(body["data"]["room"].is_null(), "{body}");
    let body = ann
        .gql(
            JOIN,
            json!({ "room": "01900000-0000-7000-8000-000000000009" }),
        )
        .await;
    assert_eq!(first_error(&body).0, "NOT_FOUND", "{body}");
    let body = app.gql(None, JOIN, json!({ "room": room })).await;
    assert_eq!(first_error(&body).0, "UNAUTHENTICATED", "{body}");

    // A former member is a stranger again.
    bob.ok(
        "mutation($r: UUID!) { leaveRoom(roomId: $r) }",
        json!({ "r": room }),
    )
    .await;
    let body = bob.gql(JOIN, json!({ "room": room })).await;
    assert_eq!(first_error(&body).0, "NOT_FOUND", "{body}");
    assert_eq!(usernames(&room_call(&ann, &room).await), ["ann"]);

    // An archived room is read-only: no new calls.
    ann.ok(
        "mutation($input: UpdateRoomInput!) { updateRoom(input: $input) { id } }",
        json!({ "input": { "roomId": room, "archived": true } }),
    )
    .await;
    let body = ann.gql(JOIN, json!({ "room": room })).await;
    assert_eq!(first_error(&body).0, "FORBIDDEN", "{body}");
}

async fn concurrent_joins_respect_the_cap(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let cat = app.user("cat").await;
    let created = ann
        .ok(
            CREATE,
            json!({ "input": { "name": "Cap", "maxMembers": 3, "memberIds": [bob.id, cat.id] } }),
        )
        .await;
    let room = created["createRoom"]["id"].as_str().unwrap().to_owned();
    // Eight devices of three members for three seats.
    let users = [&ann, &bob, &cat, &ann, &bob, &cat, &ann, &bob];
    let results = join_all(users.iter().map(|u| u.gql(JOIN, json!({ "room": room })))).await;
    let ok = results.iter().filter(|r| r.get("errors").is_none()).count();
    let full: Vec<_> = results
        .iter()
        .filter(|r| r.get("errors").is_some())
        .map(first_error)
        .collect();
    assert_eq!(ok, 3, "{results:?}");
    assert_eq!(full.len(), 5, "{results:?}");
    for (code, message, _) in &full {
        assert_eq!(
            (code.as_str(), message.as_str()),
            ("CONFLICT", "call is full")
        );
    }
    let call = room_call(&ann, &room).await;
    assert_eq!(call["participants"].as_array().unwrap().len(), 3);
    assert_eq!(call["peakParticipants"], 3);
    // A seat frees when someone leaves.
    let leaving = results
        .iter()
        .zip(users)
        .find(|(r, _)| r.get("errors").is_none())
        .map(|(r, u)| {
            (
                r["data"]["joinCall"]["sessionId"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                u,
            )
        })
        .unwrap();
    leaving.1.ok(LEAVE, json!({ "s": leaving.0 })).await;
    join(&cat, &room).await;
    let body = bob.gql(JOIN, json!({ "room": room })).await;
    assert_eq!(first_error(&body).1, "call is full", "{body}");
}

async fn sessions_are_their_owners(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let room = ann.create_room("Mine", &[&bob]).await;
    let session = join(&ann, &room).await;
    join(&bob, &room).await;
    for (query, vars) in [
        (HEARTBEAT, json!({ "s": session })),
        (UPDATE, json!({ "s": session, "input": { "muted": true } })),
        (LEAVE, json!({ "s": session })),
    ] {
        let body = bob.gql(query, vars).await;
        assert_eq!(first_error(&body).0, "FORBIDDEN", "{body}");
    }
    let call = room_call(&ann, &room).await;
    assert_eq!(call["participants"][0]["muted"], false);
    assert_eq!(
        ann.ok(HEARTBEAT, json!({ "s": session })).await["callHeartbeat"],
        true
    );
    let unknown = json!({ "s": "01900000-0000-7000-8000-000000000009" });
    let body = ann.gql(HEARTBEAT, unknown).await;
    assert_eq!(first_error(&body).0, "NOT_FOUND", "{body}");
    ann.ok(LEAVE, json!({ "s": session })).await;
    for (query, vars) in [
        (HEARTBEAT, json!({ "s": session })),
        (UPDATE, json!({ "s": session, "input": { "muted": true } })),
    ] {
        let body = ann.gql(query, vars).await;
        assert_eq!(first_error(&body).0, "NOT_FOUND", "after leaving: {body}");
    }
}

async fn state_changes_show_in_participants(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let room = ann.create_room("Stage", &[&bob]).await;
    let session = join(&ann, &room).await;
    join(&bob, &room).await;
    let updated = ann
        .ok(
            UPDATE,
            json!({ "s": session, "input": { "cameraOff": true, "handRaised": true, "connection": "CONNECTED" } }),
        )
        .await;
    assert_eq!(
        updated["updateCallState"],
        json!({ "sessionId": session, "muted": false, "cameraOff": true, "screenSharing": false,
                "handRaised": true, "speaking": false, "connection": "CONNECTED", "user": { "username": "ann" } })
    );
    ann.ok(
        UPDATE,
        json!({ "s": session, "input": { "screenSharing": true, "speaking": true, "muted": true, "connection": "RECONNECTING" } }),
    )
    .await;
    let seen = &room_call(&bob, &room).await["participants"][0];
    assert_eq!(seen["sessionId"], session.as_str());
    assert_eq!(
        (
            &seen["muted"],
            &seen["cameraOff"],
            &seen["screenSharing"],
            &seen["handRaised"],
            &seen["speaking"],
            &seen["connection"]
        ),
        (
            &json!(true),
            &json!(true),
            &json!(true),
            &json!(true),
            &json!(true),
            &json!("RECONNECTING")
        )
    );
    let body = ann
        .gql(
            UPDATE,
            json!({ "s": session, "input": { "connection": "LOST" } }),
        )
        .await;
    assert_eq!(first_error(&body).0, "BAD_USER_INPUT", "{body}");
}

/// `myRooms { call { participants { user } } }` costs the same statements for one participant
/// as for four in each of three rooms: the calls, sessions and users load in batches.
async fn participants_cost_a_fixed_number_of_statements(app: &TestApp) {
    const NESTED: &str = "{ myRooms(first: 10) { edges { node { id call { id peakParticipants participants { sessionId muted connection user { username } } } } } } }";
    let ann = app.user("ann").await;
    let mut others = Vec::new();
    for name in ["bob", "cat", "dan"] {
        others.push(app.user(name).await);
    }
    let members: Vec<&TestUser<'_>> = others.iter().collect();
    let mut rooms = Vec::new();
    for i in 0..3 {
        let room = ann.create_room(&format!("Room {i}"), &members).await;
        join(&ann, &room).await;
        rooms.push(room);
    }
    let mut counts = Vec::new();
    for round in 0..2 {
        if round == 1 {
            for room in &rooms {
                for other in &others {
                    join(other, room).await;
                }
            }
        }
        app.settle().await;
        ann.ok("{ me { id } }", json!({})).await;
        let before = app.statements();
        let data = ann.ok(NESTED, json!({})).await;
        counts.push(app.statements() - before);
        let edges = data["myRooms"]["edges"].as_array().unwrap();
        assert_eq!(edges.len(), 3);
        let expected = if round == 0 { 1 } else { 4 };
        for edge in edges {
            let participants = edge["node"]["call"]["participants"].as_array().unwrap();
            assert_eq!(participants.len(), expected, "{data}");
        }
    }
    assert_eq!(
        counts[0], counts[1],
        "statements for 1 and for 4 participants: {counts:?}"
    );
}

/// Liveness, with a 1-second TTL: a session that stops heartbeating leaves with reason
/// `timeout` while one that heartbeats stays; once nobody is left the call ends.
mod liveness {
    use super::*;

    #[actix_web::test]
    async fn sqlite() {
        let app = TestApp::sqlite_with(|c| c.calls.call_session_ttl_secs = 1).await;
        silent_sessions_time_out(&app).await;
        app.stop().await;
    }

    #[actix_web::test]
    async fn postgres() {
        if let Some(app) = TestApp::postgres_with(|c| c.calls.call_session_ttl_secs = 1).await {
            silent_sessions_time_out(&app).await;
            app.stop().await;
        }
    }
}

/// The background sweep every server state runs (`workers::call_liveness`, every eighth of the
/// TTL), on its own: with nobody reading the call, the silent session leaves and the call ends.
mod sweep {
    use super::*;

    #[actix_web::test]
    async fn sqlite() {
        let app = TestApp::sqlite_with(|c| c.calls.call_session_ttl_secs = 1).await;
        the_sweep_ends_silent_calls(&app).await;
        app.stop().await;
    }

    #[actix_web::test]
    async fn postgres() {
        if let Some(app) = TestApp::postgres_with(|c| c.calls.call_session_ttl_secs = 1).await {
            the_sweep_ends_silent_calls(&app).await;
            app.stop().await;
        }
    }
}

async fn the_sweep_ends_silent_calls(app: &TestApp) {
    let ann = app.user("ann").await;
    let room = ann.create_room("Quiet", &[]).await;
    let data = ann.ok(JOIN, json!({ "room": room })).await;
    let call_id = data["joinCall"]["call"]["id"].as_str().unwrap().to_owned();
    // Only the database is read here: nothing but the background sweep can end the call.
    poll("the sweep to end the call", || async {
        stored_call(app, &call_id)
            .await
            .ended_at
            .is_some()
            .then_some(Value::Null)
    })
    .await;
    assert_eq!(leave_reasons(app, &call_id).await, ["timeout"]);
    assert!(room_call(&ann, &room).await.is_null());
}

/// Polls `done` (each round after `each`) until it holds; fails after 15 s.
async fn poll<F, Fut>(what: &str, mut each: F) -> Value
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<Value>>,
{
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(value) = each().await {
            return value;
        }
        assert!(Instant::now() < deadline, "waited in vain for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn silent_sessions_time_out(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let room = ann.create_room("Flaky", &[&bob]).await;
    let started = Instant::now();
    let silent = join(&ann, &room).await;
    let alive = join(&bob, &room).await;
    let call = poll("the silent session to time out", || async {
        bob.ok(HEARTBEAT, json!({ "s": alive })).await;
        let call = room_call(&bob, &room).await;
        (usernames(&call) == ["bob"]).then_some(call)
    })
    .await;
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "timed out before the TTL"
    );
    let call_id = call["id"].as_str().unwrap().to_owned();
    assert_eq!(leave_reasons(app, &call_id).await, ["timeout", "-"]);
    let body = ann.gql(HEARTBEAT, json!({ "s": silent })).await;
    assert_eq!(
        first_error(&body).0,
        "NOT_FOUND",
        "a timed-out session: {body}"
    );

    // Now bob falls silent too: the call ends.
    poll("the call to end", || async {
        room_call(&ann, &room)
            .await
            .is_null()
            .then_some(Value::Null)
    })
    .await;
    assert_eq!(leave_reasons(app, &call_id).await, ["timeout", "timeout"]);
    assert!(stored_call(app, &call_id).await.ended_at.is_some());
}
