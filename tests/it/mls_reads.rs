//! What an MLS client reads: a message by id (members only), a room's history since a time,
//! its message count, unread counts moved by ciphertext, and opaque blobs that name their
//! room (read by its members while they belong, listed in `Room.blobs`).

use serde_json::{Value, json};

use crate::on_both_backends;
use crate::uploads::{png, upload, uploaded};
use crate::util::{TestApp, first_error};
use crate::wsclient::{TRANSPORT, Ws};

const CIPHER: &str =
    "mutation($i: SendCiphertextInput!) { sendCiphertext(input: $i) { id createdAt } }";
const MESSAGE: &str = "query($id: UUID!) { message(id: $id) { id body roomId } }";
const SINCE: &str = "query($r: UUID!, $since: DateTime, $first: Int, $after: String, $last: Int, $order: MessageOrder = OLDEST_FIRST) { \
    room(id: $r) { messageCount messages(since: $since, first: $first, after: $after, last: $last, order: $order) { \
    edges { node { body } } pageInfo { hasNextPage hasPreviousPage endCursor } } } }";
const BLOBS: &str = "query($r: UUID!) { room(id: $r) { blobs(first: 10) { edges { node { id mimeType filename uploadedBy { username } room { id } } } } } }";
const BLOB: &str = "query($id: String!) { blob(id: $id) { id width room { id } } }";

on_both_backends!(
    messages_by_id_since_and_counted,
    ciphertext_moves_unread_counts,
    opaque_blobs_belong_to_their_room
);

