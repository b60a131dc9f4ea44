//! Events between instances travel in a versioned envelope of wire structs: an instance skips
//! (and counts) what it cannot read, accepts fields it does not know, and keeps its Redis
//! subscription through all of it; secrets never reach the wire.

use chrono::{DateTime, FixedOffset};
use confab::realtime::wire::{Envelope, WIRE_VERSION};
use confab::realtime::{Event, Topic};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::util::{ServerProcess, TestApp, TestDatabase, redis_url};
use crate::wsclient::{Got, TRANSPORT, Ws};

const ROOM_EVENTS: &str = "subscription($room: UUID!) { roomEvents(roomId: $room) { __typename ... on MessageAdded { message { body sender { username } } } } }";
const SKIPPED_VERSION: &str = r#"confab_events_skipped_total{reason="version"}"#;
const SKIPPED_DECODE: &str = r#"confab_events_skipped_total{reason="decode"}"#;

/// A version-1 `MessageAdded` envelope for `room`, written out by hand: this is the format
/// other instances (of this release and the next) read, so a change to it shows here.
fn message_added(v: u32, room: &str, sender: &str, body: &str) -> Value {
    json!({
        "v": v,
        "topic": { "Room": room },
        "published_at_us": 0,
        "event": {
            "type": "MessageAdded",
            "message": {
                "id": Uuid::now_v7(),
                "room_id": room,
                "sender_id": sender,
                "kind": "text",
                "body": body,
                "ciphertext": null,
                "epoch": null,
                "reply_to_id": null,
                "metadata": null,
                "created_at": "2026-01-02T03:04:05Z",
                "edited_at": null,
                "deleted_at": null,
                "reacted": false,
            },
            "sender": {
                "id": sender,
                "username": "ann",
                "email": "ann@example.com",
                "display_name": "Ann",
                "role": "user",
                "status": "online",
                "last_seen_at": null,
                "email_verified_at": null,
                "totp_enabled_at": null,
                "avatar_blob_id": null,
                "created_at": "2026-01-02T03:04:05Z",
                "updated_at": "2026-01-02T03:04:05Z",
                "deleted_at": null,
            },
        },
    })
}

