//! Leaving for good: `deleteRoom` (owners and server administrators; members hear
//! RoomDeleted; nothing of the room stays readable or in the tables) and `deleteAccount`
//! (sessions, sockets and sign-in end, rooms are handed over or deleted, messages stay from
//! a tombstone, the name and address are free again, uploads go after the retention).

use serde_json::{Value, json};

use crate::on_both_backends;
use crate::util::{TestApp, first_error};
use crate::wsclient::{Got, TRANSPORT, Ws};

on_both_backends!(
    rooms_are_deleted_by_their_owners,
    accounts_are_deleted_for_good
);

const DELETE_ROOM: &str = "mutation($r: UUID!) { deleteRoom(roomId: $r) }";
const ROOM_EVENTS: &str = "subscription($r: UUID!) { roomEvents(roomId: $r) { __typename ... on RoomDeleted { roomId } } }";
const MY_EVENTS: &str = "subscription { myEvents { __typename ... on RoomDeleted { roomId } } }";
const CALL_EVENTS: &str = "subscription($r: UUID!) { callEvents(roomId: $r) { __typename } }";
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
    // PostgreSQL's stored search documents (SQLite's FTS5 index has no rows to count).
    if app.db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        counts.push(("search_documents", app.count("search_documents").await));
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
    let call_topic = confab::realtime::Topic::Call(room.parse().unwrap());
    ws.subscribe("call", CALL_EVENTS, json!({ "r": room }))
        .await;
    app.wait_for_subscribers(call_topic, 1).await;
    // callEvents also follows the room (to end when its subscriber leaves it).
    app.wait_for_room_subscribers(&room, 2).await;
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

    // Bob hears it on both subscriptions (in either order); the room's ends there. The call
    // ended first: its followers heard CallEnded.
    let mut heard = std::collections::HashMap::new();
    while heard.len() < 3 {
        match ws.recv().await {
            Got::Message(m) if m["type"] == "next" => {
                let id = m["id"].as_str().unwrap().to_owned();
                let field = match id.as_str() {
                    "room" => "roomEvents",
                    "mine" => "myEvents",
                    _ => "callEvents",
                };
                let event = m["payload"]["data"][field].clone();
                if ["RoomDeleted", "CallEnded"].contains(&event["__typename"].as_str().unwrap()) {
                    heard.insert(id, event);
                }
            }
            Got::Message(_) => continue,
            other => {
                panic!("expected RoomDeleted twice and CallEnded, got {other:?} after {heard:?}")
            }
        }
    }
    for id in ["room", "mine"] {
        assert_eq!(heard[id]["roomId"], room.as_str(), "{id}");
    }
    assert_eq!(heard["call"]["__typename"], "CallEnded");
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

    // Big rooms: deleting one costs the same statements as deleting a small one.
    let mut counts = Vec::new();
    for size in [2, 60] {
        let room = ann.create_room("sized", &[&bob]).await;
        for i in 0..size {
            let id = bob.send(&room, &format!("message {i}")).await;
            if i % 2 == 0 {
                ann.ok(
                    "mutation($m: UUID!) { react(messageId: $m, emoji: \"👍\") { id } }",
                    json!({ "m": id }),
                )
                .await;
            }
        }
        app.settle().await;
        ann.ok("{ me { id } }", json!({})).await;
        let before = app.statements();
        ann.ok(DELETE_ROOM, json!({ "r": room })).await;
        counts.push(app.statements() - before);
    }
    assert_eq!(counts[0], counts[1], "statements for 2 and 60 messages");

    // A file only the deleted room's messages still carried goes with maintenance's next
    // round: Ann's upload is gone, Cat forwarded it in the room.
    let room = ann.create_room("files", &[&cat]).await;
    let blob = app
        .upload(
            &ann.token,
            UPLOAD,
            &crate::uploads::png(4, 4, b"room"),
            "image/png",
        )
        .await["data"]["uploadBlob"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut sent = Vec::new();
    for user in [&ann, &cat] {
        let data = user.ok(SEND_FILE, json!({ "r": room, "b": [blob] })).await;
        sent.push(data["sendMessage"]["id"].as_str().unwrap().to_owned());
    }
    ann.ok(
        "mutation($m: UUID!) { deleteMessage(id: $m) { id } }",
        json!({ "m": sent[0] }),
    )
    .await;
    let data = ann
        .ok(
            "mutation($b: String!) { deleteUpload(id: $b) }",
            json!({ "b": blob }),
        )
        .await;
    assert_eq!(data["deleteUpload"], false, "Cat's message still holds it");
    let turn = std::sync::Arc::new(tokio::sync::Mutex::new(()));
    let scratch = tempfile::tempdir().unwrap();
    let blobs = confab::blobstore::BlobStore::dir(scratch.path()).expect("blob dir");
    assert_eq!(
        confab::workers::maintenance::deleted_uploads(&app.db, &turn, &blobs, 30).await,
        0
    );
    assert_eq!(app.count("blobs").await, 1);
    ann.ok(DELETE_ROOM, json!({ "r": room })).await;
    assert_eq!(
        confab::workers::maintenance::deleted_uploads(&app.db, &turn, &blobs, 30).await,
        1
    );
    assert_eq!(app.count("blobs").await, 0);
}

