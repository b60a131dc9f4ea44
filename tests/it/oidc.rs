//! OpenID Connect sign-in against a real provider: the certified `oidc-provider` npm package
//! (tests/oidc/provider.mjs) started by each test, driven over HTTP like a browser would:
//! startOidcLogin, the provider's login and consent forms, the redirect back with code and
//! state, completeOidcLogin (or linkOidcAccount), then `me` with the token. The settings come
//! from a `--config` file with `[[oidc]]` tables, read by the server's own parser.

mod provider;

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::util::{TestApp, first_error};
use provider::{Browser, Provider, REDIRECT_URI};

const START: &str = "mutation($p: String!, $r: String!) { startOidcLogin(provider: $p, redirectUri: $r) { authorizationUrl state } }";
const COMPLETE: &str = "mutation($p: String!, $c: String!, $s: String!) { completeOidcLogin(provider: $p, code: $c, state: $s) { token user { id username } } }";
const LINK: &str = "mutation($p: String!, $c: String!, $s: String!) { linkOidcAccount(provider: $p, code: $c, state: $s) { id username } }";
const ME: &str = "{ me { id username email emailVerified } }";
const EVENTS: &str = "{ mySecurityEvents(first: 10) { edges { node { kind } } } }";

/// Each scenario `async fn name(app: &TestApp, provider: &Provider)` on both backends, each
/// run with a provider of its own.
macro_rules! with_provider {
    ($($name:ident),* $(,)?) => { $(
        mod $name {
            #[actix_web::test]
            async fn sqlite() {
                if !crate::oidc::provider::installed() {
                    return;
                }
                let provider = crate::oidc::Provider::start();
                let providers = crate::oidc::settings(&provider);
                let app = crate::util::TestApp::sqlite_with(|c| c.oidc = providers).await;
                super::$name(&app, &provider).await;
                app.stop().await;
            }

            #[actix_web::test]
            async fn postgres() {
                if !crate::oidc::provider::installed() {
                    return;
                }
                let provider = crate::oidc::Provider::start();
                let providers = crate::oidc::settings(&provider);
                if let Some(app) = crate::util::TestApp::postgres_with(|c| c.oidc = providers).await {
                    super::$name(&app, &provider).await;
                    app.stop().await;
                }
            }
        }
    )* };
}

with_provider!(
    first_sign_in_creates_the_account,
    an_unverified_email_is_not_taken,
    an_account_with_the_same_email_is_not_merged,
    linking_an_identity,
    a_deleted_account_frees_its_identity,
    a_banned_account_is_refused,
    a_fresh_sign_in_stands_in_for_the_missing_password,
);

// After the macro, which it uses.
mod flow;

/// `[[oidc]]` for the provider (`local`) and one whose issuer is down (`down`), through the
/// server's own `--config` parser.
fn settings(provider: &Provider) -> Vec<confab::config::OidcProviderConfig> {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("confab.toml");
    let text = format!(
        "{}[[oidc]]\nname = \"down\"\nissuer = \"http://127.0.0.1:{closed}\"\n\
         client-id = \"confab\"\nclient-secret = \"secret\"\nredirect-uris = [\"{REDIRECT_URI}\"]\n",
        provider.config_toml()
    );
    std::fs::write(&file, text).unwrap();
    let cli =
        confab::config::Cli::load_from(["confab", "--config", file.to_str().unwrap(), "config"])
            .unwrap();
    assert_eq!(cli.config.oidc.len(), 2);
    cli.config.oidc
}

/// startOidcLogin (signed in when `token` is given): (authorization URL, state).
async fn start(app: &TestApp, token: Option<&str>) -> (String, String) {
    let data = app
        .ok(token, START, json!({ "p": "local", "r": REDIRECT_URI }))
        .await;
    let started = &data["startOidcLogin"];
    (
        started["authorizationUrl"].as_str().unwrap().to_owned(),
        started["state"].as_str().unwrap().to_owned(),
    )
}

/// A whole sign-in as `login` at the provider, in a fresh browser: (token, user id).
async fn sign_in(app: &TestApp, login: &str) -> (String, String) {
    let (url, state) = start(app, None).await;
    let callback = Browser::new().sign_in(&url, login).await;
    assert_eq!(callback.state, state, "the provider returns our state");
    let data = app
        .ok(
            None,
            COMPLETE,
            json!({ "p": "local", "c": callback.code, "s": callback.state }),
        )
        .await;
    let payload = &data["completeOidcLogin"];
    (
        payload["token"].as_str().unwrap().to_owned(),
        payload["user"]["id"].as_str().unwrap().to_owned(),
    )
}

