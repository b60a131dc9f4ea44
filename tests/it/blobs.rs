//! Uploads and blobs over HTTP: multipart upload, content addressing, sniffing, limits, access.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::on_both_backends;
use crate::util::{TestApp, first_error};

const UPLOAD: &str =
    "mutation($file: Upload!) { uploadBlob(file: $file) { id size mimeType width height url } }";

on_both_backends!(
    uploads_are_content_addressed_and_sniffed,
    blobs_are_served_to_those_allowed
);

/// A PNG header of the given size followed by `tail`: enough for sniffing and dimensions.
fn png(width: u32, height: u32, tail: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
    bytes.extend_from_slice(b"IHDR");
    bytes.extend_from_slice(&width.to_be_bytes());
    bytes.extend_from_slice(&height.to_be_bytes());
    bytes.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    bytes.extend_from_slice(tail);
    bytes
}

async fn uploads_are_content_addressed_and_sniffed(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, _) = app.register("bob").await;
    let image = png(3, 2, b"pixels");
    let body = app
        .upload(&ann, UPLOAD, &image, "application/octet-stream")
        .await;
    let blob = &body["data"]["uploadBlob"];
    assert_eq!(blob["id"], hex::encode(Sha256::digest(&image)), "{body}");
    assert_eq!(blob["mimeType"], "image/png");
    assert_eq!(blob["size"], image.len());
    assert_eq!(
        (blob["width"].clone(), blob["height"].clone()),
        (json!(3), json!(2))
    );
    assert_eq!(
        blob["url"],
        format!("/blobs/{}", blob["id"].as_str().unwrap())
    );

    // The same bytes again, by anyone: the same blob, stored once.
    let again = app.upload(&bob, UPLOAD, &image, "image/png").await;
    assert_eq!(again["data"]["uploadBlob"]["id"], blob["id"]);
    assert_eq!(app.count("blobs").await, 1);
    for token in [&ann, &bob] {
        let used = app.ok(Some(token), "{ storageUsed }", json!({})).await;
        assert_eq!(used["storageUsed"], image.len());
    }

    // The type comes from the bytes, not from what the client says.
    let text = app
        .upload(&ann, UPLOAD, b"just some text, honest", "image/png")
        .await;
    let (code, message, field) = first_error(&text);
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("file")),
        "{message}"
    );
    let empty = app.upload(&ann, UPLOAD, b"", "image/png").await;
    assert_eq!(first_error(&empty).0, "BAD_USER_INPUT");
    // Past the size limit (10 MB) the upload is refused while it streams.
    let huge = png(1, 1, &vec![0u8; 10 * 1024 * 1024 + 1]);
    let refused = app.upload(&ann, UPLOAD, &huge, "image/png").await;
    assert_eq!(first_error(&refused).0, "BAD_USER_INPUT", "{refused}");
    assert_eq!(app.count("blobs").await, 1);
}

