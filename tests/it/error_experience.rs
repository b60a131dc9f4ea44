//! Errors a frontend can act on (issue #31, item 5): why a session was refused (over HTTP and
//! in the WebSocket close), every bad field of `register` at once, the argument holding a
//! malformed UUID, syntax errors on one line, and scalar descriptions written for clients.

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::util::TestApp;
use crate::wsclient::{LEGACY, TRANSPORT, Ws};

on_both_backends!(
    refused_sessions_say_why,
    websocket_closes_say_why,
    register_reports_every_bad_field,
    malformed_uuids_name_their_argument,
    syntax_errors_are_one_line,
    scalars_are_described_for_clients,
);

const SESSIONS: &str = "{ sessions { id } }";

fn extensions(body: &Value) -> &Value {
    &body["errors"][0]["extensions"]
}

/// Moves every session of `username` past its expiry, behind the API.
async fn expire_sessions(app: &TestApp, username: &str) {
    app.db
        .execute_unprepared(&format!(
            "UPDATE sessions SET expires_at = created_at WHERE user_id = \
             (SELECT id FROM users WHERE username = '{username}')"
        ))
        .await
        .expect("expire sessions");
    app.forget_signed_in();
}

/// UNAUTHENTICATED says why in `extensions.reason`: no token (`missing`), a token that was
/// never one or is malformed (`invalid`), a signed-out one (`revoked`), an expired one
/// (`expired`). Other UNAUTHENTICATED errors (a wrong password) carry no reason.
async fn refused_sessions_say_why(app: &TestApp) {
    let body = app.gql(None, SESSIONS, json!({})).await;
    assert_eq!(extensions(&body)["code"], "UNAUTHENTICATED", "{body}");
    assert_eq!(extensions(&body)["reason"], "missing", "{body}");

    let body = app.gql(Some("cfb_not_a_token"), SESSIONS, json!({})).await;
    assert_eq!(extensions(&body)["reason"], "invalid", "{body}");
    let (_, _, raw) = app
        .post_raw(
            None,
            &json!({ "query": SESSIONS }),
            &[("Authorization", "Basic YW5uOnB3")],
        )
        .await;
    let body: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(extensions(&body)["reason"], "invalid", "{body}");

    let (ann, _) = app.register("ann").await;
    app.ok(Some(&ann), "mutation { logout }", json!({})).await;
    let body = app.gql(Some(&ann), SESSIONS, json!({})).await;
    assert_eq!(extensions(&body)["code"], "UNAUTHENTICATED", "{body}");
    assert_eq!(extensions(&body)["reason"], "revoked", "{body}");

    let (bob, _) = app.register("bob").await;
    app.ok(Some(&bob), SESSIONS, json!({})).await;
    expire_sessions(app, "bob").await;
    let body = app.gql(Some(&bob), SESSIONS, json!({})).await;
    assert_eq!(extensions(&body)["reason"], "expired", "{body}");
    // `me` stays null without an error, as for anyone not signed in.
    let body = app.gql(Some(&bob), "{ me { id } }", json!({})).await;
    assert!(
        body["data"]["me"].is_null() && body.get("errors").is_none(),
        "{body}"
    );

    let body = app
        .gql(
            Some(&bob),
            "mutation { login(input: { login: \"ann\", password: \"wrong password\" }) { token } }",
            json!({}),
        )
        .await;
    assert_eq!(extensions(&body)["code"], "UNAUTHENTICATED", "{body}");
    assert!(extensions(&body).get("reason").is_none(), "{body}");
}

/// The WebSocket closes with 4401 and the same reason as its close reason, under both
/// protocols; and a session revoked while its socket is open closes it with `revoked`.
async fn websocket_closes_say_why(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, _) = app.register("bob").await;
    app.ok(Some(&bob), "mutation { logout }", json!({})).await;
    let (cat, _) = app.register("cat").await;
    expire_sessions(app, "cat").await;
    for protocol in [TRANSPORT, LEGACY] {
        for (token, reason) in [
            (None, "missing"),
            (Some("cfb_not_a_token"), "invalid"),
            (Some(bob.as_str()), "revoked"),
            (Some(cat.as_str()), "expired"),
        ] {
            let mut ws = Ws::connect(app, protocol, token).await;
            assert_eq!(ws.closed().await, Some(4401), "{protocol} {reason}");
            assert_eq!(ws.close_reason.as_deref(), Some(reason), "{protocol}");
        }
    }
    let mut ws = Ws::ready(app, TRANSPORT, &ann).await;
    app.wait_for_subscribers(
        confab::realtime::Topic::Session(session_id(app, &ann).await),
        1,
    )
    .await;
    app.ok(Some(&ann), "mutation { logout }", json!({})).await;
    assert_eq!(ws.closed().await, Some(4401));
    assert_eq!(ws.close_reason.as_deref(), Some("revoked"));
}

