//! Registration, sign-in, sessions and profiles over HTTP.

use serde_json::json;

use crate::on_both_backends;
use crate::util::{TestApp, first_error};

const ME: &str = "{ me { id username displayName email role status } }";
const LOGIN: &str = "mutation($input: LoginInput!) { login(input: $input) { token user { username email } session { id current } } }";
const REGISTER: &str = "mutation($input: RegisterInput!) { register(input: $input) { token user { id username displayName email } } }";

on_both_backends!(
    register_login_me_round_trip,
    register_rejects_bad_input_by_field,
    duplicates_conflict_and_write_nothing,
    wrong_password_and_unknown_user_look_the_same,
    sessions_list_and_revoke,
    expired_and_deleted_accounts_are_refused,
    requests_record_session_activity,
    profiles_show_email_only_to_owner,
    update_profile,
);

async fn register_login_me_round_trip(app: &TestApp) {
    let data = app
        .ok(
            None,
            REGISTER,
            json!({ "input": { "username": "Ann_1", "email": "Ann@Example.com",
                               "password": "correct horse", "displayName": " Ann " } }),
        )
        .await;
    let reg = &data["register"];
    assert_eq!(reg["user"]["username"], "ann_1");
    assert_eq!(reg["user"]["email"], "ann@example.com");
    assert_eq!(reg["user"]["displayName"], "Ann");
    let token = reg["token"].as_str().unwrap();
    assert!(token.starts_with("cfb_"));

    let me = app.ok(Some(token), ME, json!({})).await;
    assert_eq!(me["me"]["username"], "ann_1");
    assert_eq!(me["me"]["role"], "USER");
    assert_eq!(me["me"]["status"], "OFFLINE");
    assert_eq!(me["me"]["email"], "ann@example.com");

    // Sign in by username and by email, any case.
    for login in ["ANN_1", "ann@example.COM"] {
        let data = app
            .ok(
                None,
                LOGIN,
                json!({ "input": { "login": login, "password": "correct horse" } }),
            )
            .await;
        assert_eq!(data["login"]["user"]["username"], "ann_1");
        let token = data["login"]["token"].as_str().unwrap();
        let me = app.ok(Some(token), ME, json!({})).await;
        assert_eq!(me["me"]["id"], reg["user"]["id"]);
    }

    // The token itself is never stored, only its hash.
    assert_eq!(app.count("sessions").await, 3);
    let stored = app
        .count(&format!("sessions WHERE token_hash = '{token}'"))
        .await;
    assert_eq!(stored, 0);

    // Anonymous and garbage tokens are anonymous.
    assert!(app.ok(None, ME, json!({})).await["me"].is_null());
    assert!(app.ok(Some("cfb_nope"), ME, json!({})).await["me"].is_null());

    // Logout revokes only the calling session.
    assert_eq!(
        app.ok(Some(token), "mutation { logout }", json!({})).await["logout"],
        true
    );
    assert!(app.ok(Some(token), ME, json!({})).await["me"].is_null());
    let body = app.gql(Some(token), "mutation { logout }", json!({})).await;
    assert_eq!(first_error(&body).0, "UNAUTHENTICATED");
}

async fn register_rejects_bad_input_by_field(app: &TestApp) {
    let cases = [
        (
            json!({ "username": "ab", "email": "a@b.io", "password": "password1" }),
            "username",
        ),
        (
            json!({ "username": "has space", "email": "a@b.io", "password": "password1" }),
            "username",
        ),
        (
            json!({ "username": "robert'); DROP TABLE users;--", "email": "a@b.io", "password": "password1" }),
            "username",
        ),
        (
            json!({ "username": "x".repeat(33), "email": "a@b.io", "password": "password1" }),
            "username",
        ),
        (
            json!({ "username": "ann", "email": "not-an-email", "password": "password1" }),
            "email",
        ),
        (
            json!({ "username": "ann", "email": "a@b.io", "password": "short" }),
            "password",
        ),
        (
            json!({ "username": "ann", "email": "a@b.io", "password": "p".repeat(129) }),
            "password",
        ),
        (
            json!({ "username": "ann", "email": "a@b.io", "password": "password1", "displayName": "   " }),
            "displayName",
        ),
    ];
    for (input, field) in cases {
        let body = app.gql(None, REGISTER, json!({ "input": input })).await;
        let (code, message, got_field) = first_error(&body);
        assert_eq!(code, "BAD_USER_INPUT", "{input}: {body}");
        assert_eq!(got_field.as_deref(), Some(field), "{input}: {message}");
        assert!(body["data"].is_null(), "{body}");
    }
    // A missing required field is a GraphQL validation error, still coded.
    let body = app
        .gql(
            None,
            REGISTER,
            json!({ "input": { "username": "ann", "password": "password1" } }),
        )
        .await;
    assert_eq!(first_error(&body).0, "BAD_USER_INPUT");
    assert_eq!(app.count("users").await, 0);
}