fn bodies(body: &Value) -> Vec<String> {
    body["room"]["messages"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["body"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn send(app: &TestApp, token: &str, room: &str, body: &str) -> Value {
    app.ok(
        Some(token),
        "mutation($i: SendMessageInput!) { sendMessage(input: $i) { id createdAt } }",
        json!({ "i": { "roomId": room, "body": body } }),
    )
    .await["sendMessage"]
        .clone()
}

async fn messages_by_id_since_and_counted(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let (cat, _) = app.register("cat").await;
    let room = app.create_room(&ann, "mls", &[&bob_id]).await;
    let count = |token: String| {
        let room = room.clone();
        async move {
            app.ok(Some(&token), SINCE, json!({ "r": room })).await["room"]["messageCount"]
                .as_i64()
                .unwrap()
        }
    };
    let before = count(ann.clone()).await;
    let one = send(app, &ann, &room, "one").await;
    send(app, &bob, &room, "two").await;
    let three = send(app, &ann, &room, "three").await;
    assert_eq!(count(bob.clone()).await, before + 3);

    // By id: for members only; anyone else, and an unknown id, NOT_FOUND.
    let got = app
        .ok(Some(&bob), MESSAGE, json!({ "id": one["id"] }))
        .await;
    assert_eq!(got["message"]["body"], "one");
    assert_eq!(got["message"]["roomId"], room.as_str());
    for (token, id) in [
        (&cat, one["id"].clone()),
        (&ann, json!(uuid::Uuid::now_v7())),
    ] {
        let missing = app.gql(Some(token), MESSAGE, json!({ "id": id })).await;
        assert_eq!(first_error(&missing).0, "NOT_FOUND", "{missing}");
    }

    // Since a time: only what came after it, oldest first by default, paged either way.
    let since = one["createdAt"].clone();
    let all = app
        .ok(Some(&bob), SINCE, json!({ "r": room, "since": since }))
        .await;
    assert_eq!(bodies(&all), ["two", "three"]);
    assert_eq!(
        all["room"]["messages"]["pageInfo"]["hasPreviousPage"],
        false
    );
    let first = app
        .ok(
            Some(&bob),
            SINCE,
            json!({ "r": room, "since": since, "first": 1 }),
        )
        .await;
    assert_eq!(bodies(&first), ["two"]);
    assert_eq!(first["room"]["messages"]["pageInfo"]["hasNextPage"], true);
    let after = first["room"]["messages"]["pageInfo"]["endCursor"].clone();
    let next = app
        .ok(
            Some(&bob),
            SINCE,
            json!({ "r": room, "since": since, "first": 5, "after": after }),
        )
        .await;
    assert_eq!(bodies(&next), ["three"]);
    let last = app
        .ok(
            Some(&bob),
            SINCE,
            json!({ "r": room, "since": since, "last": 1 }),
        )
        .await;
    assert_eq!(bodies(&last), ["three"]);
    assert_eq!(
        last["room"]["messages"]["pageInfo"]["hasPreviousPage"],
        true
    );
    let newest = app
        .ok(
            Some(&bob),
            SINCE,
            json!({ "r": room, "since": since, "order": "NEWEST_FIRST" }),
        )
        .await;
    assert_eq!(bodies(&newest), ["three", "two"]);
    let none = app
        .ok(
            Some(&bob),
            SINCE,
            json!({ "r": room, "since": three["createdAt"] }),
        )
        .await;
    assert!(bodies(&none).is_empty());
    let early = app
        .gql(
            Some(&bob),
            SINCE,
            json!({ "r": room, "since": "0000-12-31T00:00:00Z" }),
        )
        .await;
    let (code, _, field) = first_error(&early);
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("since")),
        "{early}"
    );

    // A deleted message no longer counts; one who left reads nothing by id.
    app.ok(
        Some(&ann),
        "mutation($id: UUID!) { deleteMessage(id: $id) { id } }",
        json!({ "id": three["id"] }),
    )
    .await;
    assert_eq!(count(ann.clone()).await, before + 2);
    app.ok(
        Some(&bob),
        "mutation($r: UUID!) { leaveRoom(roomId: $r) }",
        json!({ "r": room }),
    )
    .await;
    let left = app
        .gql(Some(&bob), MESSAGE, json!({ "id": one["id"] }))
        .await;
    assert_eq!(first_error(&left).0, "NOT_FOUND");
}

async fn ciphertext_moves_unread_counts(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let room = app.create_room(&ann, "mls", &[&bob_id]).await;
    let mut ws = Ws::ready(app, TRANSPORT, &bob).await;
    ws.subscribe(
        "me",
        "subscription { myEvents { __typename ... on UnreadChanged { roomId unreadCount } } }",
        json!({}),
    )
    .await;
    app.wait_for_listeners(&bob_id, 1).await;
    let sent = app
        .ok(
            Some(&ann),
            CIPHER,
            json!({ "i": { "roomId": room, "kind": "APP", "ciphertext": "AAEC", "epoch": 0 } }),
        )
        .await;
    let got = ws.next("me").await;
    assert_eq!(
        got["data"]["myEvents"]["__typename"], "UnreadChanged",
        "{got}"
    );
    assert_eq!(got["data"]["myEvents"]["roomId"], room.as_str());
    let unread = got["data"]["myEvents"]["unreadCount"].as_i64().unwrap();
    assert!(unread >= 1, "{got}");
    // The sender has read up to their own ciphertext.
    let state = "query($r: UUID!) { room(id: $r) { unreadCount members { user { username } lastReadMessageId } } }";
    let seen = app.ok(Some(&ann), state, json!({ "r": room })).await;
    assert_eq!(seen["room"]["unreadCount"], 0);
    let members = seen["room"]["members"].as_array().unwrap();
    let ann_marker = members
        .iter()
        .find(|m| m["user"]["username"] == "ann")
        .map(|m| m["lastReadMessageId"].clone());
    assert_eq!(ann_marker, Some(sent["sendCiphertext"]["id"].clone()));
    let bobs = app.ok(Some(&bob), state, json!({ "r": room })).await;
    assert_eq!(bobs["room"]["unreadCount"], unread);
}

async fn opaque_blobs_belong_to_their_room(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let (cat, _) = app.register("cat").await;
    let room = app.create_room(&ann, "mls", &[&bob_id]).await;
    // Encrypted bytes that happen to look like a PNG: still opaque.
    let sealed = png(9, 9, b"\x00ciphertext\xff");

    let code = |body: &Value| {
        let (code, _, field) = first_error(body);
        (code, field)
    };
    let vars = json!({ "opaque": true });
    assert_eq!(
        code(&upload(app, &ann, vars, "a.bin", &sealed).await),
        ("BAD_USER_INPUT".to_owned(), Some("roomId".to_owned()))
    );
    let vars = json!({ "opaque": true, "room": room });
    assert_eq!(
        code(&upload(app, &ann, vars.clone(), "a.bin", &sealed).await),
        ("BAD_USER_INPUT".to_owned(), Some("opaque".to_owned())),
        "epoch 0: no MLS group yet"
    );
    assert_eq!(
        code(&upload(app, &cat, vars.clone(), "a.bin", &sealed).await).0,
        "NOT_FOUND",
        "not a member"
    );
    app.ok(
        Some(&ann),
        CIPHER,
        json!({ "i": { "roomId": room, "kind": "COMMIT", "ciphertext": "AAEC", "epoch": 0 } }),
    )
    .await;
    // Not opaque, bytes outside the allow-list are refused as ever.
    let plain = json!({ "room": room });
    assert_eq!(
        code(&upload(app, &ann, plain, "x.bin", b"\x00\x01\x02 not an image").await).0,
        "BAD_USER_INPUT"
    );

    let blob = uploaded(app, &ann, vars, "secret.jpg.enc", &sealed).await;
    assert_eq!(blob["mimeType"], "application/octet-stream", "{blob}");
    assert!(blob["width"].is_null());
    assert_eq!(blob["room"]["id"], room.as_str());
    let id = blob["id"].as_str().unwrap().to_owned();
    let path = format!("/blobs/{id}");

    // Members read it, as a download.
    let (status, headers, bytes) = app.fetch(&path, Some(&bob), &[]).await;
    assert_eq!((status, bytes), (200, sealed.clone()));
    assert_eq!(
        headers.get("content-type").unwrap(),
        "application/octet-stream"
    );
    assert_eq!(headers.get("content-disposition").unwrap(), "attachment");
    assert_eq!(headers.get("x-content-type-options").unwrap(), "nosniff");
    let seen = app.ok(Some(&bob), BLOB, json!({ "id": id })).await;
    assert_eq!(seen["blob"]["room"]["id"], room.as_str());
    assert!(seen["blob"]["width"].is_null());
    let listed = app.ok(Some(&bob), BLOBS, json!({ "r": room })).await;
    let edges = listed["room"]["blobs"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0]["node"]["id"], id.as_str());
    assert_eq!(edges[0]["node"]["filename"], "secret.jpg.enc");
    assert_eq!(edges[0]["node"]["uploadedBy"]["username"], "ann");
    // Anyone else: nothing.
    assert_eq!(app.fetch(&path, Some(&cat), &[]).await.0, 404);
    assert!(app.ok(Some(&cat), BLOB, json!({ "id": id })).await["blob"].is_null());

    // A member who leaves loses it; the uploader keeps their own upload.
    app.ok(
        Some(&bob),
        "mutation($r: UUID!) { leaveRoom(roomId: $r) }",
        json!({ "r": room }),
    )
    .await;
    assert_eq!(app.fetch(&path, Some(&bob), &[]).await.0, 404);
    assert!(app.ok(Some(&bob), BLOB, json!({ "id": id })).await["blob"].is_null());
    assert_eq!(app.fetch(&path, Some(&ann), &[]).await.0, 200);
}
