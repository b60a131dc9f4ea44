//! Contacts over HTTP: request, accept, decline, block, and what a block prevents.

use serde_json::{Value, json};

use crate::on_both_backends;
use crate::util::{TestApp, first_error};

const REQUEST: &str =
    "mutation($u: UUID!) { requestContact(userId: $u) { status incoming user { username } } }";
const ACCEPT: &str = "mutation($u: UUID!) { acceptContact(userId: $u) { status } }";
const DECLINE: &str = "mutation($u: UUID!) { declineContact(userId: $u) }";
const BLOCK: &str = "mutation($u: UUID!) { blockUser(userId: $u) { status } }";
const LIST: &str = "query($s: ContactStatus) { contacts(status: $s) { edges { node { status incoming user { username } } } } }";
const OPEN: &str = "mutation($u: UUID!) { openDirectRoom(userId: $u) { id } }";

on_both_backends!(request_accept_decline, blocking_stops_direct_messages);

fn names(data: &Value) -> Vec<(String, String, bool)> {
    data["contacts"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let n = &e["node"];
            (
                n["user"]["username"].as_str().unwrap().to_owned(),
                n["status"].as_str().unwrap().to_owned(),
                n["incoming"].as_bool().unwrap(),
            )
        })
        .collect()
}

async fn request_accept_decline(app: &TestApp) {
    let (ann, ann_id) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let (cat, cat_id) = app.register("cat").await;

    let sent = app.ok(Some(&ann), REQUEST, json!({ "u": bob_id })).await;
    assert_eq!(
        sent["requestContact"],
        json!({ "status": "PENDING", "incoming": false, "user": { "username": "bob" } })
    );
    assert_eq!(
        app.count("contacts").await,
        2,
        "both directions are written"
    );
    assert_eq!(
        names(&app.ok(Some(&bob), LIST, json!({})).await),
        [("ann".to_owned(), "PENDING".to_owned(), true)]
    );
    let inbox = app
        .ok(
            Some(&bob),
            "{ notifications { edges { node { kind } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        inbox["notifications"]["edges"][0]["node"]["kind"],
        "contact_request"
    );

    assert_eq!(
        first_error(&app.gql(Some(&ann), ACCEPT, json!({ "u": bob_id })).await).0,
        "NOT_FOUND",
        "cannot accept one's own request"
    );
    assert_eq!(
        app.ok(Some(&bob), ACCEPT, json!({ "u": ann_id })).await["acceptContact"]["status"],
        "ACCEPTED"
    );
    assert_eq!(
        names(&app.ok(Some(&ann), LIST, json!({ "s": "ACCEPTED" })).await),
        [("bob".to_owned(), "ACCEPTED".to_owned(), false)]
    );
    assert_eq!(
        names(&app.ok(Some(&ann), LIST, json!({ "s": "PENDING" })).await),
        []
    );

    // Asking someone who already asked you accepts.
    app.ok(Some(&cat), REQUEST, json!({ "u": ann_id })).await;
    let mutual = app.ok(Some(&ann), REQUEST, json!({ "u": cat_id })).await;
    assert_eq!(mutual["requestContact"]["status"], "ACCEPTED");
    assert_eq!(
        names(&app.ok(Some(&cat), LIST, json!({})).await)[0].1,
        "ACCEPTED"
    );

    assert_eq!(
        app.ok(Some(&ann), DECLINE, json!({ "u": bob_id })).await["declineContact"],
        true
    );
    assert_eq!(
        app.count("contacts").await,
        2,
        "only ann-cat remains, both ways"
    );
    assert_eq!(
        first_error(&app.gql(Some(&bob), DECLINE, json!({ "u": ann_id })).await).0,
        "NOT_FOUND"
    );

    let (code, _, field) = first_error(&app.gql(Some(&ann), REQUEST, json!({ "u": ann_id })).await);
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("userId"))
    );
    let body = app
        .gql(
            Some(&ann),
            REQUEST,
            json!({ "u": "01900000-0000-7000-8000-000000000009" }),
        )
        .await;
    assert_eq!(first_error(&body).0, "NOT_FOUND");
    assert_eq!(
        first_error(&app.gql(None, LIST, json!({})).await).0,
        "UNAUTHENTICATED"
    );
    let _ = cat;
}

async fn blocking_stops_direct_messages(app: &TestApp) {
    let (ann, ann_id) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let room = app.ok(Some(&ann), OPEN, json!({ "u": bob_id })).await["openDirectRoom"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.send(&ann, &room, "hi bob").await;

    assert_eq!(
        app.ok(Some(&bob), BLOCK, json!({ "u": ann_id })).await["blockUser"]["status"],
        "BLOCKED"
    );
    let send =
        "mutation($r: UUID!) { sendMessage(input: { roomId: $r, body: \"still there?\" }) { id } }";
    assert_eq!(
        first_error(&app.gql(Some(&ann), send, json!({ "r": room })).await).0,
        "FORBIDDEN"
    );
    assert_eq!(
        first_error(&app.gql(Some(&ann), OPEN, json!({ "u": bob_id })).await).0,
        "FORBIDDEN"
    );
    assert_eq!(
        first_error(&app.gql(Some(&ann), REQUEST, json!({ "u": bob_id })).await).0,
        "FORBIDDEN"
    );
    // Only the blocker lists the block, and only the blocker can lift it.
    assert_eq!(
        names(&app.ok(Some(&bob), LIST, json!({ "s": "BLOCKED" })).await),
        [("ann".to_owned(), "BLOCKED".to_owned(), false)]
    );
    assert_eq!(names(&app.ok(Some(&ann), LIST, json!({})).await), []);
    assert_eq!(
        first_error(&app.gql(Some(&ann), DECLINE, json!({ "u": bob_id })).await).0,
        "NOT_FOUND"
    );
    assert_eq!(app.count("messages").await, 1);

    app.ok(Some(&bob), DECLINE, json!({ "u": ann_id })).await;
    assert_eq!(app.count("contacts").await, 0);
    app.ok(Some(&ann), send, json!({ "r": room })).await;
    app.ok(Some(&ann), OPEN, json!({ "u": bob_id })).await;
}
