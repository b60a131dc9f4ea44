//! Requests built to crash or stall the server: values nested thousands deep (the parser
//! recurses per level), fragments that spread themselves or each other exponentially, and
//! documents that make validation's field merging quadratic. Each runs against the real binary
//! (a crash ends that process, not the test run) over POST, GET and WebSocket, and must answer
//! BAD_USER_INPUT quickly while the server keeps serving.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::{ServerProcess, TestApp, TestDatabase, first_error};
use crate::wsclient::{Got, TRANSPORT, Ws};

const DEEP: usize = 10_000;

/// The shapes that overflowed a stack, at the depths that crashed (from about 1,500 levels;
/// past a few thousand the parser gives up by itself) and at 10,000: whole documents.
fn deep_documents() -> Vec<(&'static str, String)> {
    [1_500, 2_000, 3_000, 5_000, DEEP]
        .into_iter()
        .flat_map(nested_documents)
        .collect()
}

fn nested_documents(deep: usize) -> Vec<(&'static str, String)> {
    let lists = format!("{}1{}", "[".repeat(deep), "]".repeat(deep));
    let objects = format!("{}1{}", "{a:".repeat(deep), "}".repeat(deep));
    vec![
        ("list argument", format!("{{ __typename(x: {lists}) }}")),
        ("object argument", format!("{{ __typename(x: {objects}) }}")),
        (
            "variable default",
            format!("query($v: Int = {lists}) {{ __typename }}"),
        ),
        (
            "variable type",
            format!(
                "query($v: {}Int{}) {{ __typename }}",
                "[".repeat(deep),
                "]".repeat(deep)
            ),
        ),
        (
            "selection sets",
            format!("{{ me {}id{} }}", "{ me ".repeat(deep), "}".repeat(deep)),
        ),
        (
            "directive argument",
            format!("{{ __typename @include(if: {lists}) }}"),
        ),
    ]
}

/// Documents whose checks or validation were exponential or quadratic in their size, each
/// 100 times (or more) the size that hurt before.
fn costly_documents() -> Vec<(&'static str, String)> {
    let mut shapes = Vec::new();
    // A fragment spreading itself: k = 10 took 3.2 s before; here k = 1,000.
    shapes.push((
        "self-spreading fragment",
        format!(
            "{{ ...A }} fragment A on Query {{ {} }}",
            "...A ".repeat(1000)
        ),
    ));
    // Fragments spreading the next one twice: 2^60 selections once expanded.
    let mut dag = "{ ...F0 }".to_owned();
    for i in 0..60 {
        dag += &format!(" fragment F{i} on Query {{ ...F{} ...F{} }}", i + 1, i + 1);
    }
    dag += " fragment F60 on Query { __typename }";
    shapes.push(("doubling fragments", dag));
    shapes.push(("chain of fragments", chain(300)));
    // Two fragments cycling through each other, each spread many times.
    shapes.push((
        "fragment cycle",
        format!(
            "{{ ...A }} fragment A on Query {{ {} }} fragment B on Query {{ {} }}",
            "...B ".repeat(500),
            "...A ".repeat(500)
        ),
    ));
    shapes
}

/// `n` fragments, each spreading the one before: field merging looks through the whole chain
/// at every one of them, n²/2 steps.
fn chain(n: usize) -> String {
    let mut chain = format!("{{ me {{ ...C{} }} }} fragment C0 on User {{ id }}", n - 1);
    for i in 1..n {
        chain += &format!(" fragment C{i} on User {{ id ...C{} }}", i - 1);
    }
    chain
}

/// POSTs `query` already encoded, so only the server's work is timed.
async fn timed(base: &str, query: &str) -> (Duration, Value) {
    let body = json!({ "query": query }).to_string();
    let client = awc::Client::new();
    let started = Instant::now();
    let mut response = client
        .post(format!("{base}/graphql"))
        .insert_header(("Content-Type", "application/json"))
        .send_body(body)
        .await
        .expect("an answer: the server died");
    let answer: Value = response.json().limit(1 << 20).await.expect("JSON");
    (started.elapsed(), answer)
}

async fn start() -> (ServerProcess, TestDatabase) {
    let (database, url) = TestDatabase::sqlite_migrated().await;
    let server = ServerProcess::start(&[("CONFAB_DATABASE_URL", url.as_str())]).await;
    (server, database)
}

async fn assert_alive(app: &TestApp) {
    let (status, _) = app.get("/healthz").await;
    assert_eq!(status, 200, "the server stopped answering");
}

fn assert_refused(name: &str, body: &Value) {
    let (code, message, _) = first_error(body);
    assert_eq!(code, "BAD_USER_INPUT", "{name}: {message}");
}

