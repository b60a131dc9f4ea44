//! Browser sessions in a cookie (`--cookie-sessions`): `login` and `register` with
//! `cookie: true` set an HttpOnly `confab_session` cookie and answer an empty token, the cookie signs
//! in POSTs and WebSocket handshakes of Confab's own pages (or listed origins), `logout` clears
//! it, and requests another site could make with it (CSRF) are refused without acting.

use awc::http::header::HeaderMap;
use serde_json::{Value, json};

use crate::util::{TestApp, first_error};
use crate::wsclient::{Got, TRANSPORT, Ws};

/// A page origin `--cors-origins` lists in these tests, and one it does not.
const LISTED: &str = "http://localhost:5173";
const FOREIGN: &str = "https://evil.example";

const RENAME: &str =
    "mutation { updateProfile(input: { displayName: \"Pwned\" }) { displayName } }";
const ME: &str = "{ me { username displayName } }";

/// Runs each scenario on SQLite and PostgreSQL with cookie sessions on (or as `$tweak` says).
macro_rules! with_cookies {
    ($($name:ident: $tweak:expr),* $(,)?) => { $(
        mod $name {
            #[actix_web::test]
            async fn sqlite() {
                let app = $crate::util::TestApp::sqlite_with($tweak).await;
                super::$name(&app).await;
                app.stop().await;
            }

            #[actix_web::test]
            async fn postgres() {
                if let Some(app) = $crate::util::TestApp::postgres_with($tweak).await {
                    super::$name(&app).await;
                    app.stop().await;
                }
            }
        }
    )* };
}

fn on(config: &mut confab::config::Config) {
    config.auth.cookie_sessions = true;
    config.http.cors_origins = vec![LISTED.to_owned()];
}

fn on_any_origin(config: &mut confab::config::Config) {
    config.auth.cookie_sessions = true;
    config.http.cors_origins = vec!["*".to_owned()];
}

fn off(_: &mut confab::config::Config) {}

with_cookies! {
    login_sets_the_cookie_and_logout_clears_it: super::on,
    register_can_set_the_cookie_and_bearer_wins: super::on,
    requests_other_sites_could_make_are_refused: super::on,
    websocket_signed_in_by_the_cookie: super::on,
    any_origin_never_counts_for_the_cookie: super::on_any_origin,
    cookie_sessions_are_off_by_default: super::off,
    blobs_are_read_with_the_cookie: super::on,
}

/// A POST to /graphql with exactly these headers and body: (status, headers, JSON answer).
async fn post(
    app: &TestApp,
    headers: &[(&str, &str)],
    body: impl AsRef<[u8]>,
) -> (u16, HeaderMap, Value) {
    let mut request = awc::Client::default().post(format!("{}/graphql", app.base));
    for (name, value) in headers {
        request = request.insert_header((*name, *value));
    }
    let mut response = request
        .send_body(body.as_ref().to_vec())
        .await
        .expect("request");
    let answer = response.body().limit(1 << 20).await.expect("body");
    let json = serde_json::from_slice(&answer).unwrap_or(Value::Null);
    (response.status().as_u16(), response.headers().clone(), json)
}

/// A JSON GraphQL body.
fn operation(query: &str, variables: Value) -> String {
    json!({ "query": query, "variables": variables }).to_string()
}

/// What a page of Confab's own origin sends along with the cookie.
fn own_page(app: &TestApp, cookie: &str) -> [(&'static str, String); 3] {
    [
        ("Content-Type", "application/json".to_owned()),
        ("Origin", app.base.clone()),
        ("Cookie", format!("confab_session={cookie}")),
    ]
}

fn pairs<'a>(headers: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    headers.iter().map(|(n, v)| (*n, v.as_str())).collect()
}

