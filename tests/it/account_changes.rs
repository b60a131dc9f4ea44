//! Changes of username and email address: a new username at once, under registration's rules
//! and CONFLICT; a new address only once a token mailed to it is presented, with CONFLICT when
//! another account has it (at the request and again at the confirmation).

use serde_json::json;

use crate::on_both_backends;
use crate::util::{TestApp, first_error};

const CHANGE_USERNAME: &str =
    "mutation($u: String!) { changeUsername(newUsername: $u) { id username } }";
const CHANGE_EMAIL: &str =
    "mutation($e: String!, $p: String!) { changeEmail(newEmail: $e, password: $p) }";
const CONFIRM: &str =
    "mutation($t: String!) { confirmEmailChange(token: $t) { id username email emailVerified } }";
const LOGIN: &str = "mutation($i: LoginInput!) { login(input: $i) { user { id } } }";

/// The token in the last mail to `to`.
fn mailed_token(app: &TestApp, to: &str) -> String {
    let outbox = app.mailer.outbox.lock().unwrap();
    let mail = outbox
        .iter()
        .rev()
        .find(|m| m.to == to)
        .unwrap_or_else(|| panic!("no mail to {to}: {outbox:?}"));
    let start = mail.body.find("token=").expect("a link with a token") + "token=".len();
    mail.body[start..].chars().take(68).collect()
}

async fn usernames_change_under_registration_rules(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let data = ann.ok(CHANGE_USERNAME, json!({ "u": "  Annie_2 " })).await;
    assert_eq!(data["changeUsername"]["username"], "annie_2");
    assert_eq!(data["changeUsername"]["id"], ann.id.as_str());
    // Signs in under the new name only.
    let login = |name: &str| json!({ "i": { "login": name, "password": "password-ann" } });
    let data = app.ok(None, LOGIN, login("annie_2")).await;
    assert_eq!(data["login"]["user"]["id"], ann.id.as_str());
    assert_eq!(
        first_error(&app.gql(None, LOGIN, login("ann")).await).0,
        "UNAUTHENTICATED"
    );
    // A taken name is a CONFLICT; a bad one names the field; the old one is free again.
    let (code, _, _) = first_error(&ann.gql(CHANGE_USERNAME, json!({ "u": "bob" })).await);
    assert_eq!(code, "CONFLICT");
    let (code, _, field) =
        first_error(&ann.gql(CHANGE_USERNAME, json!({ "u": "no spaces" })).await);
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("newUsername"))
    );
    let me = ann.ok("{ me { username } }", json!({})).await;
    assert_eq!(me["me"]["username"], "annie_2");
    let data = bob.ok(CHANGE_USERNAME, json!({ "u": "ann" })).await;
    assert_eq!(data["changeUsername"]["username"], "ann");
    // Signed out: nobody to rename.
    let body = app
        .gql(None, CHANGE_USERNAME, json!({ "u": "someone" }))
        .await;
    assert_eq!(first_error(&body).0, "UNAUTHENTICATED");
}

async fn emails_change_once_confirmed(app: &TestApp) {
    let ann = app.user("ann").await;
    app.user("bob").await;
    let change = |email: &str, password: &str| json!({ "e": email, "p": password });
    // Wrong password, taken address, bad address: nothing mailed.
    let (code, _, field) = first_error(
        &ann.gql(CHANGE_EMAIL, change("new@example.com", "wrong-password"))
            .await,
    );
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("password"))
    );
    let (code, _, _) = first_error(
        &ann.gql(CHANGE_EMAIL, change("BOB@example.com", "password-ann"))
            .await,
    );
    assert_eq!(code, "CONFLICT");
    let (code, _, field) = first_error(
        &ann.gql(CHANGE_EMAIL, change("not an address", "password-ann"))
            .await,
    );
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("newEmail"))
    );
    let body = app
        .gql(
            None,
            CHANGE_EMAIL,
            change("new@example.com", "password-ann"),
        )
        .await;
    assert_eq!(first_error(&body).0, "UNAUTHENTICATED");
    assert!(
        app.mailer
            .outbox
            .lock()
            .unwrap()
            .iter()
            .all(|m| m.to != "new@example.com")
    );

    let data = ann
        .ok(CHANGE_EMAIL, change("New@Example.com", "password-ann"))
        .await;
    assert_eq!(data["changeEmail"], true);
    let token = mailed_token(app, "new@example.com");
    // Nothing changes until the new address confirms.
    let me = ann.ok("{ me { email } }", json!({})).await;
    assert_eq!(me["me"]["email"], "ann@example.com");
    // The token is the proof: it works signed in or not; the owner sees the address.
    let data = ann.ok(CONFIRM, json!({ "t": token })).await;
    assert_eq!(data["confirmEmailChange"]["email"], "new@example.com");
    assert_eq!(data["confirmEmailChange"]["emailVerified"], true);
    let me = ann.ok("{ me { email } }", json!({})).await;
    assert_eq!(me["me"]["email"], "new@example.com");
    let events = ann
        .ok(
            "query { mySecurityEvents(first: 5) { edges { node { kind } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        events["mySecurityEvents"]["edges"][0]["node"]["kind"], "email_changed",
        "{events}"
    );
    let login = json!({ "i": { "login": "new@example.com", "password": "password-ann" } });
    assert_eq!(
        app.ok(None, LOGIN, login).await["login"]["user"]["id"],
        ann.id.as_str()
    );
    // A token works once.
    let (code, message, field) = first_error(&app.gql(None, CONFIRM, json!({ "t": token })).await);
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("token"))
    );
    assert_eq!(message, "invalid, expired or already used token");

    // Taken between the request and the confirmation: CONFLICT, the address stays.
    ann.ok(
        CHANGE_EMAIL,
        change("contested@example.com", "password-ann"),
    )
    .await;
    let token = mailed_token(app, "contested@example.com");
    let carl = json!({ "input": { "username": "carl", "email": "contested@example.com", "password": "password-carl" } });
    app.ok(
        None,
        "mutation($input: RegisterInput!) { register(input: $input) { token } }",
        carl,
    )
    .await;
    let (code, _, _) = first_error(&app.gql(None, CONFIRM, json!({ "t": token })).await);
    assert_eq!(code, "CONFLICT");
    let me = ann.ok("{ me { email } }", json!({})).await;
    assert_eq!(me["me"]["email"], "new@example.com");
}

on_both_backends!(
    usernames_change_under_registration_rules,
    emails_change_once_confirmed
);
