//! Two-factor recovery: ten one-time recovery codes (replaced by a new set), accepted once
//! each by `login` in place of a TOTP code, wrong ones counted by the account's lockout, and
//! `disableTotp` with the password and a TOTP or recovery code.

use serde_json::{Value, json};
use totp_rs::{Builder, Secret};

use crate::on_both_backends;
use crate::util::{TestApp, first_error};

on_both_backends!(
    recovery_codes_sign_in_once,
    disable_totp_needs_password_and_code
);

const REGENERATE: &str = "mutation($p: String!) { regenerateRecoveryCodes(password: $p) }";
const LOGIN: &str = "mutation($i: LoginInput!) { login(input: $i) { token } }";
const DISABLE: &str =
    "mutation($p: String!, $c: String!) { disableTotp(password: $p, code: $c) { username } }";

fn code_for(secret: &str) -> String {
    code_in(secret, 0)
}

/// The code of the time step `steps` away from the current one (the server allows one step).
fn code_in(secret: &str, steps: u64) -> String {
    let totp = Builder::new()
        .with_secret(Secret::try_from_base32(secret).unwrap())
        .with_account_name("ann")
        .build()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    totp.generate(now + steps * 30).to_string()
}

/// Registers ann with two-factor sign-in on; returns (token, secret).
async fn ann_with_totp(app: &TestApp) -> (String, String) {
    let (ann, _) = app.register("ann").await;
    let setup = app
        .ok(Some(&ann), "mutation { enableTotp { secret } }", json!({}))
        .await;
    let secret = setup["enableTotp"]["secret"].as_str().unwrap().to_owned();
    app.ok(
        Some(&ann),
        "mutation($c: String!) { confirmTotp(code: $c) { username } }",
        json!({ "c": code_for(&secret) }),
    )
    .await;
    (ann, secret)
}