/// Signs `username` in as a page of `origin` would, asking for the cookie: the cookie's value
/// and the whole `Set-Cookie` header.
async fn cookie_login(app: &TestApp, username: &str, origin: &str) -> (String, String) {
    let (status, headers, body) = post(
        app,
        &[("Content-Type", "application/json"), ("Origin", origin)],
        &operation(
            "mutation($l: String!, $p: String!) { login(input: { login: $l, password: $p, cookie: true }) { token user { username } } }",
            json!({ "l": username, "p": format!("password-{username}") }),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["login"]["user"]["username"], username,
        "{body}"
    );
    // The token stays out of reach of page scripts: only the cookie has it.
    assert_eq!(body["data"]["login"]["token"], "", "{body}");
    let set = set_cookie(&headers).expect("Set-Cookie");
    let value = set
        .strip_prefix("confab_session=")
        .and_then(|rest| rest.split(';').next())
        .expect("the session cookie")
        .to_owned();
    assert!(value.starts_with("cfb_"), "{set}");
    (value, set)
}

fn set_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Registers `name` with a bearer session; returns its token.
async fn user(app: &TestApp, name: &str) -> String {
    app.register(name).await.0
}

async fn display_name(app: &TestApp, token: &str) -> Value {
    app.ok(Some(token), ME, json!({})).await["me"]["displayName"].clone()
}

async fn login_sets_the_cookie_and_logout_clears_it(app: &TestApp) {
    let bearer = user(app, "ann").await;
    let (cookie, set) = cookie_login(app, "ann", &app.base).await;
    for attribute in ["Path=/", "HttpOnly", "SameSite=Lax", "Secure"] {
        assert!(
            set.split("; ").any(|a| a == attribute),
            "{attribute}: {set}"
        );
    }
    // As long as the session: --session-ttl-hours is 720 by default.
    let max_age: i64 = set
        .split("; ")
        .find_map(|a| a.strip_prefix("Max-Age="))
        .and_then(|v| v.parse().ok())
        .expect("Max-Age");
    assert!((720 * 3600 - 60..=720 * 3600).contains(&max_age), "{set}");

    // The cookie alone signs in: from Confab's own page and from a listed origin.
    let (_, _, body) = post(
        app,
        &pairs(&own_page(app, &cookie)),
        &operation(ME, json!({})),
    )
    .await;
    assert_eq!(body["data"]["me"]["username"], "ann", "{body}");
    let from_listed = [
        ("Content-Type", "application/json"),
        ("Origin", LISTED),
        ("Cookie", &format!("confab_session={cookie}")),
    ];
    let (_, _, body) = post(app, &from_listed, &operation(ME, json!({}))).await;
    assert_eq!(body["data"]["me"]["username"], "ann", "{body}");

    // Logout revokes the session and clears the cookie.
    let (_, headers, body) = post(
        app,
        &pairs(&own_page(app, &cookie)),
        &operation("mutation { logout }", json!({})),
    )
    .await;
    assert_eq!(body["data"]["logout"], true, "{body}");
    let cleared = set_cookie(&headers).expect("a clearing Set-Cookie");
    assert!(cleared.starts_with("confab_session=;"), "{cleared}");
    assert!(cleared.split("; ").any(|a| a == "Max-Age=0"), "{cleared}");
    let (_, _, body) = post(
        app,
        &pairs(&own_page(app, &cookie)),
        &operation(ME, json!({})),
    )
    .await;
    assert_eq!(body["data"]["me"], Value::Null, "{body}");
    let (_, _, body) = post(
        app,
        &pairs(&own_page(app, &cookie)),
        &operation(RENAME, json!({})),
    )
    .await;
    let (code, _, _) = first_error(&body);
    assert_eq!(code, "UNAUTHENTICATED", "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["reason"], "revoked",
        "{body}"
    );
    // The bearer session is another session: still signed in.
    assert_eq!(display_name(app, &bearer).await, "ann");
}

async fn register_can_set_the_cookie_and_bearer_wins(app: &TestApp) {
    let bob = user(app, "bob").await;
    let (status, headers, body) = post(
        app,
        &[("Content-Type", "application/json"), ("Origin", &app.base)],
        &operation(
            "mutation { register(input: { username: \"cat\", email: \"cat@example.com\", password: \"correct horse battery\", cookie: true }) { token user { username } } }",
            json!({}),
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["register"]["token"], "", "{body}");
    let set = set_cookie(&headers).expect("Set-Cookie");
    let cookie = set
        .strip_prefix("confab_session=")
        .and_then(|rest| rest.split(';').next())
        .unwrap()
        .to_owned();
    let (_, _, body) = post(
        app,
        &pairs(&own_page(app, &cookie)),
        &operation(ME, json!({})),
    )
    .await;
    assert_eq!(body["data"]["me"]["username"], "cat", "{body}");

    // With both, the bearer token says who is calling.
    let mut both = own_page(app, &cookie).to_vec();
    both.push(("Authorization", format!("Bearer {bob}")));
    let (_, _, body) = post(app, &pairs(&both), &operation(ME, json!({}))).await;
    assert_eq!(body["data"]["me"]["username"], "bob", "{body}");
    // Without asking for the cookie, sign-in answers the token and sets nothing.
    let (_, headers, body) = post(
        app,
        &[("Content-Type", "application/json"), ("Origin", &app.base)],
        &operation(
            "mutation { login(input: { login: \"cat\", password: \"correct horse battery\" }) { token } }",
            json!({}),
        ),
    )
    .await;
    assert!(body["data"]["login"]["token"].is_string(), "{body}");
    assert_eq!(set_cookie(&headers), None);
}

async fn requests_other_sites_could_make_are_refused(app: &TestApp) {
    let bearer = user(app, "ann").await;
    let (cookie, _) = cookie_login(app, "ann", &app.base).await;
    let cookie_header = format!("confab_session={cookie}");
    let rename = operation(RENAME, json!({}));

    // What a form or a "simple" cross-site request can send: never JSON.
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let (status, _, _) = post(
            app,
            &[
                ("Content-Type", content_type),
                ("Origin", FOREIGN),
                ("Cookie", &cookie_header),
            ],
            &rename,
        )
        .await;
        assert_eq!(status, 415, "{content_type}");
    }
    // A multipart form (which a page of any site can post) without the CSRF header.
    let blobs = app.count("blobs").await;
    let form = upload_form();
    let multipart = format!("multipart/form-data; boundary={BOUNDARY}");
    for origin in [FOREIGN, app.base.as_str()] {
        let (_, _, body) = post(
            app,
            &[
                ("Content-Type", &multipart),
                ("Origin", origin),
                ("Cookie", &cookie_header),
            ],
            &form,
        )
        .await;
        assert_csrf(&body);
    }
    assert_eq!(app.count("blobs").await, blobs);
    // JSON from a page of a foreign origin (it got through CORS somehow, or `null`).
    for origin in [FOREIGN, "null"] {
        let (_, _, body) = post(
            app,
            &[
                ("Content-Type", "application/json"),
                ("Origin", origin),
                ("Cookie", &cookie_header),
                ("X-Confab-CSRF", "1"),
            ],
            &rename,
        )
        .await;
        assert_csrf(&body);
    }
    // GET never signs in by the cookie.
    let (status, _, body) = app
        .fetch(
            &format!("/graphql?query={}", urlencode(ME)),
            None,
            &[("Cookie", &cookie_header), ("Origin", &app.base)],
        )
        .await;
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_ne!(status, 500);
    assert_csrf(&body);
    // A foreign page cannot get a cookie set either, and no session is opened for it.
    let sessions = app.count("sessions").await;
    let (_, headers, body) = post(
        app,
        &[("Content-Type", "application/json"), ("Origin", FOREIGN)],
        &operation(
            "mutation { login(input: { login: \"ann\", password: \"password-ann\", cookie: true }) { token } }",
            json!({}),
        ),
    )
    .await;
    assert_csrf(&body);
    assert_eq!(set_cookie(&headers), None);
    assert_eq!(app.count("sessions").await, sessions);

    // None of it acted; the same request from the page's own origin does.
    assert_eq!(display_name(app, &bearer).await, "ann");
    let (_, _, body) = post(app, &pairs(&own_page(app, &cookie)), &rename).await;
    assert_eq!(
        body["data"]["updateProfile"]["displayName"], "Pwned",
        "{body}"
    );
    // The CSRF header stands in for JSON's preflight (a multipart upload's way).
    let (_, _, body) = post(
        app,
        &[
            ("Content-Type", &multipart),
            ("Origin", &app.base),
            ("Cookie", &cookie_header),
            ("X-Confab-CSRF", "1"),
        ],
        &form,
    )
    .await;
    assert!(body["data"]["uploadBlob"]["id"].is_string(), "{body}");
    assert_eq!(app.count("blobs").await, blobs + 1);
}

const BOUNDARY: &str = "confab-cookie-test";

/// A GraphQL multipart upload (`uploadBlob`) of a tiny PNG, as a form could post it.
fn upload_form() -> Vec<u8> {
    let operations = json!({
        "query": "mutation($file: Upload!) { uploadBlob(file: $file) { id } }",
        "variables": { "file": null },
    });
    let mut form = Vec::new();
    for (name, value) in [
        ("operations", operations.to_string()),
        ("map", r#"{"0":["variables.file"]}"#.to_owned()),
    ] {
        form.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    form.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"dot.png\"\r\nContent-Type: image/png\r\n\r\n")
            .as_bytes(),
    );
    // A PNG header (1x1) and a few bytes: enough for sniffing.
    form.extend_from_slice(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]);
    form.extend_from_slice(b"IHDR");
    form.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0, 0, 0, 0]);
    form.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    form
}

