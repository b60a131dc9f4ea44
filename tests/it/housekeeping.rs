//! Housekeeping: the maintenance round deletes expired and long-revoked sessions, used and
//! expired verification tokens, and audit rows past `--audit-retention-days`, and nothing
//! that is still live.

use std::sync::Arc;

use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::on_both_backends;
use crate::util::{TestApp, first_error};

on_both_backends!(maintenance_purges_what_is_spent);

const OLD: &str = "'2020-01-01T00:00:00+00:00'";

async fn sql(app: &TestApp, statement: &str) {
    app.db
        .execute_unprepared(statement)
        .await
        .unwrap_or_else(|err| panic!("{statement}: {err}"));
}

async fn maintenance_purges_what_is_spent(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let cat = app.user("cat").await;
    let dan = app.user("dan").await;
    for user in [&ann, &cat, &dan] {
        user.ok("mutation { requestEmailVerification }", json!({}))
            .await;
    }
    // Email changes asked for (before cat signs out).
    for (user, name) in [(&ann, "ann"), (&cat, "cat")] {
        user.ok(
            "mutation($e: String!, $p: String!) { changeEmail(newEmail: $e, password: $p) }",
            json!({ "e": format!("{name}-new@example.com"), "p": format!("password-{name}") }),
        )
        .await;
    }
    // Two failed sign-ins of ann's: audit rows.
    for _ in 0..2 {
        let body = app
            .gql(
                None,
                "mutation { login(input: { login: \"ann\", password: \"wrong-password\" }) { token } }",
                json!({}),
            )
            .await;
        assert_eq!(first_error(&body).0, "UNAUTHENTICATED");
    }
    cat.ok("mutation { logout }", json!({})).await;
    dan.ok("mutation { logout }", json!({})).await;
    let of = |name: &str| format!("(SELECT id FROM users WHERE username = '{name}')");
    // bob's session expired long ago; dan's was revoked long ago, cat's just now.
    sql(
        app,
        &format!(
            "UPDATE sessions SET expires_at = {OLD} WHERE user_id = {}",
            of("bob")
        ),
    )
    .await;
    sql(
        app,
        &format!(
            "UPDATE sessions SET revoked_at = {OLD} WHERE user_id = {}",
            of("dan")
        ),
    )
    .await;
    // cat's token expired, dan's was used; ann's is live.
    sql(
        app,
        &format!(
            "UPDATE verification_tokens SET expires_at = {OLD} WHERE user_id = {}",
            of("cat")
        ),
    )
    .await;
    sql(
        app,
        &format!(
            "UPDATE verification_tokens SET used_at = {OLD} WHERE user_id = {}",
            of("dan")
        ),
    )
    .await;
    // cat's email change expired; ann's is pending.
    sql(
        app,
        &format!(
            "UPDATE email_changes SET expires_at = {OLD} WHERE user_id = {}",
            of("cat")
        ),
    )
    .await;
    // One of ann's failed sign-ins is older than the retention.
    let audits = app.count("audit_events").await;
    assert_eq!(audits, 4, "two failed sign-ins, two sign-outs");
    sql(
        app,
        &format!(
            "UPDATE audit_events SET created_at = {OLD} WHERE id = (SELECT id FROM audit_events WHERE kind = 'login_failed' ORDER BY id LIMIT 1)"
        ),
    )
    .await;
    app.forget_signed_in();
    assert_eq!(app.count("sessions").await, 4);
    assert_eq!(app.count("verification_tokens").await, 3);

    let retention = confab::config::RetentionConfig {
        connection_log_days: 30,
        deleted_body_days: 30,
        audit_days: 365,
        maintenance_interval_secs: 600,
    };
    let turn = Arc::new(tokio::sync::Mutex::new(()));
    confab::workers::maintenance::once(&app.db, &turn, &retention).await;

    // Live ones stay: ann's session and cat's just-revoked one, ann's token, recent audit rows.
    let left = |table: &str, name: &str| format!("{table} WHERE user_id = {}", of(name));
    assert_eq!(app.count("sessions").await, 2);
    assert_eq!(app.count(&left("sessions", "ann")).await, 1);
    assert_eq!(app.count(&left("sessions", "cat")).await, 1);
    assert_eq!(app.count("verification_tokens").await, 1);
    assert_eq!(app.count(&left("verification_tokens", "ann")).await, 1);
    assert_eq!(app.count("email_changes").await, 1);
    assert_eq!(app.count(&left("email_changes", "ann")).await, 1);
    assert_eq!(app.count("audit_events").await, 3);
    let data = ann
        .ok(
            "query { mySecurityEvents { edges { node { kind } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["mySecurityEvents"]["edges"].as_array().unwrap().len(),
        1
    );
    // Nothing more goes on a second round.
    confab::workers::maintenance::once(&app.db, &turn, &retention).await;
    assert_eq!(app.count("sessions").await, 2);
    assert_eq!(app.count("audit_events").await, 3);
    let _ = bob;
}
