//! Account security over HTTP: email verification, TOTP two-factor sign-in, password change.

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use totp_rs::{Builder, Secret};

use crate::on_both_backends;
use crate::util::{TestApp, first_error};

const LOGIN: &str = "mutation($i: LoginInput!) { login(input: $i) { token } }";
const ME: &str = "{ me { username emailVerified } }";

on_both_backends!(
    email_verification_tokens_work_once,
    totp_guards_sign_in,
    password_change_signs_out_other_sessions,
    password_change_guesses_are_locked_out,
    sign_in_failures_count_per_account
);

fn last_token(app: &TestApp) -> String {
    let outbox = app.mailer.outbox.lock().unwrap();
    let body = &outbox.last().expect("a mail").body;
    let start = body.find("cfb_").expect("token in mail");
    body[start..start + 68].to_owned()
}

async fn email_verification_tokens_work_once(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    assert_eq!(
        app.ok(Some(&ann), ME, json!({})).await["me"]["emailVerified"],
        false
    );
    app.ok(
        Some(&ann),
        "mutation { requestEmailVerification }",
        json!({}),
    )
    .await;
    assert_eq!(app.mailer.outbox.lock().unwrap()[0].to, "ann@example.com");
    let token = last_token(app);
    // A link to the client's confirm page carries it.
    let body = app.mailer.outbox.lock().unwrap()[0].body.clone();
    assert!(
        body.contains(&format!("/confirm-email?token={token}")),
        "{body}"
    );
    // The token itself is not stored.
    assert_eq!(
        app.count(&format!("verification_tokens WHERE token_hash = '{token}'"))
            .await,
        0
    );

    let verify = "mutation($t: String!) { verifyEmail(token: $t) { username } }";
    assert_eq!(
        app.ok(None, verify, json!({ "t": token })).await["verifyEmail"]["username"],
        "ann"
    );
    assert_eq!(
        app.ok(Some(&ann), ME, json!({})).await["me"]["emailVerified"],
        true
    );
    // A security event of ann's, with the address the confirmation came from.
    let events = app
        .ok(
            Some(&ann),
            "query { mySecurityEvents(first: 5) { edges { node { kind ip } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        events["mySecurityEvents"]["edges"][0]["node"],
        json!({ "kind": "email_verified", "ip": "127.0.0.1" })
    );
    for bad in [token.as_str(), "cfb_nope", ""] {
        let (code, _, field) = first_error(&app.gql(None, verify, json!({ "t": bad })).await);
        assert_eq!(
            (code.as_str(), field.as_deref()),
            ("BAD_USER_INPUT", Some("token"))
        );
    }

    let (bob, _) = app.register("bob").await;
    app.ok(
        Some(&bob),
        "mutation { requestEmailVerification }",
        json!({}),
    )
    .await;
    let expired = last_token(app);
    app.db
        .execute_unprepared("UPDATE verification_tokens SET expires_at = created_at")
        .await
        .unwrap();
    assert_eq!(
        first_error(&app.gql(None, verify, json!({ "t": expired })).await).0,
        "BAD_USER_INPUT"
    );
    assert_eq!(
        app.ok(Some(&bob), ME, json!({})).await["me"]["emailVerified"],
        false
    );
}

fn code_for(secret: &str) -> String {
    code_in(secret, 0)
}

/// The code of the time step `steps` away from the current one (the server takes one step of
/// clock skew either way).
fn code_in(secret: &str, steps: i64) -> String {
    let secret = Secret::try_from_base32(secret).unwrap();
    let totp = Builder::new()
        .with_secret(secret)
        .with_account_name("ann")
        .build()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    totp.generate(now.saturating_add_signed(steps * 30))
        .to_string()
}