fn assert_csrf(body: &Value) {
    let (code, _, _) = first_error(body);
    assert_eq!(code, "FORBIDDEN", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["reason"], "csrf", "{body}");
    assert!(body.get("data").is_none_or(Value::is_null), "{body}");
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Opens a socket whose handshake carries `origin` and the cookie, and sends
/// `connection_init` without a token.
async fn cookie_socket(app: &TestApp, origin: Option<&str>, cookie: &str) -> Option<Ws> {
    let url = format!("{}/graphql", app.base.replacen("http", "ws", 1));
    let mut request = awc::Client::new()
        .ws(url)
        .protocols([TRANSPORT])
        .set_header("cookie", format!("confab_session={cookie}"));
    if let Some(origin) = origin {
        request = request.origin(origin);
    }
    let (_, framed) = request.connect().await.ok()?;
    let mut ws = Ws::from_framed(framed, TRANSPORT);
    ws.send(json!({ "type": "connection_init", "payload": {} }))
        .await;
    Some(ws)
}

async fn websocket_signed_in_by_the_cookie(app: &TestApp) {
    user(app, "ann").await;
    let (cookie, _) = cookie_login(app, "ann", &app.base).await;
    for origin in [app.base.as_str(), LISTED] {
        let mut ws = cookie_socket(app, Some(origin), &cookie).await.unwrap();
        match ws.recv().await {
            Got::Message(m) => assert_eq!(m["type"], "connection_ack", "{m}"),
            other => panic!("expected connection_ack, got {other:?}"),
        }
        ws.subscribe("1", ME, json!({})).await;
        assert_eq!(ws.next("1").await["data"]["me"]["username"], "ann");
    }
    // A foreign page's handshake is refused outright (403); one without an Origin is not a
    // page's, so its cookie does not sign in.
    assert!(cookie_socket(app, Some(FOREIGN), &cookie).await.is_none());
    let mut ws = cookie_socket(app, None, &cookie).await.unwrap();
    assert_eq!(ws.closed().await, Some(4401));
    assert_eq!(ws.close_reason.as_deref(), Some("missing"));
}

async fn any_origin_never_counts_for_the_cookie(app: &TestApp) {
    user(app, "ann").await;
    let (cookie, _) = cookie_login(app, "ann", &app.base).await;
    // `*` lets a foreign page open a socket, but not as the user of the cookie.
    let mut ws = cookie_socket(app, Some(FOREIGN), &cookie).await.unwrap();
    assert_eq!(ws.closed().await, Some(4401));
    // Nor send requests with it.
    let (_, _, body) = post(
        app,
        &[
            ("Content-Type", "application/json"),
            ("Origin", FOREIGN),
            ("Cookie", &format!("confab_session={cookie}")),
        ],
        &operation(RENAME, json!({})),
    )
    .await;
    assert_csrf(&body);
}

async fn cookie_sessions_are_off_by_default(app: &TestApp) {
    let token = user(app, "ann").await;
    let (_, headers, body) = post(
        app,
        &[("Content-Type", "application/json"), ("Origin", &app.base)],
        &operation(
            "mutation { login(input: { login: \"ann\", password: \"password-ann\", cookie: true }) { token } }",
            json!({}),
        ),
    )
    .await;
    let (code, _, field) = first_error(&body);
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("cookie")),
        "{body}"
    );
    assert_eq!(set_cookie(&headers), None);
    // A cookie holding a valid token signs nobody in.
    let (_, _, body) = post(
        app,
        &pairs(&own_page(app, &token)),
        &operation(ME, json!({})),
    )
    .await;
    assert_eq!(body["data"]["me"], Value::Null, "{body}");
}