async fn duplicates_conflict_and_write_nothing(app: &TestApp) {
    app.register("ann").await;
    for (username, email) in [("ANN", "other@example.com"), ("ann2", "ANN@example.com")] {
        let body = app
            .gql(
                None,
                REGISTER,
                json!({ "input": { "username": username, "email": email, "password": "password1" } }),
            )
            .await;
        assert_eq!(first_error(&body).0, "CONFLICT", "{body}");
    }
    assert_eq!(app.count("users").await, 1);
    assert_eq!(app.count("sessions").await, 1);
}

async fn wrong_password_and_unknown_user_look_the_same(app: &TestApp) {
    app.register("ann").await;
    let wrong = app
        .gql(
            None,
            LOGIN,
            json!({ "input": { "login": "ann", "password": "wrong password" } }),
        )
        .await;
    let unknown = app
        .gql(
            None,
            LOGIN,
            json!({ "input": { "login": "nobody", "password": "wrong password" } }),
        )
        .await;
    assert_eq!(first_error(&wrong).0, "UNAUTHENTICATED");
    assert_eq!(first_error(&wrong), first_error(&unknown));
    assert_eq!(app.count("sessions").await, 1);
}

async fn sessions_list_and_revoke(app: &TestApp) {
    let (first, _) = app.register("ann").await;
    let second = app
        .ok(
            None,
            LOGIN,
            json!({ "input": { "login": "ann", "password": "password-ann" } }),
        )
        .await["login"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let list = app
        .ok(
            Some(&first),
            "{ sessions { id current createdAt expiresAt lastActiveAt } }",
            json!({}),
        )
        .await;
    let sessions = list["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    // Newest first: the second sign-in, which is not the caller's.
    assert_eq!(sessions[0]["current"], false);
    assert_eq!(sessions[1]["current"], true);
    let second_id = sessions[0]["id"].as_str().unwrap();

    // Another user cannot see or revoke ann's sessions.
    let (bob, _) = app.register("bob").await;
    let body = app
        .gql(
            Some(&bob),
            "mutation($id: UUID!) { revokeSession(id: $id) }",
            json!({ "id": second_id }),
        )
        .await;
    assert_eq!(first_error(&body).0, "NOT_FOUND");
    assert!(app.ok(Some(&second), ME, json!({})).await["me"].is_object());

    let revoked = app
        .ok(
            Some(&first),
            "mutation($id: UUID!) { revokeSession(id: $id) }",
            json!({ "id": second_id }),
        )
        .await;
    assert_eq!(revoked["revokeSession"], true);
    assert!(app.ok(Some(&second), ME, json!({})).await["me"].is_null());
    let list = app.ok(Some(&first), "{ sessions { id } }", json!({})).await;
    assert_eq!(list["sessions"].as_array().unwrap().len(), 1);

    let body = app.gql(None, "{ sessions { id } }", json!({})).await;
    assert_eq!(first_error(&body).0, "UNAUTHENTICATED");
}

async fn expired_and_deleted_accounts_are_refused(app: &TestApp) {
    use sea_orm::ConnectionTrait;
    let (ann, _) = app.register("ann").await;
    let (bob, _) = app.register("bob").await;
    app.db
        .execute_unprepared(
            "UPDATE sessions SET expires_at = created_at WHERE user_id = (SELECT id FROM users WHERE username = 'ann')",
        )
        .await
        .unwrap();
    app.forget_signed_in();
    assert!(app.ok(Some(&ann), ME, json!({})).await["me"].is_null());

    app.db
        .execute_unprepared("UPDATE users SET deleted_at = created_at WHERE username = 'bob'")
        .await
        .unwrap();
    app.forget_signed_in();
    assert!(app.ok(Some(&bob), ME, json!({})).await["me"].is_null());
    let body = app
        .gql(
            None,
            LOGIN,
            json!({ "input": { "login": "bob", "password": "password-bob" } }),
        )
        .await;
    assert_eq!(first_error(&body).0, "UNAUTHENTICATED");
}

/// A request whose session was last active over a minute ago records the activity (in the
/// SQLite writer turn) before it runs.
async fn requests_record_session_activity(app: &TestApp) {
    use sea_orm::ConnectionTrait;
    let (ann, _) = app.register("ann").await;
    app.db
        .execute_unprepared("UPDATE sessions SET last_active_at = '2020-01-01T00:00:00+00:00'")
        .await
        .unwrap();
    app.forget_signed_in();
    let list = app
        .ok(
            Some(&ann),
            "{ sessions { current lastActiveAt } }",
            json!({}),
        )
        .await;
    let session = &list["sessions"][0];
    assert_eq!(session["current"], true);
    let at =
        chrono::DateTime::parse_from_rfc3339(session["lastActiveAt"].as_str().unwrap()).unwrap();
    let ago = chrono::Utc::now() - at.to_utc();
    assert!(ago.num_seconds() < 60, "last active {at}, {ago} ago");
}

async fn profiles_show_email_only_to_owner(app: &TestApp) {
    let (ann, ann_id) = app.register("ann").await;
    let (bob, _) = app.register("bob").await;
    let query = "query($id: UUID!) { user(id: $id) { username email } }";
    let own = app.ok(Some(&ann), query, json!({ "id": ann_id })).await;
    assert_eq!(own["user"]["email"], "ann@example.com");
    let other = app.ok(Some(&bob), query, json!({ "id": ann_id })).await;
    assert_eq!(other["user"]["username"], "ann");
    assert!(other["user"]["email"].is_null());
    let by_name = app
        .ok(
            Some(&bob),
            "{ userByUsername(username: \"ANN\") { id email } }",
            json!({}),
        )
        .await;
    assert_eq!(by_name["userByUsername"]["id"], ann_id);
    assert!(by_name["userByUsername"]["email"].is_null());
    let missing = app
        .ok(
            Some(&bob),
            "{ userByUsername(username: \"nobody\") { id } }",
            json!({}),
        )
        .await;
    assert!(missing["userByUsername"].is_null());
    let body = app.gql(None, query, json!({ "id": ann_id })).await;
    assert_eq!(first_error(&body).0, "UNAUTHENTICATED");
}

async fn update_profile(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let mutation = "mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { displayName status chosenStatus email } }";
    let data = app
        .ok(
            Some(&ann),
            mutation,
            json!({ "input": { "displayName": "Ann A.", "status": "AWAY" } }),
        )
        .await;
    assert_eq!(data["updateProfile"]["displayName"], "Ann A.");
    assert_eq!(data["updateProfile"]["chosenStatus"], "AWAY");
    // Presence: without an open socket everyone sees OFFLINE.
    assert_eq!(data["updateProfile"]["status"], "OFFLINE");

    let body = app
        .gql(
            Some(&ann),
            mutation,
            json!({ "input": { "displayName": "x".repeat(65) } }),
        )
        .await;
    let (code, _, field) = first_error(&body);
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("displayName"))
    );
    let body = app
        .gql(
            Some(&ann),
            mutation,
            json!({ "input": { "status": "ASLEEP" } }),
        )
        .await;
    assert_eq!(first_error(&body).0, "BAD_USER_INPUT");
    let body = app
        .gql(
            Some(&ann),
            mutation,
            json!({ "input": { "avatarBlobId": "0".repeat(64) } }),
        )
        .await;
    assert_eq!(first_error(&body).2.as_deref(), Some("avatarBlobId"));
    assert_eq!(
        app.ok(Some(&ann), ME, json!({})).await["me"]["displayName"],
        "Ann A."
    );
}