async fn totp_guards_sign_in(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let setup = app
        .ok(
            Some(&ann),
            "mutation { enableTotp { secret otpauthUri } }",
            json!({}),
        )
        .await;
    let secret = setup["enableTotp"]["secret"].as_str().unwrap().to_owned();
    let uri = setup["enableTotp"]["otpauthUri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/Confab:ann?"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");

    let confirm = "mutation($c: String!) { confirmTotp(code: $c) { username } }";
    let (code, _, field) = first_error(
        &app.gql(Some(&ann), confirm, json!({ "c": "000000x" }))
            .await,
    );
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("code"))
    );
    let two_factor =
        "query($id: UUID!) { me { twoFactorEnabled } user(id: $id) { twoFactorEnabled } }";
    let ann_id = app.ok(Some(&ann), "{ me { id } }", json!({})).await["me"]["id"].clone();
    let (bob, _) = app.register("bob").await;
    assert_eq!(
        app.ok(Some(&ann), two_factor, json!({ "id": ann_id }))
            .await["me"]["twoFactorEnabled"],
        false
    );
    let confirming = code_for(&secret);
    app.ok(Some(&ann), confirm, json!({ "c": confirming }))
        .await;
    // On for its owner to see; nobody else learns it.
    let seen = app
        .ok(Some(&ann), two_factor, json!({ "id": ann_id }))
        .await;
    assert_eq!(seen["me"]["twoFactorEnabled"], true);
    assert_eq!(seen["user"]["twoFactorEnabled"], true);
    let seen = app
        .ok(Some(&bob), two_factor, json!({ "id": ann_id }))
        .await;
    assert_eq!(seen["user"]["twoFactorEnabled"], Value::Null, "{seen}");
    let again = app
        .gql(Some(&ann), "mutation { enableTotp { secret } }", json!({}))
        .await;
    assert_eq!(first_error(&again).0, "CONFLICT");

    let login = |code: Option<String>| json!({ "i": { "login": "ann", "password": "password-ann", "totpCode": code } });
    let (code, message, _) = first_error(&app.gql(None, LOGIN, login(None)).await);
    assert_eq!(code, "UNAUTHENTICATED");
    assert!(message.contains("totpCode"), "{message}");
    assert_eq!(
        first_error(&app.gql(None, LOGIN, login(Some("123456".into()))).await).0,
        "UNAUTHENTICATED"
    );
    // A code is accepted once: the one that confirmed is used up, and so is a code that signed
    // in, and any code of an earlier step.
    let (code, message, _) =
        first_error(&app.gql(None, LOGIN, login(Some(confirming.clone()))).await);
    assert_eq!(code, "UNAUTHENTICATED");
    assert!(message.contains("already used"), "{message}");
    let next = code_in(&secret, 1);
    let token = app.ok(None, LOGIN, login(Some(next.clone()))).await["login"]["token"].clone();
    assert!(token.as_str().unwrap().starts_with("cfb_"));
    for replayed in [next, confirming] {
        let (code, message, _) = first_error(&app.gql(None, LOGIN, login(Some(replayed))).await);
        assert_eq!(code, "UNAUTHENTICATED");
        assert!(message.contains("already used"), "{message}");
    }
    // A wrong password never reveals whether the code was needed.
    let body = app
        .gql(
            None,
            LOGIN,
            json!({ "i": { "login": "ann", "password": "wrong-password" } }),
        )
        .await;
    assert_eq!(first_error(&body).1, "unknown login or wrong password");
}

