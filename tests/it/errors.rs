//! Every error leaves with an `extensions.code`; internals never reach the client.

use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::on_both_backends;
use crate::util::{TestApp, first_error};

on_both_backends!(malformed_requests_are_coded, internal_errors_hide_sql);

async fn malformed_requests_are_coded(app: &TestApp) {
    let (token, _) = app.register("ann").await;
    for (query, variables) in [
        ("{ me { id ", json!({})),
        ("{ nosuchfield }", json!({})),
        (
            "query($id: UUID!) { user(id: $id) { id } }",
            json!({ "id": "not-a-uuid" }),
        ),
        (
            "query($id: UUID!) { user(id: $id) { id } }",
            json!({ "id": 42 }),
        ),
        (
            "mutation { updateProfile(input: { status: SLEEPING }) { id } }",
            json!({}),
        ),
    ] {
        let body = app.gql(Some(&token), query, variables).await;
        assert_eq!(first_error(&body).0, "BAD_USER_INPUT", "{query}: {body}");
    }
    // Nesting past the depth limit is refused before anything runs.
    let too_deep = format!(
        "{{ __schema {{ types {{ fields {{ type {{ {}name{} }} }} }} }} }}",
        "ofType { ".repeat(20),
        " }".repeat(20)
    );
    let body = app.gql(Some(&token), &too_deep, json!({})).await;
    let (code, message, _) = first_error(&body);
    assert_eq!(code, "BAD_USER_INPUT", "{body}");
    assert!(message.contains("nested too deep"), "{message}");
}

async fn internal_errors_hide_sql(app: &TestApp) {
    app.register("ann").await;
    // Break the database under the server: sign-in now fails inside SQL.
    app.db
        .execute_unprepared("DROP TABLE sessions")
        .await
        .unwrap();
    let body = app
        .gql(
            None,
            "mutation { login(input: { login: \"ann\", password: \"password-ann\" }) { token } }",
            json!({}),
        )
        .await;
    let (code, message, _) = first_error(&body);
    assert_eq!(code, "INTERNAL");
    assert_eq!(message, "internal error");
    let text = body.to_string().to_lowercase();
    for leak in [
        "sessions",
        "select",
        "insert",
        "sqlx",
        "relation",
        "no such table",
    ] {
        assert!(!text.contains(leak), "response leaks {leak:?}: {body}");
    }
    let request_id = body["errors"][0]["extensions"]["requestId"]
        .as_str()
        .unwrap();
    assert_eq!(request_id.len(), 36);
}