#[actix_web::test]
async fn deeply_nested_documents_are_refused_over_post_get_and_websocket() {
    let (server, _db) = start().await;
    let app = TestApp::remote(&server.base);
    let (token, _) = app.register("ann").await;
    for (name, query) in deep_documents() {
        let body = app
            .try_gql(None, &query, json!({}))
            .await
            .unwrap_or_else(|| panic!("{name} over POST: no answer, the server died"));
        assert_refused(name, &body);
        assert!(
            first_error(&body).1.contains("nested at most"),
            "{name}: {body}"
        );

        let mut ws = Ws::connect_to(&server.base, TRANSPORT, Some(&token)).await;
        assert!(matches!(ws.recv().await, Got::Message(m) if m["type"] == "connection_ack"));
        ws.subscribe("1", &query, json!({})).await;
        match ws.recv().await {
            // An `error` message, or a result holding only errors.
            Got::Message(m) if m["type"] == "error" => {
                assert_eq!(m["payload"][0]["extensions"]["code"], "BAD_USER_INPUT");
            }
            Got::Message(m) if m["type"] == "next" => {
                assert!(m["payload"]["data"].is_null(), "{name}: {m}");
                assert_refused(name, &m["payload"]);
            }
            other => panic!("{name} over WebSocket: {other:?}"),
        }
        assert_alive(&app).await;
    }
    // A link: 2,000 levels (1,500 were enough to crash), as long as a URL may be.
    for (name, query) in [1_500, 2_000].into_iter().flat_map(nested_documents) {
        let encoded: String = query
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        let (status, _, raw) = app
            .fetch(&format!("/graphql?query={encoded}"), None, &[])
            .await;
        let body: Value = serde_json::from_slice(&raw)
            .unwrap_or_else(|_| panic!("{name} over GET: status {status}, not JSON"));
        assert_refused(name, &body);
        assert_alive(&app).await;
    }
}

#[actix_web::test]
async fn deeply_nested_variables_are_refused() {
    let (server, _db) = start().await;
    let app = TestApp::remote(&server.base);
    let mut value = json!(1);
    // serde_json itself stops at 128 levels; ours stops at 64.
    for _ in 0..100 {
        value = json!([value]);
    }
    let body = app
        .try_gql(
            None,
            "query($v: JSON) { __typename }",
            json!({ "v": value }),
        )
        .await
        .expect("an answer");
    assert_refused("nested variable", &body);
    assert!(first_error(&body).1.contains("nested at most"), "{body}");
    // Past serde_json's own limit the body is malformed: still a coded error.
    let deep = format!("{}1{}", "[".repeat(DEEP), "]".repeat(DEEP));
    let raw = format!(r#"{{"query":"{{ __typename }}","variables":{{"v":{deep}}}}}"#);
    let answer = awc::Client::new()
        .post(format!("{}/graphql", server.base))
        .insert_header(("Content-Type", "application/json"))
        .send_body(raw)
        .await;
    let mut answer = answer.expect("an answer");
    let body: Value = answer.json().limit(1 << 20).await.expect("JSON");
    assert_refused("nested variables JSON", &body);
    assert_alive(&app).await;
}

#[actix_web::test]
async fn costly_documents_are_refused_quickly() {
    let (server, _db) = start().await;
    let app = TestApp::remote(&server.base);
    for (name, query) in costly_documents() {
        // The fastest of five tries, so a busy test machine does not decide the outcome.
        let mut fastest = Duration::MAX;
        for _ in 0..5 {
            let (took, body) = timed(&server.base, &query).await;
            fastest = fastest.min(took);
            assert_refused(name, &body);
        }
        assert!(
            fastest < Duration::from_millis(50),
            "{name} ({} bytes) took {fastest:?}",
            query.len()
        );
    }
    // A chain as long as the body limit allows (25,000 fragments, 300 million steps
    // of field merging): parsing a megabyte is what it costs, not validation.
    let longest = chain(25_000);
    assert!(longest.len() < 1024 * 1024, "{}", longest.len());
    let (took, body) = timed(&server.base, &longest).await;
    assert_refused("longest chain", &body);
    assert!(took < Duration::from_secs(3), "longest chain took {took:?}");
    assert_alive(&app).await;
}

#[actix_web::test]
async fn costly_documents_in_parallel_do_not_stall_health() {
    let (server, _db) = start().await;
    let app = TestApp::remote(&server.base);
    let query = costly_documents()
        .into_iter()
        .find(|(name, _)| *name == "self-spreading fragment")
        .map(|(_, q)| q)
        .expect("shape");
    let attacks: Vec<_> = (0..8)
        .map(|_| {
            let app = TestApp::remote(&server.base);
            let query = query.clone();
            actix_web::rt::spawn(async move {
                for _ in 0..20 {
                    let body = app.try_gql(None, &query, json!({})).await.expect("answer");
                    assert_refused("parallel", &body);
                }
            })
        })
        .collect();
    let started = Instant::now();
    assert_alive(&app).await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "/healthz took {:?} under attack",
        started.elapsed()
    );
    for attack in attacks {
        attack.await.expect("attacker");
    }
}

#[actix_web::test]
async fn documents_at_the_limits_still_run() {
    let (server, _db) = start().await;
    let app = TestApp::remote(&server.base);
    // A list argument nested just below the limit parses and runs (`__typename` ignores
    // its arguments).
    let nested = format!("{}1{}", "[".repeat(60), "]".repeat(60));
    let body = app
        .ok(None, &format!("{{ __typename(x: {nested}) }}"), json!({}))
        .await;
    assert_eq!(body["__typename"], "Query");
    // Fragments used many times, each once expanded, stay well inside the budget.
    let body = app
        .ok(
            None,
            "{ ...A ...B } fragment A on Query { __typename ...B } fragment B on Query { __typename }",
            json!({}),
        )
        .await;
    assert_eq!(body["__typename"], "Query");
}