const DELETE_ACCOUNT: &str = "mutation($p: String!) { deleteAccount(password: $p) }";
const LOGIN: &str =
    "mutation($l: String!, $p: String!) { login(input: { login: $l, password: $p }) { token } }";
const SEND_FILE: &str = "mutation($r: UUID!, $b: [String!]) { sendMessage(input: { roomId: $r, body: \"a file\", attachmentBlobIds: $b }) { id } }";
const UPLOAD: &str = "mutation($file: Upload!) { uploadBlob(file: $file) { id } }";

async fn accounts_are_deleted_for_good(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let cat = app.user("cat").await;
    let dan = app.user("dan").await;
    // Ann owns "club" (cat a member, bob an admin: he inherits it), "pair" with dan (a
    // member: he inherits it), and "solo", where nobody else is (deleted with her account).
    let club = ann.create_room("club", &[&cat, &bob]).await;
    ann.ok(
        "mutation($r: UUID!, $u: UUID!) { setMemberRole(roomId: $r, userId: $u, role: ADMIN) { role } }",
        json!({ "r": club, "u": bob.id }),
    )
    .await;
    let pair = ann.create_room("pair", &[&dan]).await;
    let solo = ann.create_room("solo", &[]).await;
    // Her uploads: one she sent in the club (kept with the message), one she did not.
    let kept = app
        .upload(
            &ann.token,
            UPLOAD,
            &crate::uploads::png(2, 2, b"kept"),
            "image/png",
        )
        .await["data"]["uploadBlob"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let loose = app
        .upload(
            &ann.token,
            UPLOAD,
            &crate::uploads::png(3, 3, b"loose"),
            "image/png",
        )
        .await["data"]["uploadBlob"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ann.ok(
        "mutation($r: UUID!, $b: [String!]) { sendMessage(input: { roomId: $r, body: \"bye all\", attachmentBlobIds: $b }) { id } }",
        json!({ "r": club, "b": [kept] }),
    )
    .await;
    ann.ok(
        "mutation($u: UUID!) { requestContact(userId: $u) { status } }",
        json!({ "u": bob.id }),
    )
    .await;
    bob.ok(
        "mutation($u: UUID!) { acceptContact(userId: $u) { status } }",
        json!({ "u": ann.id }),
    )
    .await;
    let mut ws = Ws::ready(app, TRANSPORT, &ann.token).await;
    let mut bobs = Ws::ready(app, TRANSPORT, &bob.token).await;
    bobs.subscribe("club", ROOM_EVENTS_LEFT, json!({ "r": club }))
        .await;
    app.wait_for_room_subscribers(&club, 1).await;

    // The last server administrator cannot leave (another one can).
    app.make_admin("dan").await;
    let body = dan
        .gql(DELETE_ACCOUNT, json!({ "p": "password-dan" }))
        .await;
    assert_eq!(first_error(&body).0, "CONFLICT");
    app.make_admin("ann").await;

    // A wrong password: refused, nothing changes.
    let body = ann
        .gql(DELETE_ACCOUNT, json!({ "p": "not-her-password" }))
        .await;
    let (code, _, field) = first_error(&body);
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("password"))
    );
    let data = ann
        .ok("query { me { username displayName } }", json!({}))
        .await;
    assert_eq!(data["me"]["username"], "ann");
    assert_eq!(app.count("users WHERE deleted_at IS NOT NULL").await, 0);
    assert_eq!(app.count("rooms").await, 3);

    let data = ann.ok(DELETE_ACCOUNT, json!({ "p": "password-ann" })).await;
    assert_eq!(data["deleteAccount"], true);

    // Her open socket closes as a revoked session's does; her token is refused.
    assert_eq!(ws.closed().await, Some(4401));
    let body = ann.gql("query { sessions { id } }", json!({})).await;
    assert_eq!(first_error(&body).0, "UNAUTHENTICATED");
    // Signing in answers as for nobody at all.
    let nobody = app
        .gql(None, LOGIN, json!({ "l": "nobody", "p": "password-ann" }))
        .await;
    for login in ["ann", "ann@example.com"] {
        let body = app
            .gql(None, LOGIN, json!({ "l": login, "p": "password-ann" }))
            .await;
        assert_eq!(first_error(&body), first_error(&nobody), "{login}");
    }

    // The club hears her leave; her message stays, from a tombstone.
    let heard = next_of(&mut bobs, "club").await;
    assert_eq!(heard["data"]["roomEvents"]["__typename"], "MemberLeft");
    let data = bob
        .ok(
            "query($r: UUID!) { room(id: $r) { members { role user { username } } messages { edges { node { body sender { id displayName deleted email avatarBlobId } attachments { blob { id } } } } } } }",
            json!({ "r": club }),
        )
        .await;
    let messages = data["room"]["messages"]["edges"].as_array().unwrap();
    let sender = &messages[messages.len() - 1]["node"]["sender"];
    assert_eq!(messages[messages.len() - 1]["node"]["body"], "bye all");
    assert_eq!(sender["id"], ann.id.as_str());
    assert_eq!(sender["displayName"], "Deleted user");
    assert_eq!(sender["deleted"], true);
    assert!(sender["email"].is_null() && sender["avatarBlobId"].is_null());
    // Ownership passed: to the admin in the club, to the member in the pair.
    let roles: Vec<(String, String)> = data["room"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["user"]["username"].as_str().unwrap().to_owned(),
                m["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        roles.contains(&("bob".to_owned(), "OWNER".to_owned())),
        "{roles:?}"
    );
    assert!(
        roles.contains(&("cat".to_owned(), "MEMBER".to_owned())),
        "{roles:?}"
    );
    assert!(!roles.iter().any(|(name, _)| name == "ann"), "{roles:?}");
    let data = dan
        .ok(
            "query($r: UUID!) { room(id: $r) { members { role } } }",
            json!({ "r": pair }),
        )
        .await;
    assert_eq!(data["room"]["members"], json!([{ "role": "OWNER" }]));
    // The room nobody was left in is gone; so are her contacts, both ways.
    assert_eq!(app.count("rooms").await, 2);
    let _ = solo;
    assert_eq!(app.count("contacts").await, 0);
    // Nothing in anyone's inbox names her: her contact request and "added you" are gone.
    let data = bob
        .ok(
            "query { notifications { edges { node { kind title } } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["notifications"]["edges"], json!([]), "{data}");
    let data = bob
        .ok(
            "query { contacts { edges { node { status } } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["contacts"]["edges"], json!([]));
    let data = cat
        .ok(
            "query($u: UUID!) { user(id: $u) { id } }",
            json!({ "u": ann.id }),
        )
        .await;
    assert!(data["user"].is_null());
    assert_eq!(
        app.count("audit_events WHERE kind = 'account_deleted'")
            .await,
        1
    );
    assert_eq!(app.count("sessions WHERE revoked_at IS NULL AND user_id IN (SELECT id FROM users WHERE deleted_at IS NOT NULL)").await, 0);

    // Her username and address are free again.
    let again = app.user("ann").await;
    assert_ne!(again.id, ann.id);

    // After the retention period maintenance removes her uploads: the attached file stays
    // (the message holds it), the other goes.
    let turn = std::sync::Arc::new(tokio::sync::Mutex::new(()));
    let scratch = tempfile::tempdir().unwrap();
    let blobs = confab::blobstore::BlobStore::dir(scratch.path()).expect("blob dir");
    let kept_days = confab::workers::maintenance::deleted_uploads(&app.db, &turn, &blobs, 30).await;
    assert_eq!(kept_days, 0, "within the retention period nothing goes");
    assert_eq!(app.count("blob_uploads").await, 2);
    let freed = confab::workers::maintenance::deleted_uploads(&app.db, &turn, &blobs, 0).await;
    assert_eq!(freed, 1);
    assert_eq!(app.count("blob_uploads").await, 0);
    assert_eq!(app.count("blobs").await, 1);
    let (status, _, _) = app
        .fetch(&format!("/blobs/{kept}"), Some(&bob.token), &[])
        .await;
    assert_eq!(status, 200);
    let (status, _, _) = app
        .fetch(&format!("/blobs/{loose}"), Some(&bob.token), &[])
        .await;
    assert_eq!(status, 404);
}

const ROOM_EVENTS_LEFT: &str = "subscription($r: UUID!) { roomEvents(roomId: $r) { __typename } }";
