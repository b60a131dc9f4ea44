//! `callEvents` and `sendSignal` over the real WebSocket and HTTP: participants joining,
//! leaving and changing state reach the room's call subscribers; a subscription starts with
//! who is already in; signals reach only the addressed session; a subscription naming its
//! session holds it (no heartbeat needed) and lets it go when its socket closes; members
//! removed from the room leave its call; and across two processes through Redis, a session
//! whose process died leaves within the TTL.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use confab::realtime::Topic;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::util::{ServerProcess, TestApp, TestDatabase, TestUser, first_error, redis_url};
use crate::wsclient::{Got, TRANSPORT, Ws};

const JOIN: &str = "mutation($room: UUID!) { joinCall(roomId: $room) { sessionId call { id } } }";
const LEAVE: &str = "mutation($s: UUID!) { leaveCall(sessionId: $s) }";
const UPDATE: &str = "mutation($s: UUID!, $input: CallStateInput!) { updateCallState(sessionId: $s, input: $input) { sessionId } }";
const SIGNAL: &str = "mutation($input: SignalInput!) { sendSignal(input: $input) }";
const REMOVE: &str =
    "mutation($room: UUID!, $user: UUID!) { removeMember(roomId: $room, userId: $user) }";
const EVENTS: &str =
    "subscription($room: UUID!, $s: UUID) { callEvents(roomId: $room, sessionId: $s) { __typename
  ... on ParticipantJoined { participant { sessionId user { username } muted } }
  ... on ParticipantLeft { participant { sessionId user { username } } reason }
  ... on ParticipantUpdated { participant { sessionId muted handRaised connection } }
  ... on CallEnded { call { id endedAt peakParticipants } }
  ... on Signal { fromSessionId kind payload } } }";

on_both_backends!(
    participants_come_and_go,
    a_subscription_starts_with_who_is_in,
    signals_reach_only_the_addressed_session,
    signals_are_checked,
    closing_the_socket_leaves_the_call,
    removed_members_leave_the_call,
    limits_hold,
);

async fn join(user: &TestUser<'_>, room: &str) -> (String, String) {
    let data = user.ok(JOIN, json!({ "room": room })).await;
    (
        data["joinCall"]["sessionId"].as_str().unwrap().to_owned(),
        data["joinCall"]["call"]["id"].as_str().unwrap().to_owned(),
    )
}

/// A socket following a call as operation "c", as a client does: a `ParticipantJoined` of a
/// session it already knows (the snapshot and a live join may overlap) is skipped.
struct Follower {
    ws: Ws,
    known: HashSet<String>,
}

impl Follower {
    fn new(ws: Ws) -> Self {
        Self {
            ws,
            known: HashSet::new(),
        }
    }
}

/// A socket signed in as `user`, following `room`'s call (holding `session` if given),
/// registered on the server before this returns.
async fn follow(app: &TestApp, user: &TestUser<'_>, room: &str, session: Option<&str>) -> Follower {
    let topic = Topic::Call(room.parse().unwrap());
    let before = app.subscribers(topic);
    let mut ws = Ws::ready(app, TRANSPORT, &user.token).await;
    ws.subscribe("c", EVENTS, json!({ "room": room, "s": session }))
        .await;
    app.wait_for_subscribers(topic, before + 1).await;
    Follower::new(ws)
}

/// The next call event `follower` has not seen.
async fn event(follower: &mut Follower) -> Value {
    loop {
        let payload = follower.ws.next("c").await;
        assert!(payload.get("errors").is_none(), "{payload}");
        let event = payload["data"]["callEvents"].clone();
        if event["__typename"] == "ParticipantJoined" {
            let session = event["participant"]["sessionId"]
                .as_str()
                .unwrap()
                .to_owned();
            if !follower.known.insert(session) {
                continue;
            }
        }
        return event;
    }
}