async fn blobs_are_served_to_those_allowed(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let (cat, _) = app.register("cat").await;
    let image = png(4, 4, b"photo");
    let id = app.upload(&ann, UPLOAD, &image, "image/png").await["data"]["uploadBlob"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/blobs/{id}");

    assert_eq!(app.fetch(&path, None, &[]).await.0, 401);
    let (status, headers, bytes) = app.fetch(&path, Some(&ann), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, image);
    assert_eq!(headers.get("content-type").unwrap(), "image/png");
    let etag = headers.get("etag").unwrap().to_str().unwrap().to_owned();
    assert_eq!(etag, format!("\"{id}\""));
    assert!(
        headers
            .get("cache-control")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("private")
    );
    assert_eq!(
        app.fetch(&path, Some(&ann), &[("If-None-Match", &etag)])
            .await
            .0,
        304
    );
    assert_eq!(
        app.fetch(&path, Some(&bob), &[]).await.0,
        404,
        "not shared yet"
    );
    assert_eq!(
        app.fetch("/blobs/../../etc/passwd", Some(&ann), &[])
            .await
            .0,
        404
    );

    // Attached in a room, the blob is readable by its members.
    let room = app.create_room(&ann, "photos", &[&bob_id]).await;
    let send = "mutation($i: SendMessageInput!) { sendMessage(input: $i) { id body attachments { url metadata blob { id width } } } }";
    let sent = app
        .ok(
            Some(&ann),
            send,
            json!({ "i": { "roomId": room, "body": "", "attachmentBlobIds": [id] } }),
        )
        .await;
    let attachment = &sent["sendMessage"]["attachments"][0];
    assert_eq!(attachment["blob"]["id"], id);
    assert_eq!(attachment["metadata"]["width"], 4);
    assert_eq!(attachment["metadata"]["mimeType"], "image/png");
    // Sending read the room up to the message, for the sender only.
    let unread = "query($r: UUID!) { room(id: $r) { unreadCount members { user { username } lastReadMessageId } } }";
    let seen = app.ok(Some(&ann), unread, json!({ "r": room })).await;
    assert_eq!(seen["room"]["unreadCount"], 0);
    for member in seen["room"]["members"].as_array().unwrap() {
        let expected = if member["user"]["username"] == "ann" {
            sent["sendMessage"]["id"].clone()
        } else {
            Value::Null
        };
        assert_eq!(member["lastReadMessageId"], expected);
    }
    assert_eq!(app.fetch(&path, Some(&bob), &[]).await.0, 200);
    assert_eq!(app.fetch(&path, Some(&cat), &[]).await.0, 404);
    let blob_query = "query($id: String!) { blob(id: $id) { id size } }";
    assert_eq!(
        app.ok(Some(&bob), blob_query, json!({ "id": id })).await["blob"]["id"],
        id
    );
    assert!(app.ok(Some(&cat), blob_query, json!({ "id": id })).await["blob"].is_null());

    // Nobody attaches what they cannot read.
    let cats_room = app.create_room(&cat, "cat's", &[]).await;
    let body = app
        .gql(
            Some(&cat),
            send,
            json!({ "i": { "roomId": cats_room, "body": "mine now", "attachmentBlobIds": [id] } }),
        )
        .await;
    assert_eq!(first_error(&body).2.as_deref(), Some("attachmentBlobIds"));
    let body = app
        .gql(
            Some(&ann),
            send,
            json!({ "i": { "roomId": room, "body": "x", "attachmentBlobIds": ["nope"] } }),
        )
        .await;
    assert_eq!(first_error(&body).2.as_deref(), Some("attachmentBlobIds"));
    let body: Value = app
        .gql(
            Some(&ann),
            send,
            json!({ "i": { "roomId": room, "body": "   " } }),
        )
        .await;
    assert_eq!(
        first_error(&body).2.as_deref(),
        Some("body"),
        "an empty body needs attachments"
    );
}

on_both_backends!(admins_see_instance_stats);

async fn admins_see_instance_stats(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, _) = app.register("bob").await;
    let room = app.create_room(&ann, "r", &[]).await;
    app.send(&ann, &room, "one").await;
    app.upload(&ann, UPLOAD, &png(1, 1, b"x"), "image/png")
        .await;
    let query = "{ stats { users rooms messages blobs storageBytes activeSockets } }";
    assert_eq!(
        first_error(&app.gql(Some(&bob), query, json!({})).await).0,
        "FORBIDDEN"
    );
    app.make_admin("bob").await;
    let _socket = crate::wsclient::Ws::ready(app, crate::wsclient::TRANSPORT, &ann).await;
    let stats = app.ok(Some(&bob), query, json!({})).await["stats"].clone();
    assert_eq!(
        stats,
        json!({ "users": 2, "rooms": 1, "messages": 1, "blobs": 1, "storageBytes": png(1, 1, b"x").len(), "activeSockets": 1 })
    );
}

on_both_backends!(avatars_are_only_ones_own_uploads);

/// `updateProfile(avatarBlobId)` takes only a blob the caller uploaded: another user's private
/// blob answers exactly as one that does not exist (no oracle for which files exist, no
/// publishing someone else's id); the caller's own upload of the same bytes works.
async fn avatars_are_only_ones_own_uploads(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, _) = app.register("bob").await;
    let set =
        "mutation($b: String) { updateProfile(input: { avatarBlobId: $b }) { avatarBlobId } }";
    let private = png(5, 5, b"bob's private photo");
    let bobs = app.upload(&bob, UPLOAD, &private, "image/png").await["data"]["uploadBlob"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let stolen = app.gql(Some(&ann), set, json!({ "b": bobs })).await;
    let missing = app
        .gql(Some(&ann), set, json!({ "b": "f".repeat(64) }))
        .await;
    let (code, message, field) = first_error(&stolen);
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("avatarBlobId")),
        "{stolen}"
    );
    assert_eq!(
        (code, message, field),
        first_error(&missing),
        "another user's blob answers as a missing one"
    );
    assert!(stolen["data"].is_null() || stolen["data"]["updateProfile"].is_null());
    let me = app
        .ok(Some(&ann), "{ me { avatarBlobId } }", json!({}))
        .await;
    assert!(me["me"]["avatarBlobId"].is_null(), "{me}");
    let shown = app
        .ok(
            Some(&bob),
            "query($u: String!) { userByUsername(username: $u) { avatarBlobId } }",
            json!({ "u": "ann" }),
        )
        .await;
    assert!(shown["userByUsername"]["avatarBlobId"].is_null());

    // The owner may; and ann may once she uploaded the same bytes herself (one blob, two
    // uploaders).
    let own = app.ok(Some(&bob), set, json!({ "b": bobs })).await;
    assert_eq!(own["updateProfile"]["avatarBlobId"], bobs.as_str());
    let mine = app.upload(&ann, UPLOAD, &private, "image/png").await;
    assert_eq!(mine["data"]["uploadBlob"]["id"], bobs.as_str());
    assert_eq!(app.count("blobs").await, 1);
    let set_mine = app.ok(Some(&ann), set, json!({ "b": bobs })).await;
    assert_eq!(set_mine["updateProfile"]["avatarBlobId"], bobs.as_str());
    // null removes it.
    let cleared = app.ok(Some(&ann), set, json!({ "b": null })).await;
    assert!(cleared["updateProfile"]["avatarBlobId"].is_null());
}