async fn session_id(app: &TestApp, token: &str) -> uuid::Uuid {
    let data = app
        .ok(Some(token), "{ sessions { id current } }", json!({}))
        .await;
    let id = data["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    id.parse().unwrap()
}

/// Every bad field of `register` in one answer: the message lists each, `extensions.field`
/// names the first (as before) and `extensions.fields` each with its message.
async fn register_reports_every_bad_field(app: &TestApp) {
    let register = "mutation($i: RegisterInput!) { register(input: $i) { token } }";
    let body = app
        .gql(
            None,
            register,
            json!({ "i": { "username": "A!", "email": "not-an-email", "password": "short", "displayName": "" } }),
        )
        .await;
    let ext = extensions(&body);
    assert_eq!(ext["code"], "BAD_USER_INPUT", "{body}");
    assert_eq!(ext["field"], "username", "{body}");
    let fields: Vec<&str> = ext["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["username", "email", "password", "displayName"],
        "{body}"
    );
    assert!(
        ext["fields"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| !f["message"].as_str().unwrap().is_empty())
    );
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("username") && message.contains("password"),
        "{message}"
    );
    assert_eq!(body["errors"].as_array().unwrap().len(), 1, "{body}");

    // One bad field: the answer it always was.
    let body = app
        .gql(
            None,
            register,
            json!({ "i": { "username": "ann", "email": "ann@example.com", "password": "short" } }),
        )
        .await;
    assert_eq!(extensions(&body)["field"], "password", "{body}");
    assert!(extensions(&body).get("fields").is_none(), "{body}");
    assert_eq!(app.count("users").await, 0, "nothing was written");
}

/// A malformed UUID names the argument that holds it (literal or variable), and the input
/// field and list position inside an input object.
async fn malformed_uuids_name_their_argument(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let cases = [
        ("{ room(id: \"nope\") { id } }", json!({}), "id", "id"),
        (
            "query($r: UUID!) { room(id: $r) { id } }",
            json!({ "r": "nope" }),
            "id",
            "id",
        ),
        (
            "mutation($u: UUID!) { addMember(roomId: \"0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\", userId: $u) { role } }",
            json!({ "u": "12345" }),
            "userId",
            "userId",
        ),
        (
            "mutation($i: CreateRoomInput!) { createRoom(input: $i) { id } }",
            json!({ "i": { "name": "x", "memberIds": ["0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "bad"] } }),
            "memberIds",
            "input.memberIds[1]",
        ),
    ];
    for (query, variables, field, path) in cases {
        let body = app.gql(Some(&ann), query, variables).await;
        let ext = extensions(&body);
        assert_eq!(ext["code"], "BAD_USER_INPUT", "{body}");
        assert_eq!(ext["field"], field, "{body}");
        assert_eq!(ext["argumentPath"], path, "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("{path}: not a UUID")),
            "{message}"
        );
    }
}

/// A syntax error is one line with its line and column (and `locations`), not a drawing.
async fn syntax_errors_are_one_line(app: &TestApp) {
    let body = app.gql(None, "{\n  me { id ", json!({})).await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(!message.contains('\n'), "{message}");
    assert!(
        message.starts_with("syntax error at line 2, column"),
        "{message}"
    );
    assert_eq!(body["errors"][0]["locations"][0]["line"], 2, "{body}");
    assert_eq!(extensions(&body)["code"], "BAD_USER_INPUT", "{body}");
}

/// What introspection (GraphiQL, codegen) shows of the scalars: descriptions for clients.
async fn scalars_are_described_for_clients(app: &TestApp) {
    let data = app
        .ok(
            None,
            "{ d: __type(name: \"DateTime\") { description } u: __type(name: \"UUID\") { description } }",
            json!({}),
        )
        .await;
    let date = data["d"]["description"].as_str().unwrap();
    let uuid = data["u"]["description"].as_str().unwrap();
    assert!(
        date.starts_with("A point in time, UTC") && !date.contains("Implement"),
        "{date}"
    );
    assert!(
        uuid.starts_with("An id: a UUID string") && !uuid.contains("octets"),
        "{uuid}"
    );
}

/// The scalars clients meet everywhere are described for them, not for Rust programmers.
#[test]
fn scalar_descriptions_are_for_clients() {
    let sdl = confab::graphql::schema_builder().finish().sdl();
    assert!(
        !sdl.contains("Implement the DateTime"),
        "DateTime leaks chrono's text"
    );
    assert!(
        !sdl.contains("stored as 16 octets"),
        "UUID leaks the uuid crate's text"
    );
    assert!(sdl.contains("A point in time, UTC, as an RFC 3339 string"));
    assert!(sdl.contains("An id: a UUID string"));
}