fn codes(data: &Value) -> Vec<String> {
    data["regenerateRecoveryCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect()
}

fn with_recovery(code: &str) -> Value {
    json!({ "i": { "login": "ann", "password": "password-ann", "recoveryCode": code } })
}

async fn recovery_codes_sign_in_once(app: &TestApp) {
    // Without two-factor there is nothing to recover.
    let (bob, _) = app.register("bob").await;
    let body = app
        .gql(Some(&bob), REGENERATE, json!({ "p": "password-bob" }))
        .await;
    assert_eq!(first_error(&body).0, "CONFLICT");

    let (ann, _) = ann_with_totp(app).await;
    let body = app
        .gql(Some(&ann), REGENERATE, json!({ "p": "wrong-password" }))
        .await;
    assert_eq!(first_error(&body).2.as_deref(), Some("password"));
    let first = codes(
        &app.ok(Some(&ann), REGENERATE, json!({ "p": "password-ann" }))
            .await,
    );
    assert_eq!(first.len(), 10);
    let distinct: std::collections::HashSet<_> = first.iter().collect();
    assert_eq!(distinct.len(), 10, "{first:?}");
    // Stored hashed: no code appears in the table.
    assert_eq!(app.count("recovery_codes").await, 10);
    for code in &first {
        assert_eq!(
            app.count(&format!("recovery_codes WHERE code_hash = '{code}'"))
                .await,
            0
        );
    }

    // A new set replaces the old one.
    let second = codes(
        &app.ok(Some(&ann), REGENERATE, json!({ "p": "password-ann" }))
            .await,
    );
    assert_eq!(app.count("recovery_codes").await, 10);
    let body = app.gql(None, LOGIN, with_recovery(&first[0])).await;
    assert_eq!(first_error(&body).0, "UNAUTHENTICATED");

    // A code signs in once (case and dashes do not matter); the second time it is refused.
    let typed = second[0].to_uppercase().replace('-', " ");
    let data = app.ok(None, LOGIN, with_recovery(&typed)).await;
    assert!(data["login"]["token"].as_str().is_some());
    let body = app.gql(None, LOGIN, with_recovery(&second[0])).await;
    assert_eq!(first_error(&body).0, "UNAUTHENTICATED");
    // Another code still works; the failures are in the account's security events.
    app.ok(None, LOGIN, with_recovery(&second[1])).await;
    let events = app
        .ok(
            Some(&ann),
            "query { mySecurityEvents(first: 50) { nodes { kind details } } }",
            json!({}),
        )
        .await;
    let nodes = events["mySecurityEvents"]["nodes"].as_array().unwrap();
    let failures = nodes
        .iter()
        .filter(|n| {
            n["kind"] == "login_failed" && n["details"].as_str().unwrap().contains("recovery_code")
        })
        .count();
    assert_eq!(failures, 2, "{events}");
    assert!(
        nodes
            .iter()
            .any(|n| n["kind"] == "recovery_codes_regenerated"),
        "{events}"
    );

    // Wrong recovery codes count against the lockout like wrong TOTP codes (a success above
    // cleared the count): 5 lock the account, and then even a good code is refused for a while.
    for _ in 0..5 {
        let body = app.gql(None, LOGIN, with_recovery("aaaaa-aaaaa")).await;
        assert_eq!(first_error(&body).0, "UNAUTHENTICATED");
    }
    let body = app.gql(None, LOGIN, with_recovery(&second[2])).await;
    assert_eq!(first_error(&body).0, "RATE_LIMITED", "{body}");
}

async fn disable_totp_needs_password_and_code(app: &TestApp) {
    let (ann, secret) = ann_with_totp(app).await;
    let recovery = codes(
        &app.ok(Some(&ann), REGENERATE, json!({ "p": "password-ann" }))
            .await,
    );
    let body = app
        .gql(
            Some(&ann),
            DISABLE,
            json!({ "p": "wrong-password", "c": recovery[0] }),
        )
        .await;
    assert_eq!(first_error(&body).2.as_deref(), Some("password"));
    let body = app
        .gql(
            Some(&ann),
            DISABLE,
            json!({ "p": "password-ann", "c": "000000" }),
        )
        .await;
    assert_eq!(first_error(&body).2.as_deref(), Some("code"));
    // Still on: a password alone does not sign in.
    let body = app
        .gql(
            None,
            LOGIN,
            json!({ "i": { "login": "ann", "password": "password-ann" } }),
        )
        .await;
    assert_eq!(first_error(&body).0, "UNAUTHENTICATED");

    // A recovery code turns it off; sign-in needs the password only, the codes are gone.
    app.ok(
        Some(&ann),
        DISABLE,
        json!({ "p": "password-ann", "c": recovery[0] }),
    )
    .await;
    assert_eq!(app.count("recovery_codes").await, 0);
    app.ok(
        None,
        LOGIN,
        json!({ "i": { "login": "ann", "password": "password-ann" } }),
    )
    .await;
    let body = app
        .gql(
            Some(&ann),
            DISABLE,
            json!({ "p": "password-ann", "c": code_for(&secret) }),
        )
        .await;
    assert_eq!(first_error(&body).0, "CONFLICT");
    let events = app
        .ok(
            Some(&ann),
            "query { mySecurityEvents(first: 50) { nodes { kind } } }",
            json!({}),
        )
        .await;
    let kinds: Vec<&str> = events["mySecurityEvents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds[0], "totp_disabled", "{kinds:?}");
    assert!(kinds.contains(&"totp_enabled"), "{kinds:?}");

    // On again, a current TOTP code turns it off too.
    let setup = app
        .ok(Some(&ann), "mutation { enableTotp { secret } }", json!({}))
        .await;
    let secret = setup["enableTotp"]["secret"].as_str().unwrap().to_owned();
    app.ok(
        Some(&ann),
        "mutation($c: String!) { confirmTotp(code: $c) { username } }",
        json!({ "c": code_for(&secret) }),
    )
    .await;
    // The confirming code's step is used: the next step's code (within the allowed skew).
    app.ok(
        Some(&ann),
        DISABLE,
        json!({ "p": "password-ann", "c": code_in(&secret, 1) }),
    )
    .await;
    let body = app
        .gql(
            None,
            LOGIN,
            json!({ "i": { "login": "ann", "password": "password-ann" } }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
}
