//! CORS (`--cors-origins`): preflights from listed origins are answered and cached, answers
//! to them carry the CORS headers, other origins get none, and a WebSocket handshake from a
//! foreign origin is refused with 403 unless listed. Without the setting, only Confab's own
//! origin (and clients that send no `Origin`) get through.

use awc::error::WsClientError;
use awc::http::StatusCode;
use serde_json::json;

use crate::util::TestApp;
use crate::wsclient::{Got, TRANSPORT, Ws};

const APP: &str = "http://localhost:5173";
const OTHER: &str = "https://evil.example";

/// Runs each scenario on SQLite and PostgreSQL with `--cors-origins` set to the given list.
macro_rules! with_origins {
    ($($name:ident: $origins:expr),* $(,)?) => { $(
        mod $name {
            fn tweak(config: &mut confab::config::Config) {
                config.http.cors_origins = $origins.iter().map(|o: &&str| (*o).to_owned()).collect();
            }

            #[actix_web::test]
            async fn sqlite() {
                let app = $crate::util::TestApp::sqlite_with(tweak).await;
                super::$name(&app).await;
                app.stop().await;
            }

            #[actix_web::test]
            async fn postgres() {
                if let Some(app) = $crate::util::TestApp::postgres_with(tweak).await {
                    super::$name(&app).await;
                    app.stop().await;
                }
            }
        }
    )* };
}

with_origins! {
    listed_origins_are_allowed: ["http://localhost:5173", "http://127.0.0.1:5173"],
    any_origin_without_credentials: ["*"],
    same_origin_only_by_default: [] as [&str; 0],
}

/// An `OPTIONS` preflight for a POST with `Authorization` from `origin`: (status, headers).
async fn preflight(app: &TestApp, origin: &str) -> (u16, awc::http::header::HeaderMap) {
    let response = awc::Client::default()
        .request(awc::http::Method::OPTIONS, format!("{}/graphql", app.base))
        .insert_header(("Origin", origin))
        .insert_header(("Access-Control-Request-Method", "POST"))
        .insert_header((
            "Access-Control-Request-Headers",
            "authorization,content-type",
        ))
        .send()
        .await
        .expect("preflight");
    (response.status().as_u16(), response.headers().clone())
}

fn header<'a>(headers: &'a awc::http::header::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Opens a WebSocket on `/graphql` whose handshake says `Origin: origin` (none when None).
async fn open(app: &TestApp, origin: Option<&str>) -> Result<Ws, WsClientError> {
    let url = format!("{}/graphql", app.base.replacen("http", "ws", 1));
    let mut request = awc::Client::new().ws(url).protocols([TRANSPORT]);
    if let Some(origin) = origin {
        request = request.origin(origin);
    }
    let (_, framed) = request.connect().await?;
    Ok(Ws::from_framed(framed, TRANSPORT))
}

/// The socket is served: `connection_init` with a token is acknowledged.
async fn assert_serves(mut ws: Ws, token: &str) {
    ws.send(json!({
        "type": "connection_init",
        "payload": { "Authorization": format!("Bearer {token}") },
    }))
    .await;
    match ws.recv().await {
        Got::Message(m) => assert_eq!(m["type"], "connection_ack", "{m}"),
        other => panic!("expected connection_ack, got {other:?}"),
    }
}

fn assert_forbidden(result: Result<Ws, WsClientError>) {
    match result {
        Err(WsClientError::InvalidResponseStatus(status)) => {
            assert_eq!(status, StatusCode::FORBIDDEN);
        }
        Err(other) => panic!("expected 403, got {other:?}"),
        Ok(_) => panic!("a foreign origin opened a WebSocket"),
    }
}

