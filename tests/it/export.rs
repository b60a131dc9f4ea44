//! `exportMyData`: a JSON archive of the caller's data, readable by them only, once per ten
//! minutes.

use serde_json::{Value, json};

use crate::on_both_backends;
use crate::util::{TestApp, first_error};

on_both_backends!(exports_are_their_owners_only);

const EXPORT: &str = "mutation { exportMyData { id filename mimeType size } }";

async fn exports_are_their_owners_only(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let room = ann.create_room("ours", &[&bob]).await;
    let mine = ann.send(&room, "only ann wrote this").await;
    bob.send(&room, "bob wrote this").await;
    ann.ok(
        "mutation($m: UUID!) { react(messageId: $m, emoji: \"🎉\") { id } }",
        json!({ "m": mine }),
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
    let body = app.gql(None, EXPORT, json!({})).await;
    assert_eq!(first_error(&body).0, "UNAUTHENTICATED");

    let data = ann.ok(EXPORT, json!({})).await;
    let blob = &data["exportMyData"];
    let id = blob["id"].as_str().unwrap().to_owned();
    assert_eq!(blob["mimeType"], "application/json");
    let filename = blob["filename"].as_str().unwrap();
    assert!(
        filename.starts_with("confab-export-") && filename.ends_with(".json"),
        "{filename}"
    );

    // The owner reads it: her message, her contact, her room and role, her reaction.
    let (status, headers, bytes) = app
        .fetch(&format!("/blobs/{id}"), Some(&ann.token), &[])
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        headers
            .get("content-disposition")
            .unwrap()
            .to_str()
            .unwrap(),
        "attachment"
    );
    assert_eq!(bytes.len() as i64, blob["size"].as_i64().unwrap());
    let archive: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(archive["format"], "confab-export");
    assert_eq!(archive["profile"]["username"], "ann");
    assert_eq!(archive["profile"]["email"], "ann@example.com");
    let bodies: Vec<&str> = archive["messages"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["body"].as_str())
        .collect();
    assert_eq!(bodies, ["only ann wrote this"], "only her own messages");
    assert_eq!(archive["messages"]["truncated"], false);
    assert_eq!(archive["contacts"][0]["username"], "bob");
    assert_eq!(archive["contacts"][0]["status"], "accepted");
    assert_eq!(archive["rooms"][0]["name"], "ours");
    assert_eq!(archive["rooms"][0]["role"], "owner");
    assert_eq!(archive["reactions"][0]["emoji"], "🎉");
    assert!(!archive["sessions"].as_array().unwrap().is_empty());
    assert!(
        !String::from_utf8_lossy(&bytes).contains("password"),
        "no secrets in the archive"
    );

    // Nobody else reads it: not a room member, not signed out; nor through the API.
    let (status, _, _) = app
        .fetch(&format!("/blobs/{id}"), Some(&bob.token), &[])
        .await;
    assert_eq!(status, 404);
    let (status, _, _) = app.fetch(&format!("/blobs/{id}"), None, &[]).await;
    assert_eq!(status, 401);
    let data = bob
        .ok(
            "query($b: String!) { blob(id: $b) { id } }",
            json!({ "b": id }),
        )
        .await;
    assert!(data["blob"].is_null());
    // Bob cannot put it in a message either (he cannot read it).
    let body = bob
        .gql(
            "mutation($r: UUID!, $b: [String!]) { sendMessage(input: { roomId: $r, body: \"x\", attachmentBlobIds: $b }) { id } }",
            json!({ "r": room, "b": [id] }),
        )
        .await;
    assert_eq!(first_error(&body).0, "BAD_USER_INPUT");

    // Once per ten minutes.
    let body = ann.gql(EXPORT, json!({})).await;
    assert_eq!(first_error(&body).0, "RATE_LIMITED");
    let body = bob.gql(EXPORT, json!({})).await;
    assert!(body["errors"].is_null(), "{body}");
}
