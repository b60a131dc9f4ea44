//! Sign-in guessing cannot lock the owner out (issue #31): a guesser is stopped at its own
//! address, the account backs off for addresses it never signed in from, and the owner signs
//! in at once from an address they used before. Clients take different loopback addresses
//! (127.0.0.x), which is what the server sees as the client address.

use std::net::{IpAddr, Ipv4Addr};

use serde_json::{Value, json};

use crate::on_both_backends;
use crate::util::{TestApp, first_error};

const LOGIN: &str = "mutation($i: LoginInput!) { login(input: $i) { token } }";

on_both_backends!(
    a_stranger_cannot_lock_the_owner_out,
    guesses_at_unknown_logins_are_stopped_per_address,
    operations_over_a_websocket_have_its_address,
);

/// Signs in to `app` from `address`: the whole answer.
async fn login_from(app: &TestApp, address: [u8; 4], login: &str, password: &str) -> Value {
    let ip = IpAddr::V4(Ipv4Addr::from(address));
    let client = awc::Client::builder()
        .connector(awc::Connector::new().local_address(ip))
        .finish();
    let mut response = client
        .post(format!("{}/graphql", app.base))
        .send_json(&json!({
            "query": LOGIN,
            "variables": { "i": { "login": login, "password": password } },
        }))
        .await
        .expect("login request");
    response.json::<Value>().await.expect("JSON answer")
}

fn retry_after(body: &Value) -> u64 {
    body["errors"][0]["extensions"]["retryAfter"]
        .as_u64()
        .unwrap_or(0)
}

const HOME: [u8; 4] = [127, 0, 0, 1];
const GUESSER: [u8; 4] = [127, 0, 0, 2];
const NEW_PLACE: [u8; 4] = [127, 0, 0, 3];

/// Ann registered from HOME (127.0.0.1, the test client's address). A guesser at another
/// address tries her password many times: after 5 failures (the default
/// `--rate-login-failures`) it is refused RATE_LIMITED even with the right password. Ann signs
/// in from HOME at once; from an address she never used she is asked to wait (the account
/// backs off); Bob, guessed at by nobody, signs in from the guesser's address.
async fn a_stranger_cannot_lock_the_owner_out(app: &TestApp) {
    app.register("ann").await;
    app.register("bob").await;
    for i in 0..5 {
        let body = login_from(app, GUESSER, "ann", &format!("guess-{i}")).await;
        assert_eq!(first_error(&body).0, "UNAUTHENTICATED", "guess {i}: {body}");
    }
    for i in 5..12 {
        let body = login_from(app, GUESSER, "ann", &format!("guess-{i}")).await;
        assert_eq!(first_error(&body).0, "RATE_LIMITED", "guess {i}: {body}");
        assert!(retry_after(&body) >= 1, "{body}");
    }
    // The guesser is stopped even when it finally has the password.
    let body = login_from(app, GUESSER, "ann", "password-ann").await;
    assert_eq!(first_error(&body).0, "RATE_LIMITED", "{body}");

    // The owner, from where she signed in before: in at once.
    let body = login_from(app, HOME, "ann", "password-ann").await;
    assert!(body["data"]["login"]["token"].is_string(), "{body}");
    // And again, by email: nothing she did counted against her.
    let body = login_from(app, HOME, "ann@example.com", "password-ann").await;
    assert!(body["data"]["login"]["token"].is_string(), "{body}");

    // From an address the account never signed in from, even the right password waits out
    // the back-off (and says how long).
    let body = login_from(app, NEW_PLACE, "ann", "password-ann").await;
    assert_eq!(first_error(&body).0, "RATE_LIMITED", "{body}");
    assert!((1..=30).contains(&retry_after(&body)), "{body}");

    // Other accounts are not held back at the guesser's address.
    let body = login_from(app, GUESSER, "bob", "password-bob").await;
    assert!(body["data"]["login"]["token"].is_string(), "{body}");
    // The guesser's failures at Ann are still counted there after Bob's success.
    let body = login_from(app, GUESSER, "ann", "password-ann").await;
    assert_eq!(first_error(&body).0, "RATE_LIMITED", "{body}");
}

/// A login naming no account is guessed at the same way: stopped at the guesser's address
/// after as many failures, with the same answers as a real account (nothing tells whether it
/// exists), while the same login from another address is merely slowed.
async fn guesses_at_unknown_logins_are_stopped_per_address(app: &TestApp) {
    for i in 0..5 {
        let body = login_from(app, GUESSER, "ghost", &format!("guess-{i}")).await;
        assert_eq!(first_error(&body).0, "UNAUTHENTICATED", "guess {i}: {body}");
    }
    let body = login_from(app, GUESSER, "ghost", "guess-5").await;
    assert_eq!(first_error(&body).0, "RATE_LIMITED", "{body}");
    let body = login_from(app, NEW_PLACE, "ghost", "guess-6").await;
    assert_eq!(first_error(&body).0, "RATE_LIMITED", "{body}");
    assert!((1..=30).contains(&retry_after(&body)), "{body}");
}

/// The same with the counts and the back-off in Redis (`--redis-url`), where every instance
/// reads them: on SQLite and PostgreSQL.
#[actix_web::test]
async fn the_guard_works_through_redis() {
    let Some(url) = crate::util::redis_url() else {
        return;
    };
    let app = TestApp::sqlite_with(|c| c.redis_url = Some(url.clone())).await;
    a_stranger_cannot_lock_the_owner_out(&app).await;
    app.stop().await;
    if let Some(app) = TestApp::postgres_with(|c| c.redis_url = Some(url)).await {
        a_stranger_cannot_lock_the_owner_out(&app).await;
        app.stop().await;
    }
}

/// A `login` sent over a WebSocket is seen from the socket's address, as over HTTP: the
/// session it opens records it (and the guard counts there, not under an empty address
/// shared by every socket).
async fn operations_over_a_websocket_have_its_address(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let mut ws = crate::wsclient::Ws::ready(app, crate::wsclient::TRANSPORT, &ann).await;
    ws.subscribe(
        "1",
        "mutation { login(input: { login: \"ann\", password: \"password-ann\" }) { token } }",
        json!({}),
    )
    .await;
    let payload = ws.next("1").await;
    let token = payload["data"]["login"]["token"]
        .as_str()
        .expect("a token")
        .to_owned();
    let data = app
        .ok(Some(&token), "{ sessions { ip current } }", json!({}))
        .await;
    let current = data["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .cloned()
        .unwrap();
    assert_eq!(current["ip"], "127.0.0.1", "{data}");
}