async fn listed_origins_are_allowed(app: &TestApp) {
    let (token, _) = app.register("ann").await;

    // The preflight from a listed origin: allowed, with what the page may send, and cached.
    let (status, headers) = preflight(app, APP).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "access-control-allow-origin"), Some(APP));
    assert_eq!(
        header(&headers, "access-control-allow-credentials"),
        Some("true")
    );
    let methods = header(&headers, "access-control-allow-methods").unwrap_or_default();
    assert!(
        methods.contains("POST") && methods.contains("GET"),
        "{methods}"
    );
    let allowed = header(&headers, "access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        allowed.contains("authorization") && allowed.contains("content-type"),
        "{allowed}"
    );
    assert_eq!(header(&headers, "access-control-max-age"), Some("3600"));

    // From any other origin: refused, without CORS headers.
    let (status, headers) = preflight(app, OTHER).await;
    assert_eq!(status, 400);
    assert_eq!(header(&headers, "access-control-allow-origin"), None);

    // A POST from the listed origin: answered with the headers the browser needs to read it.
    let body = json!({ "query": "{ me { username } }" });
    let (status, headers, answer) = app.post_raw(Some(&token), &body, &[("Origin", APP)]).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "access-control-allow-origin"), Some(APP));
    let exposed = header(&headers, "access-control-expose-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(exposed.contains("etag"), "{exposed}");
    let vary = header(&headers, "vary")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(vary.contains("origin"), "{vary}");
    let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(answer["data"]["me"]["username"], "ann");

    // A POST from another origin is served (a server cannot stop it being sent) but carries no
    // CORS header, so no browser lets that page read it.
    let (status, headers, _) = app
        .post_raw(Some(&token), &body, &[("Origin", OTHER)])
        .await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "access-control-allow-origin"), None);

    // WebSocket: the listed origin, Confab's own and no Origin at all are served; another
    // origin is refused before the upgrade.
    assert_serves(open(app, Some(APP)).await.expect("listed origin"), &token).await;
    assert_serves(open(app, None).await.expect("no Origin"), &token).await;
    let own = app.base.clone();
    assert_serves(open(app, Some(&own)).await.expect("own origin"), &token).await;
    assert_forbidden(open(app, Some(OTHER)).await);
}

async fn any_origin_without_credentials(app: &TestApp) {
    let (token, _) = app.register("ann").await;
    let (status, headers) = preflight(app, OTHER).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "access-control-allow-origin"), Some("*"));
    assert_eq!(header(&headers, "access-control-allow-credentials"), None);
    let body = json!({ "query": "{ me { username } }" });
    let (_, headers, _) = app
        .post_raw(Some(&token), &body, &[("Origin", OTHER)])
        .await;
    assert_eq!(header(&headers, "access-control-allow-origin"), Some("*"));
    assert_serves(open(app, Some(OTHER)).await.expect("any origin"), &token).await;
}

async fn same_origin_only_by_default(app: &TestApp) {
    let (token, _) = app.register("ann").await;
    let (status, headers) = preflight(app, APP).await;
    assert_eq!(status, 400);
    assert_eq!(header(&headers, "access-control-allow-origin"), None);
    let body = json!({ "query": "{ me { username } }" });
    let (_, headers, _) = app.post_raw(Some(&token), &body, &[("Origin", APP)]).await;
    assert_eq!(header(&headers, "access-control-allow-origin"), None);
    // The pages Confab serves itself (GraphiQL, the demo client) keep their sockets.
    let own = app.base.clone();
    assert_serves(open(app, Some(&own)).await.expect("own origin"), &token).await;
    assert_serves(open(app, None).await.expect("no Origin"), &token).await;
    assert_forbidden(open(app, Some(APP)).await);
}

/// A list that is not origins stops the server at start-up, naming the bad entry.
#[test]
fn bad_origins_stop_the_server() {
    let mut config = confab::config::Config::for_database("sqlite::memory:");
    config.http.cors_origins = vec!["localhost:5173".to_owned()];
    let err = confab::http::cors::Origins::parse(&config.http.cors_origins).unwrap_err();
    assert!(err.to_string().contains("localhost:5173"), "{err}");
}