async fn participants_come_and_go(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let room = ann.create_room("Huddle", &[&bob]).await;
    let mut ws = follow(app, &ann, &room, None).await;

    let (session, call) = join(&bob, &room).await;
    let joined = event(&mut ws).await;
    assert_eq!(joined["__typename"], "ParticipantJoined");
    assert_eq!(joined["participant"]["sessionId"], session);
    assert_eq!(joined["participant"]["user"]["username"], "bob");

    bob.ok(
        UPDATE,
        json!({ "s": session, "input": { "muted": true, "handRaised": true, "connection": "CONNECTED" } }),
    )
    .await;
    let updated = event(&mut ws).await;
    assert_eq!(updated["__typename"], "ParticipantUpdated");
    assert_eq!(
        updated["participant"],
        json!({ "sessionId": session, "muted": true, "handRaised": true, "connection": "CONNECTED" })
    );

    bob.ok(LEAVE, json!({ "s": session })).await;
    let left = event(&mut ws).await;
    assert_eq!(left["__typename"], "ParticipantLeft");
    assert_eq!(left["participant"]["sessionId"], session);
    assert_eq!(left["reason"], "LEFT");
    let ended = event(&mut ws).await;
    assert_eq!(ended["__typename"], "CallEnded");
    assert_eq!(ended["call"]["id"], call);
    assert!(ended["call"]["endedAt"].is_string());
    assert_eq!(ended["call"]["peakParticipants"], 1);

    // The subscription outlives the call: the next join starts the next one.
    let (again, _) = join(&bob, &room).await;
    let joined = event(&mut ws).await;
    assert_eq!(joined["participant"]["sessionId"], again);
}

async fn a_subscription_starts_with_who_is_in(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let cat = app.user("cat").await;
    let room = ann.create_room("Late", &[&bob, &cat]).await;
    let (ann_session, _) = join(&ann, &room).await;
    let (bob_session, _) = join(&bob, &room).await;

    let mut ws = follow(app, &cat, &room, None).await;
    let first = event(&mut ws).await;
    let second = event(&mut ws).await;
    assert_eq!(first["__typename"], "ParticipantJoined");
    assert_eq!(first["participant"]["sessionId"], ann_session);
    assert_eq!(second["participant"]["sessionId"], bob_session);
    assert_eq!(second["participant"]["user"]["username"], "bob");

    // Outsiders may not follow the call; nobody may hold another's session.
    let eve = app.user("eve").await;
    let mut outsider = Ws::ready(app, TRANSPORT, &eve.token).await;
    outsider
        .subscribe("c", EVENTS, json!({ "room": room }))
        .await;
    assert_eq!(error_code(&mut outsider).await, "NOT_FOUND");
    let mut thief = Ws::ready(app, TRANSPORT, &cat.token).await;
    thief
        .subscribe("c", EVENTS, json!({ "room": room, "s": bob_session }))
        .await;
    assert_eq!(error_code(&mut thief).await, "FORBIDDEN");
}

