//! The flow's guards: a state works once and expires, redirect URIs and providers are
//! checked, an unreachable provider is a coded error, and the sign-in operations are rate
//! limited.

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use super::provider::{Browser, REDIRECT_URI};
use super::{COMPLETE, Provider, START, start};
use crate::util::{TestApp, first_error};

with_provider!(
    a_state_works_once,
    redirect_uris_and_providers_are_checked,
    expired_states_are_refused_and_purged,
);

/// `completeOidcLogin` spends `login`'s budget per address, `startOidcLogin` one of its own.
mod rate_limits {
    use crate::util::TestApp;

    fn tweak(provider: &crate::oidc::Provider) -> impl FnOnce(&mut confab::config::Config) {
        let providers = crate::oidc::settings(provider);
        move |c| {
            c.oidc = providers;
            c.limits.login_per_minute = 3;
        }
    }

    #[actix_web::test]
    async fn sqlite() {
        if !crate::oidc::provider::installed() {
            return;
        }
        let provider = crate::oidc::Provider::start();
        let app = TestApp::sqlite_with(tweak(&provider)).await;
        super::limits_hold(&app).await;
        app.stop().await;
    }

    #[actix_web::test]
    async fn postgres() {
        if !crate::oidc::provider::installed() {
            return;
        }
        let provider = crate::oidc::Provider::start();
        if let Some(app) = TestApp::postgres_with(tweak(&provider)).await {
            super::limits_hold(&app).await;
            app.stop().await;
        }
    }
}

async fn a_state_works_once(app: &TestApp, _provider: &Provider) {
    let (url, state) = start(app, None).await;
    let callback = Browser::new().sign_in(&url, "carol").await;
    // A code the provider never issued: refused, and the state is spent with it.
    let body = app
        .gql(
            None,
            COMPLETE,
            json!({ "p": "local", "c": "forged", "s": state }),
        )
        .await;
    assert_eq!(first_error(&body).0, "UNAUTHENTICATED", "{body}");
    let body = app
        .gql(
            None,
            COMPLETE,
            json!({ "p": "local", "c": callback.code, "s": state }),
        )
        .await;
    let (code, _, field) = first_error(&body);
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("state"))
    );
    assert_eq!(app.count("users").await, 0, "nothing half-written");

    // A state used once cannot be used again.
    let (url, _) = start(app, None).await;
    let callback = Browser::new().sign_in(&url, "carol").await;
    let vars = json!({ "p": "local", "c": callback.code, "s": callback.state });
    app.ok(None, COMPLETE, vars.clone()).await;
    let body = app.gql(None, COMPLETE, vars).await;
    assert_eq!(first_error(&body).2.as_deref(), Some("state"), "{body}");

    // A state nobody issued.
    let body = app
        .gql(
            None,
            COMPLETE,
            json!({ "p": "local", "c": "x", "s": "made-up" }),
        )
        .await;
    assert_eq!(first_error(&body).0, "BAD_USER_INPUT");
    assert_eq!(app.count("users").await, 1);
    assert_eq!(
        app.count("oidc_logins").await,
        0,
        "every used state is gone"
    );

    // A subject longer than OpenID Connect allows (255) is refused, not stored.
    let (url, _) = start(app, None).await;
    let callback = Browser::new().sign_in(&url, &"s".repeat(300)).await;
    let vars = json!({ "p": "local", "c": callback.code, "s": callback.state });
    let body = app.gql(None, COMPLETE, vars).await;
    assert_eq!(first_error(&body).0, "UNAUTHENTICATED", "{body}");
    assert_eq!(app.count("users").await, 1);
}

async fn redirect_uris_and_providers_are_checked(app: &TestApp, _provider: &Provider) {
    let data = app
        .ok(None, "{ oidcProviders { name displayName } }", json!({}))
        .await;
    assert_eq!(
        data["oidcProviders"],
        json!([
            { "name": "local", "displayName": "Local ID" },
            { "name": "down", "displayName": "down" },
        ])
    );
    let body = app
        .gql(
            None,
            START,
            json!({ "p": "local", "r": "http://127.0.0.1:9/elsewhere" }),
        )
        .await;
    let (code, _, field) = first_error(&body);
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("redirectUri"))
    );
    let body = app
        .gql(None, START, json!({ "p": "nope", "r": REDIRECT_URI }))
        .await;
    assert_eq!(first_error(&body).2.as_deref(), Some("provider"));
    let body = app
        .gql(None, START, json!({ "p": "down", "r": REDIRECT_URI }))
        .await;
    assert_eq!(first_error(&body).0, "PROVIDER_UNAVAILABLE", "{body}");
    assert_eq!(app.count("oidc_logins").await, 0);
}

async fn expired_states_are_refused_and_purged(app: &TestApp, _provider: &Provider) {
    let expire_oldest = "UPDATE oidc_logins SET expires_at = '2020-01-01T00:00:00+00:00' \
         WHERE id = (SELECT id FROM oidc_logins ORDER BY created_at, id LIMIT 1)";
    let (url, _) = start(app, None).await;
    let callback = Browser::new().sign_in(&url, "gus").await;
    app.db.execute_unprepared(expire_oldest).await.unwrap();
    let vars = json!({ "p": "local", "c": callback.code, "s": callback.state });
    let body = app.gql(None, COMPLETE, vars).await;
    assert_eq!(first_error(&body).2.as_deref(), Some("state"), "{body}");
    assert_eq!(app.count("users").await, 0);

    // Housekeeping deletes states that expired unused, and keeps the live ones.
    start(app, None).await;
    start(app, None).await;
    app.db.execute_unprepared(expire_oldest).await.unwrap();
    let retention = confab::config::RetentionConfig {
        connection_log_days: 30,
        deleted_body_days: 30,
        audit_days: 365,
        maintenance_interval_secs: 600,
    };
    let turn = std::sync::Arc::new(tokio::sync::Mutex::new(()));
    confab::workers::maintenance::once(&app.db, &turn, &retention).await;
    assert_eq!(app.count("oidc_logins").await, 1);
}

async fn limits_hold(app: &TestApp) {
    let code_of = |body: &Value| first_error(body).0;
    for _ in 0..3 {
        start(app, None).await;
        let body = app
            .gql(
                None,
                COMPLETE,
                json!({ "p": "local", "c": "x", "s": "made-up" }),
            )
            .await;
        assert_eq!(code_of(&body), "BAD_USER_INPUT");
    }
    let body = app
        .gql(
            None,
            COMPLETE,
            json!({ "p": "local", "c": "x", "s": "made-up" }),
        )
        .await;
    assert_eq!(code_of(&body), "RATE_LIMITED", "{body}");
    let login = json!({ "i": { "login": "nobody", "password": "any-password" } });
    let body = app
        .gql(
            None,
            "mutation($i: LoginInput!) { login(input: $i) { token } }",
            login,
        )
        .await;
    assert_eq!(
        code_of(&body),
        "RATE_LIMITED",
        "login shares the budget: {body}"
    );
    let body = app
        .gql(None, START, json!({ "p": "local", "r": REDIRECT_URI }))
        .await;
    assert_eq!(code_of(&body), "RATE_LIMITED", "{body}");
}