#[actix_web::test]
async fn unknown_versions_and_garbage_are_skipped_and_counted_extra_fields_accepted() {
    let Some(redis) = redis_url() else { return };
    // A process of its own, so that its /metrics counts only its own subscriber.
    let (_database, url) = TestDatabase::sqlite_migrated().await;
    let server = ServerProcess::start(&[
        ("CONFAB_DATABASE_URL", url.as_str()),
        ("CONFAB_REDIS_URL", redis.as_str()),
    ])
    .await;
    let app = TestApp::remote(&server.base);
    let (ann, ann_id) = app.register("ann").await;
    let room = app.create_room(&ann, "wire", &[]).await;

    let mut ready = String::new();
    for _ in 0..100 {
        ready = app.get("/readyz").await.1;
        if ready.contains("\"redis\":\"ok\"") {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(ready.contains("\"redis\":\"ok\""), "{ready}");
    let mut ws = Ws::connect_to(&server.base, TRANSPORT, Some(&ann)).await;
    assert!(matches!(ws.recv().await, Got::Message(m) if m["type"] == "connection_ack"));
    ws.subscribe("1", ROOM_EVENTS, json!({ "room": room }))
        .await;
    app.wait_for_metric(r#"confab_broker_subscribers{topic="room"}"#, 1.0)
        .await;
    // Listed from the start (at zero here), before anything was skipped.
    let version_before = app.metric(SKIPPED_VERSION).await.expect(SKIPPED_VERSION);
    let decode_before = app.metric(SKIPPED_DECODE).await.expect(SKIPPED_DECODE);

    let client = redis::Client::open(redis.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let channel = format!("confab:room:{room}");
    // (a) A release from the future: delivered, it would show up as the first event.
    let future = message_added(999, &room, &ann_id, "from version 999");
    // (b) This version, with fields this build does not know at every level.
    let mut extra = message_added(WIRE_VERSION, &room, &ann_id, "with extra fields");
    extra["trace"] = json!("abc");
    extra["event"]["priority"] = json!(3);
    extra["event"]["message"]["thread_id"] = json!(Uuid::now_v7());
    extra["event"]["sender"]["pronouns"] = json!("she/her");
    // (c) Not JSON; (d) an event type this build does not know.
    let garbage = "{\"v\": 1, \"topic\": ".to_owned();
    let unknown =
        json!({ "v": WIRE_VERSION, "topic": { "Room": room }, "event": { "type": "Teleported" } });
    for payload in [
        future.to_string(),
        extra.to_string(),
        garbage,
        unknown.to_string(),
    ] {
        let _: i64 = redis::cmd("PUBLISH")
            .arg(&channel)
            .arg(payload)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    app.send(&ann, &room, "through the api").await;

    let got = ws.next("1").await;
    assert_eq!(
        got["data"]["roomEvents"]["message"]["body"], "with extra fields",
        "{got}"
    );
    assert_eq!(
        got["data"]["roomEvents"]["message"]["sender"]["username"], "ann",
        "{got}"
    );
    let got = ws.next("1").await;
    assert_eq!(
        got["data"]["roomEvents"]["message"]["body"], "through the api",
        "{got}"
    );
    // Everything published before the API write was read before its event was delivered.
    assert_eq!(
        app.metric(SKIPPED_VERSION).await,
        Some(version_before + 1.0)
    );
    assert_eq!(app.metric(SKIPPED_DECODE).await, Some(decode_before + 2.0));
    assert!(
        matches!(
            ws.recv_within(std::time::Duration::from_millis(300)).await,
            Got::Nothing
        ),
        "nothing else was deliverable"
    );
}

fn at(text: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(text).unwrap()
}

/// What a service publishes comes back from the wire whole, less the user's secrets, which
/// are not in the JSON at all.
#[test]
fn events_cross_the_wire_without_secrets() {
    let user = entity::users::Model {
        id: Uuid::now_v7(),
        username: "ann".to_owned(),
        email: "ann@example.com".to_owned(),
        display_name: "Ann".to_owned(),
        password_hash: "$argon2id$SECRET-HASH".to_owned(),
        role: "user".to_owned(),
        status: "online".to_owned(),
        last_seen_at: Some(at("2026-01-02T03:04:05+02:00")),
        email_verified_at: None,
        totp_secret: Some("SECRET-TOTP".to_owned()),
        totp_enabled_at: Some(at("2026-01-01T00:00:00Z")),
        avatar_blob_id: Some("blob".to_owned()),
        created_at: at("2026-01-01T00:00:00Z"),
        updated_at: at("2026-01-01T00:00:00Z"),
        deleted_at: None,
        totp_last_step: Some(123_456_789),
        banned_at: None,
        banned_until: None,
        ban_reason: Some("SECRET-BAN-REASON".to_owned()),
    };
    let message = entity::messages::Model {
        id: Uuid::now_v7(),
        room_id: Uuid::now_v7(),
        sender_id: Some(user.id),
        kind: "mls".to_owned(),
        body: None,
        ciphertext: Some(vec![0, 1, 2, 254, 255]),
        epoch: Some(7),
        reply_to_id: None,
        metadata: Some(json!({ "k": [1, 2] })),
        created_at: at("2026-01-02T03:04:05.123456+00:00"),
        edited_at: None,
        deleted_at: None,
        reacted: true,
        seq: 9,
    };
    let event = Event::MessageAdded {
        message: message.clone(),
        sender: Some(std::sync::Arc::new(user.clone())),
    };
    let topic = Topic::Room(message.room_id);
    let text = serde_json::to_string(&Envelope::new(topic, &event, 42)).unwrap();
    for secret in ["SECRET", "password_hash", "totp_secret", "totp_last_step"] {
        assert!(!text.contains(secret), "{secret} on the wire: {text}");
    }
    let back = Envelope::decode(text.as_bytes()).unwrap();
    assert_eq!((back.v, back.topic, back.published_at_us), (1, topic, 42));
    let Event::MessageAdded {
        message: got,
        sender: Some(sender),
    } = Event::from(back.event)
    else {
        panic!("another event came back");
    };
    assert_eq!(got, message);
    assert_eq!(*sender, confab::realtime::public_user(user));
}

/// `UnreadChanged` gained the room's newest message: an envelope of the release before
/// (without it) still reads, as no message, and one with it comes back whole.
#[test]
fn unread_changed_reads_with_and_without_its_message() {
    let room = Uuid::now_v7();
    let user = Uuid::now_v7();
    let old = json!({
        "v": 1,
        "topic": { "User": user },
        "event": { "type": "UnreadChanged", "room_id": room, "unread_count": 3 },
    });
    let back = Envelope::decode(old.to_string().as_bytes()).unwrap();
    let Event::UnreadChanged {
        room_id,
        unread_count,
        last_message: None,
        last_sender: None,
    } = Event::from(back.event)
    else {
        panic!("another event came back");
    };
    assert_eq!((room_id, unread_count), (room, 3));

    let message = entity::messages::Model {
        id: Uuid::now_v7(),
        room_id: room,
        sender_id: None,
        kind: "text".to_owned(),
        body: Some("lunch?".to_owned()),
        ciphertext: None,
        epoch: None,
        reply_to_id: None,
        metadata: None,
        created_at: at("2026-01-02T03:04:05.123456+00:00"),
        edited_at: None,
        deleted_at: None,
        reacted: false,
        seq: 3,
    };
    let event = Event::UnreadChanged {
        room_id: room,
        unread_count: 1,
        last_message: Some(Box::new(message.clone())),
        last_sender: None,
    };
    let text = serde_json::to_string(&Envelope::new(Topic::User(user), &event, 0)).unwrap();
    let Event::UnreadChanged {
        last_message: Some(got),
        ..
    } = Event::from(Envelope::decode(text.as_bytes()).unwrap().event)
    else {
        panic!("the message did not come back");
    };
    assert_eq!(*got, message);
}