/// The code of the error that ended operation "c".
async fn error_code(ws: &mut Ws) -> String {
    match ws.recv().await {
        Got::Message(m) if m["type"] == "error" => m["payload"][0]["extensions"]["code"]
            .as_str()
            .unwrap()
            .to_owned(),
        Got::Message(m) if m["type"] == "next" => m["payload"]["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap()
            .to_owned(),
        other => panic!("expected an error, got {other:?}"),
    }
}

fn signal(from: &str, to: &str, kind: &str, payload: Value) -> Value {
    json!({ "input": { "fromSessionId": from, "toSessionId": to, "kind": kind, "payload": payload } })
}

/// The next signal on `ws`, skipping participant events.
async fn next_signal(ws: &mut Follower) -> Value {
    loop {
        let event = event(ws).await;
        if event["__typename"] == "Signal" {
            return event;
        }
    }
}

async fn signals_reach_only_the_addressed_session(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let room = ann.create_room("Mesh", &[&bob]).await;
    let (ann_session, _) = join(&ann, &room).await;
    // Bob on two devices: two sessions, each following with its own.
    let (phone, _) = join(&bob, &room).await;
    let (laptop, _) = join(&bob, &room).await;
    let mut on_phone = follow(app, &bob, &room, Some(&phone)).await;
    let mut on_laptop = follow(app, &bob, &room, Some(&laptop)).await;
    for session in [&phone, &laptop] {
        app.wait_for_subscribers(Topic::CallSession(session.parse().unwrap()), 1)
            .await;
    }

    let offer = json!({ "type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n" });
    assert_eq!(
        ann.ok(SIGNAL, signal(&ann_session, &phone, "OFFER", offer.clone()))
            .await["sendSignal"],
        true
    );
    let candidate = json!({ "candidate": "candidate:1 1 udp 2122260223 10.0.0.1 54321 typ host", "sdpMid": "0" });
    ann.ok(
        SIGNAL,
        signal(&ann_session, &laptop, "ICE_CANDIDATE", candidate.clone()),
    )
    .await;

    let got = next_signal(&mut on_phone).await;
    assert_eq!(
        got,
        json!({ "__typename": "Signal", "fromSessionId": ann_session, "kind": "OFFER", "payload": offer })
    );
    // The laptop's first signal is the one sent after the phone's: the offer never reached it.
    let got = next_signal(&mut on_laptop).await;
    assert_eq!(got["kind"], "ICE_CANDIDATE");
    assert_eq!(got["payload"], candidate);

    // And back: the phone answers ann, who follows with her session.
    let mut on_ann = follow(app, &ann, &room, Some(&ann_session)).await;
    app.wait_for_subscribers(Topic::CallSession(ann_session.parse().unwrap()), 1)
        .await;
    let answer = json!({ "type": "answer", "sdp": "v=0\r\n" });
    bob.ok(
        SIGNAL,
        signal(&phone, &ann_session, "ANSWER", answer.clone()),
    )
    .await;
    let got = next_signal(&mut on_ann).await;
    assert_eq!(got["fromSessionId"], phone);
    assert_eq!(got["payload"], answer);
    // Nothing more reached the phone or the laptop.
    bob.ok(SIGNAL, signal(&laptop, &phone, "BYE", json!({})))
        .await;
    let got = next_signal(&mut on_phone).await;
    assert_eq!(
        (got["kind"].as_str(), got["fromSessionId"].as_str()),
        (Some("BYE"), Some(laptop.as_str()))
    );
}

async fn signals_are_checked(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let cat = app.user("cat").await;
    let room = ann.create_room("Checked", &[&bob, &cat]).await;
    let other = ann.create_room("Elsewhere", &[&cat]).await;
    let (ann_session, _) = join(&ann, &room).await;
    let (bob_session, _) = join(&bob, &room).await;
    let (cat_elsewhere, _) = join(&cat, &other).await;

    let code = |body: Value| first_error(&body).0;
    // From somebody else's session.
    let body = cat
        .gql(
            SIGNAL,
            signal(&bob_session, &ann_session, "OFFER", json!({})),
        )
        .await;
    assert_eq!(code(body), "FORBIDDEN");
    // To a session of another call.
    let body = ann
        .gql(
            SIGNAL,
            signal(&ann_session, &cat_elsewhere, "OFFER", json!({})),
        )
        .await;
    assert_eq!(code(body), "NOT_FOUND");
    // To oneself.
    let body = ann
        .gql(
            SIGNAL,
            signal(&ann_session, &ann_session, "OFFER", json!({})),
        )
        .await;
    assert_eq!(code(body), "BAD_USER_INPUT");
    // Too big: 64 KiB of JSON at most.
    let big = json!({ "sdp": "a".repeat(64 * 1024) });
    let body = ann
        .gql(SIGNAL, signal(&ann_session, &bob_session, "OFFER", big))
        .await;
    assert_eq!(code(body), "BAD_USER_INPUT");
    // From a session that left, or to one.
    ann.ok(LEAVE, json!({ "s": ann_session })).await;
    let body = ann
        .gql(SIGNAL, signal(&ann_session, &bob_session, "BYE", json!({})))
        .await;
    assert_eq!(code(body), "NOT_FOUND");
    let body = bob
        .gql(SIGNAL, signal(&bob_session, &ann_session, "BYE", json!({})))
        .await;
    assert_eq!(code(body), "NOT_FOUND");
    // An unknown kind is a validation error, before any of this.
    let body = bob
        .gql(
            SIGNAL,
            signal(&bob_session, &ann_session, "SHOUT", json!({})),
        )
        .await;
    assert!(body["errors"].is_array(), "{body}");
}

async fn closing_the_socket_leaves_the_call(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let room = ann.create_room("Dropped", &[&bob]).await;
    let (ann_session, _) = join(&ann, &room).await;
    let (bob_session, _) = join(&bob, &room).await;
    let mut watching = follow(app, &ann, &room, Some(&ann_session)).await;
    for _ in 0..2 {
        assert_eq!(
            event(&mut watching).await["__typename"],
            "ParticipantJoined"
        );
    }
    let bobs = follow(app, &bob, &room, Some(&bob_session)).await;
    drop(bobs);

    let left = event(&mut watching).await;
    assert_eq!(left["__typename"], "ParticipantLeft");
    assert_eq!(left["participant"]["sessionId"], bob_session);
    assert_eq!(left["reason"], "DISCONNECTED");
}

async fn removed_members_leave_the_call(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let room = ann.create_room("Strict", &[&bob]).await;
    let (bob_session, call) = join(&bob, &room).await;
    let mut watching = follow(app, &ann, &room, None).await;
    assert_eq!(
        event(&mut watching).await["__typename"],
        "ParticipantJoined"
    );
    let mut bobs = follow(app, &bob, &room, Some(&bob_session)).await;
    assert_eq!(event(&mut bobs).await["__typename"], "ParticipantJoined");

    ann.ok(REMOVE, json!({ "room": room, "user": bob.id }))
        .await;
    let left = event(&mut watching).await;
    assert_eq!(left["participant"]["sessionId"], bob_session);
    assert_eq!(left["reason"], "REMOVED");
    let ended = event(&mut watching).await;
    assert_eq!(ended["call"]["id"], call);
    // Bob's subscription ends: he is out of the room.
    loop {
        match bobs.ws.recv().await {
            Got::Message(m) if m["type"] == "complete" => break,
            Got::Message(m) if m["type"] == "next" => continue,
            other => panic!("expected bob's subscription to complete, got {other:?}"),
        }
    }
}

/// At most 100 signals a second per sending session, and 8 live sessions per user.
async fn limits_hold(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let room = ann.create_room("Busy", &[&bob]).await;
    let (ann_session, _) = join(&ann, &room).await;
    let (bob_session, _) = join(&bob, &room).await;
    // 300 at once: whichever second windows they fall in, one holds more than 100.
    let sends = (0..300).map(|n| {
        ann.gql(
            SIGNAL,
            signal(
                &ann_session,
                &bob_session,
                "ICE_CANDIDATE",
                json!({ "n": n }),
            ),
        )
    });
    let answers = futures_util::future::join_all(sends).await;
    let limited = answers
        .iter()
        .filter(|body| first_error_code(body) == Some("RATE_LIMITED"))
        .count();
    let delivered = answers
        .iter()
        .filter(|body| body["data"]["sendSignal"] == true)
        .count();
    assert!(limited > 0, "no signal was rate limited");
    assert_eq!(limited + delivered, 300, "only successes and RATE_LIMITED");
    assert!(delivered >= 100, "the limit let {delivered} through");

    // Bob has one session; seven more make eight, the ninth is refused.
    let mut sessions = vec![bob_session];
    for _ in 0..7 {
        sessions.push(join(&bob, &room).await.0);
    }
    let body = bob.gql(JOIN, json!({ "room": room })).await;
    assert_eq!(first_error(&body).0, "CONFLICT", "{body}");
    bob.ok(LEAVE, json!({ "s": sessions[0] })).await;
    join(&bob, &room).await;
}

fn first_error_code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

/// With a 1-second TTL: the session a subscription holds stays without heartbeats, while a
/// session nobody holds or heartbeats times out, and its followers hear it.
mod held {
    use super::*;

    #[actix_web::test]
    async fn sqlite() {
        let app = TestApp::sqlite_with(|c| c.calls.call_session_ttl_secs = 1).await;
        a_held_session_needs_no_heartbeat(&app).await;
        app.stop().await;
    }

    #[actix_web::test]
    async fn postgres() {
        if let Some(app) = TestApp::postgres_with(|c| c.calls.call_session_ttl_secs = 1).await {
            a_held_session_needs_no_heartbeat(&app).await;
            app.stop().await;
        }
    }
}

async fn a_held_session_needs_no_heartbeat(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let room = ann.create_room("Held", &[&bob]).await;
    let (held, _) = join(&ann, &room).await;
    let started = Instant::now();
    let (silent, _) = join(&bob, &room).await;
    let mut ws = follow(app, &ann, &room, Some(&held)).await;
    let mut seen = Vec::new();
    let left = loop {
        let event = event(&mut ws).await;
        if event["__typename"] == "ParticipantLeft" {
            break event;
        }
        seen.push(event["participant"]["sessionId"].clone());
    };
    assert_eq!(seen, [json!(held), json!(silent)]);
    assert_eq!(left["participant"]["sessionId"], silent);
    assert_eq!(left["reason"], "TIMEOUT");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "before the TTL"
    );
    // Two TTLs on, the held session is still in, with no heartbeat sent.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let data = ann
        .ok(
            "query($id: UUID!) { room(id: $id) { call { participants { sessionId } } } }",
            json!({ "id": room }),
        )
        .await;
    assert_eq!(
        data["room"]["call"]["participants"],
        json!([{ "sessionId": held }])
    );
}