async fn password_change_signs_out_other_sessions(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let other = app
        .ok(
            None,
            LOGIN,
            json!({ "i": { "login": "ann", "password": "password-ann" } }),
        )
        .await["login"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let change = "mutation($i: ChangePasswordInput!) { changePassword(input: $i) }";
    let body = app
        .gql(
            Some(&ann),
            change,
            json!({ "i": { "currentPassword": "nope-nope", "newPassword": "brand new pass" } }),
        )
        .await;
    assert_eq!(first_error(&body).2.as_deref(), Some("currentPassword"));
    let body = app
        .gql(
            Some(&ann),
            change,
            json!({ "i": { "currentPassword": "password-ann", "newPassword": "short" } }),
        )
        .await;
    assert_eq!(first_error(&body).2.as_deref(), Some("newPassword"));

    app.ok(
        Some(&ann),
        change,
        json!({ "i": { "currentPassword": "password-ann", "newPassword": "brand new pass" } }),
    )
    .await;
    assert!(
        app.ok(Some(&other), ME, json!({})).await["me"].is_null(),
        "other sessions are signed out"
    );
    assert_eq!(
        app.ok(Some(&ann), ME, json!({})).await["me"]["username"],
        "ann",
        "this one stays"
    );
    assert_eq!(
        first_error(
            &app.gql(
                None,
                LOGIN,
                json!({ "i": { "login": "ann", "password": "password-ann" } })
            )
            .await
        )
        .0,
        "UNAUTHENTICATED"
    );
    app.ok(
        None,
        LOGIN,
        json!({ "i": { "login": "ann", "password": "brand new pass" } }),
    )
    .await;
}

const CHANGE: &str = "mutation($i: ChangePasswordInput!) { changePassword(input: $i) }";

fn retry_after(body: &serde_json::Value) -> u64 {
    body["errors"][0]["extensions"]["retryAfter"]
        .as_u64()
        .unwrap_or(0)
}

async fn password_hash(app: &TestApp, username: &str) -> String {
    let row = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            format!("SELECT password_hash FROM users WHERE username = '{username}'"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<String>("", "password_hash").unwrap()
}

/// `changePassword` shares the sign-in lockout of the account: after 5 wrong current
/// passwords (the default `--rate-login-failures`) even the right one is RATE_LIMITED, and so
/// is signing in; other accounts are untouched.
async fn password_change_guesses_are_locked_out(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, _) = app.register("bob").await;
    let before = password_hash(app, "ann").await;
    let change = |current: &str| json!({ "i": { "currentPassword": current, "newPassword": "brand new pass" } });
    for i in 0..5 {
        let body = app
            .gql(Some(&ann), CHANGE, change(&format!("guess-number-{i}")))
            .await;
        let (code, _, field) = first_error(&body);
        assert_eq!(
            (code.as_str(), field.as_deref()),
            ("BAD_USER_INPUT", Some("currentPassword")),
            "guess {i}: {body}"
        );
    }
    let locked = app.gql(Some(&ann), CHANGE, change("password-ann")).await;
    assert_eq!(first_error(&locked).0, "RATE_LIMITED", "{locked}");
    assert!(retry_after(&locked) >= 1, "{locked}");
    assert_eq!(password_hash(app, "ann").await, before, "nothing changed");
    // The same lockout guards signing in to the account.
    let login = app
        .gql(
            None,
            LOGIN,
            json!({ "i": { "login": "ann", "password": "password-ann" } }),
        )
        .await;
    assert_eq!(first_error(&login).0, "RATE_LIMITED", "{login}");
    // The session itself still works, and other accounts are not affected.
    assert_eq!(
        app.ok(Some(&ann), ME, json!({})).await["me"]["username"],
        "ann"
    );
    app.ok(
        Some(&bob),
        CHANGE,
        json!({ "i": { "currentPassword": "password-bob", "newPassword": "brand new pass" } }),
    )
    .await;
}

/// Sign-in failures count against the account whatever login names it (username, email, any
/// case), and a login naming no account locks after as many failures with the same answers.
async fn sign_in_failures_count_per_account(app: &TestApp) {
    app.register("ann").await;
    app.register("bob").await;
    let login =
        |login: &str, password: &str| json!({ "i": { "login": login, "password": password } });
    let mut known = Vec::new();
    for name in ["ann", " ANN ", "Ann", "ann@example.com", "ANN@Example.COM"] {
        known.push(app.gql(None, LOGIN, login(name, "wrong-password")).await);
    }
    // The sixth guess, by email, and then even the right password by username: locked.
    known.push(
        app.gql(None, LOGIN, login("ann@example.com", "wrong-password"))
            .await,
    );
    known.push(app.gql(None, LOGIN, login("ann", "password-ann")).await);
    let mut unknown = Vec::new();
    for name in [
        "ghost", " GHOST ", "Ghost", "ghost", "ghost", "ghost", "ghost",
    ] {
        unknown.push(app.gql(None, LOGIN, login(name, "wrong-password")).await);
    }
    for (i, (known, unknown)) in known.iter().zip(&unknown).enumerate() {
        let expected = if i < 5 {
            "UNAUTHENTICATED"
        } else {
            "RATE_LIMITED"
        };
        let (known_code, known_message, _) = first_error(known);
        assert_eq!(known_code, expected, "attempt {i} on ann: {known}");
        assert_eq!(
            first_error(unknown).0,
            expected,
            "attempt {i} on ghost: {unknown}"
        );
        if i < 5 {
            // Known and unknown logins answer alike (the lockout's seconds may differ).
            assert_eq!(known_message, first_error(unknown).1);
            assert!(known["data"].is_null() || known["data"]["login"].is_null());
        } else {
            assert!(retry_after(known) >= 1 && retry_after(unknown) >= 1);
        }
    }
    // Another account is not affected.
    app.ok(None, LOGIN, login("bob@example.com", "password-bob"))
        .await;
}