async fn blobs_are_read_with_the_cookie(app: &TestApp) {
    user(app, "ann").await;
    let (cookie, _) = cookie_login(app, "ann", &app.base).await;
    let cookie_header = format!("confab_session={cookie}");
    let multipart = format!("multipart/form-data; boundary={BOUNDARY}");
    let (_, _, body) = post(
        app,
        &[
            ("Content-Type", &multipart),
            ("Origin", &app.base),
            ("Cookie", &cookie_header),
            ("X-Confab-CSRF", "1"),
        ],
        upload_form(),
    )
    .await;
    let id = body["data"]["uploadBlob"]["id"].as_str().expect("blob id");
    // An <img> or a download link of the page: the cookie is all it sends.
    let path = format!("/blobs/{id}");
    let (status, headers, _) = app.fetch(&path, None, &[("Cookie", &cookie_header)]).await;
    assert_eq!(status, 200);
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("image/png")
    );
    let (status, _, _) = app.fetch(&path, None, &[]).await;
    assert_eq!(status, 401);
    // Signed out, the cookie reads nothing.
    post(
        app,
        &pairs(&own_page(app, &cookie)),
        operation("mutation { logout }", json!({})),
    )
    .await;
    let (status, _, _) = app.fetch(&path, None, &[("Cookie", &cookie_header)]).await;
    assert_eq!(status, 401);
}