/// Two server processes on one PostgreSQL and Redis, with a 2-second TTL: a signal sent
/// through B reaches the session held on A; when A dies, B's followers hear its session
/// leave within about the TTL.
#[actix_web::test]
async fn across_processes_signals_travel_and_dead_processes_let_go() {
    let Some(redis) = redis_url() else { return };
    let Some((_database, url)) = TestDatabase::postgres_migrated().await else {
        return;
    };
    let env = [
        ("CONFAB_DATABASE_URL", url.as_str()),
        ("CONFAB_REDIS_URL", redis.as_str()),
        ("CONFAB_CALL_SESSION_TTL", "2"),
    ];
    let mut a = ServerProcess::start(&env).await;
    let b = ServerProcess::start(&env).await;
    let (on_a, on_b) = (TestApp::remote(&a.base), TestApp::remote(&b.base));
    let (ann, _) = on_b.register("ann").await;
    let (bob, bob_id) = on_a.register("bob").await;
    let room = on_b.create_room(&ann, "Across", &[&bob_id]).await;
    let bob_session = join_on(&on_a, &bob, &room).await;
    let ann_session = join_on(&on_b, &ann, &room).await;

    let mut bobs = Ws::connect_to(&a.base, TRANSPORT, Some(&bob)).await;
    assert!(matches!(bobs.recv().await, Got::Message(m) if m["type"] == "connection_ack"));
    let mut bobs = Follower::new(bobs);
    bobs.ws
        .subscribe("c", EVENTS, json!({ "room": room, "s": bob_session }))
        .await;
    on_a.wait_for_metric(r#"confab_broker_subscribers{topic="call_session"}"#, 1.0)
        .await;
    let mut anns = Ws::connect_to(&b.base, TRANSPORT, Some(&ann)).await;
    assert!(matches!(anns.recv().await, Got::Message(m) if m["type"] == "connection_ack"));
    let mut anns = Follower::new(anns);
    anns.ws
        .subscribe("c", EVENTS, json!({ "room": room, "s": ann_session }))
        .await;
    on_b.wait_for_metric(r#"confab_broker_subscribers{topic="call_session"}"#, 1.0)
        .await;

    // Sent through B, delivered by A to the one session addressed.
    let offer = json!({ "type": "offer", "sdp": "v=0\r\n" });
    on_b.ok(
        Some(&ann),
        SIGNAL,
        signal(&ann_session, &bob_session, "OFFER", offer.clone()),
    )
    .await;
    let got = next_signal(&mut bobs).await;
    assert_eq!(got["fromSessionId"], ann_session);
    assert_eq!(got["payload"], offer);

    // Held by its subscription on A, bob's session outlives the TTL without heartbeats.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for _ in 0..2 {
        assert_eq!(event(&mut anns).await["__typename"], "ParticipantJoined");
    }
    // A dies without a word: nothing leaves the call for it, the TTL does.
    a.child.kill().expect("kill A");
    a.child.wait().expect("reap A");
    let killed = Instant::now();
    let left = event_within(&mut anns, Duration::from_secs(10)).await;
    assert_eq!(left["__typename"], "ParticipantLeft", "{left}");
    assert_eq!(left["participant"]["sessionId"], bob_session);
    assert_eq!(left["reason"], "TIMEOUT");
    let took = killed.elapsed();
    // Refreshed every TTL/8 while A lived, swept every TTL/8 by B: gone within 1 1/8 TTL.
    assert!(took <= Duration::from_millis(2_500), "took {took:?}");
}

async fn join_on(app: &TestApp, token: &str, room: &str) -> String {
    let data = app.ok(Some(token), JOIN, json!({ "room": room })).await;
    data["joinCall"]["sessionId"].as_str().unwrap().to_owned()
}

async fn event_within(follower: &mut Follower, limit: Duration) -> Value {
    match follower.ws.recv_within(limit).await {
        Got::Message(m) if m["type"] == "next" => m["payload"]["data"]["callEvents"].clone(),
        other => panic!("expected a call event, got {other:?}"),
    }
}