async fn me(app: &TestApp, token: &str) -> Value {
    app.ok(Some(token), ME, json!({})).await["me"].clone()
}

async fn event_kinds(app: &TestApp, token: &str) -> Vec<String> {
    let data = app.ok(Some(token), EVENTS, json!({})).await;
    data["mySecurityEvents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["kind"].as_str().unwrap().to_owned())
        .collect()
}

async fn first_sign_in_creates_the_account(app: &TestApp, _provider: &Provider) {
    let (token, id) = sign_in(app, "alice").await;
    let alice = me(app, &token).await;
    assert_eq!(alice["id"], id.as_str());
    assert_eq!(alice["username"], "alice");
    assert_eq!(alice["email"], "alice@example.test");
    assert_eq!(alice["emailVerified"], true);
    assert_eq!(event_kinds(app, &token).await, ["oidc_login"]);

    // The second sign-in is the same account, with a session of its own.
    let (again, same) = sign_in(app, "alice").await;
    assert_eq!(same, id);
    assert_ne!(again, token);
    assert_eq!(me(app, &again).await["id"], id.as_str());
    assert_eq!(app.count("oidc_identities").await, 1);
    assert_eq!(app.count("users").await, 1);

    // The account has no usable password.
    let body = app
        .gql(
            None,
            "mutation($i: LoginInput!) { login(input: $i) { token } }",
            json!({ "i": { "login": "alice", "password": "any-password-at-all" } }),
        )
        .await;
    assert_eq!(first_error(&body).0, "UNAUTHENTICATED");
}

async fn an_unverified_email_is_not_taken(app: &TestApp, _provider: &Provider) {
    let (token, _) = sign_in(app, "unverified-bob").await;
    let bob = me(app, &token).await;
    assert_eq!(bob["username"], "unverified_bob");
    assert_eq!(bob["emailVerified"], false);
    let email = bob["email"].as_str().unwrap();
    assert!(email.ends_with("@oidc.invalid"), "a placeholder: {email}");
    // The address the provider did not vouch for is still free for its owner.
    app.ok(
        None,
        "mutation($i: RegisterInput!) { register(input: $i) { token } }",
        json!({ "i": { "username": "bob", "email": "unverified-bob@example.test", "password": "password-bob" } }),
    )
    .await;
}

async fn an_account_with_the_same_email_is_not_merged(app: &TestApp, _provider: &Provider) {
    let data = app
        .ok(
            None,
            "mutation($i: RegisterInput!) { register(input: $i) { user { id } } }",
            json!({ "i": { "username": "dora", "email": "dora@example.test", "password": "password-dora" } }),
        )
        .await;
    let dora = data["register"]["user"]["id"].as_str().unwrap().to_owned();
    // The provider vouches for dora@example.test, but that is another account's address.
    let (token, id) = sign_in(app, "dora").await;
    assert_ne!(id, dora, "never joined to an account by email");
    let new = me(app, &token).await;
    assert_eq!(new["username"], "dora_2");
    assert_ne!(new["email"], "dora@example.test");
    assert_eq!(new["emailVerified"], false);
    let data = app
        .ok(
            None,
            "mutation($i: LoginInput!) { login(input: $i) { user { id } } }",
            json!({ "i": { "login": "dora", "password": "password-dora" } }),
        )
        .await;
    assert_eq!(data["login"]["user"]["id"], dora.as_str());
}

async fn linking_an_identity(app: &TestApp, _provider: &Provider) {
    let erin = app.user("erin").await;
    // A link is started signed in, so the state belongs to erin.
    let (url, _) = start(app, Some(&erin.token)).await;
    let callback = Browser::new().sign_in(&url, "erin-at-idp").await;
    let vars = json!({ "p": "local", "c": callback.code, "s": callback.state });
    let data = app.ok(Some(&erin.token), LINK, vars).await;
    assert_eq!(data["linkOidcAccount"]["id"], erin.id.as_str());
    assert!(
        event_kinds(app, &erin.token)
            .await
            .contains(&"oidc_linked".to_owned())
    );

    // From now on the identity signs in erin.
    let (_, id) = sign_in(app, "erin-at-idp").await;
    assert_eq!(id, erin.id);

    // Another account cannot take it.
    let fred = app.user("fred").await;
    let (url, _) = start(app, Some(&fred.token)).await;
    let callback = Browser::new().sign_in(&url, "erin-at-idp").await;
    let vars = json!({ "p": "local", "c": callback.code, "s": callback.state });
    let body = app.gql(Some(&fred.token), LINK, vars).await;
    assert_eq!(first_error(&body).0, "CONFLICT", "{body}");

    // A sign-in started signed out (or by someone else) cannot be linked.
    let (url, _) = start(app, None).await;
    let callback = Browser::new().sign_in(&url, "fred-at-idp").await;
    let vars = json!({ "p": "local", "c": callback.code, "s": callback.state });
    let body = app.gql(Some(&fred.token), LINK, vars.clone()).await;
    assert_eq!(first_error(&body).2.as_deref(), Some("state"), "{body}");
    // And signed out, linking is refused before anything is used.
    let body = app.gql(None, LINK, vars).await;
    assert_eq!(first_error(&body).0, "UNAUTHENTICATED");
    assert_eq!(app.count("oidc_identities").await, 1);
}

async fn a_deleted_account_frees_its_identity(app: &TestApp, _provider: &Provider) {
    let hal = app.user("hal").await;
    let (url, _) = start(app, Some(&hal.token)).await;
    let callback = Browser::new().sign_in(&url, "hal-at-idp").await;
    let vars = json!({ "p": "local", "c": callback.code, "s": callback.state });
    app.ok(Some(&hal.token), LINK, vars).await;
    hal.ok(
        "mutation($p: String!) { deleteAccount(password: $p) }",
        json!({ "p": "password-hal" }),
    )
    .await;
    // The identity signs in to a new account, never to the tombstone.
    let (token, id) = sign_in(app, "hal-at-idp").await;
    assert_ne!(id, hal.id);
    assert_eq!(me(app, &token).await["username"], "hal_at_idp");
    assert_eq!(app.count("oidc_identities").await, 1);
}

async fn a_banned_account_is_refused(app: &TestApp, _provider: &Provider) {
    let (_, ivy) = sign_in(app, "ivy").await;
    let root = app.user("root").await;
    app.make_admin("root").await;
    root.ok(
        "mutation($u: UUID!) { banUser(userId: $u, reason: \"spam\") { id } }",
        json!({ "u": ivy }),
    )
    .await;
    let (url, _) = start(app, None).await;
    let callback = Browser::new().sign_in(&url, "ivy").await;
    let vars = json!({ "p": "local", "c": callback.code, "s": callback.state });
    let body = app.gql(None, COMPLETE, vars).await;
    assert_eq!(first_error(&body).0, "FORBIDDEN", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["reason"], "BANNED");
    assert_eq!(app.count("sessions WHERE revoked_at IS NULL AND user_id <> (SELECT id FROM users WHERE username = 'root')").await, 0);
}

/// An account made through the provider has no password: a sign-in through the provider in
/// the last ten minutes stands in for it where one is asked for (here to set one, and to
/// delete the account); an older session does not.
async fn a_fresh_sign_in_stands_in_for_the_missing_password(app: &TestApp, _provider: &Provider) {
    let login = "mutation($i: LoginInput!) { login(input: $i) { token } }";
    let delete = "mutation($p: String!) { deleteAccount(password: $p) }";
    let (token, _) = sign_in(app, "gina").await;
    app.ok(
        Some(&token),
        "mutation { changePassword(input: { currentPassword: \"\", newPassword: \"password-gina-1\" }) }",
        json!({}),
    )
    .await;
    // From then on it is a password account like any other.
    app.ok(
        None,
        login,
        json!({ "i": { "login": "gina", "password": "password-gina-1" } }),
    )
    .await;
    let body = app.gql(Some(&token), delete, json!({ "p": "" })).await;
    assert_eq!(first_error(&body).2.as_deref(), Some("password"), "{body}");

    // A provider account whose session is an hour old is refused, and nothing changes.
    let (token, id) = sign_in(app, "hank").await;
    let id = uuid::Uuid::parse_str(&id).unwrap();
    let hour_ago = chrono::Utc::now().fixed_offset() - chrono::Duration::hours(1);
    entity::sessions::Entity::update_many()
        .col_expr(entity::sessions::Column::CreatedAt, Expr::value(hour_ago))
        .filter(entity::sessions::Column::UserId.eq(id))
        .exec(&app.db)
        .await
        .unwrap();
    let body = app.gql(Some(&token), delete, json!({ "p": "" })).await;
    let (code, message, field) = first_error(&body);
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("password")),
        "{body}"
    );
    assert!(message.contains("sign in again"), "{message}");
    assert_eq!(me(app, &token).await["username"], "hank");
    // Signed in again through the provider, the account can leave.
    let (fresh, _) = sign_in(app, "hank").await;
    app.ok(Some(&fresh), delete, json!({ "p": "" })).await;
    let data = app.ok(Some(&fresh), "{ me { id } }", json!({})).await;
    assert_eq!(data["me"], Value::Null, "the session went with the account");
}
