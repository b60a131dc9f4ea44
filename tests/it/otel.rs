//! OpenTelemetry export: `confab serve --otel-endpoint` POSTs its spans as OTLP/HTTP protobuf to
//! a collector, here a small actix-web server that keeps the bodies. Protobuf carries strings as
//! raw UTF-8, so the assertions look for the names in the bytes.

use std::net::TcpListener;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::json;

use crate::util::{ServerProcess, TestApp};

type Bodies = Arc<Mutex<Vec<Vec<u8>>>>;

/// An OTLP/HTTP collector on a free port that accepts `POST /v1/traces`.
struct Collector {
    base: String,
    bodies: Bodies,
    handle: actix_web::dev::ServerHandle,
}

impl Collector {
    fn start() -> Self {
        let bodies = Bodies::default();
        let kept = bodies.clone();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = HttpServer::new(move || {
            App::new().app_data(web::Data::new(kept.clone())).route(
                "/v1/traces",
                web::post().to(
                    |request: HttpRequest, body: web::Bytes, kept: web::Data<Bodies>| async move {
                        assert_eq!(
                            request.headers().get("content-type").unwrap(),
                            "application/x-protobuf"
                        );
                        kept.lock().unwrap().push(body.to_vec());
                        HttpResponse::Ok()
                            .content_type("application/x-protobuf")
                            .finish()
                    },
                ),
            )
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self {
            base,
            bodies,
            handle,
        }
    }

    /// Everything received so far, concatenated.
    fn received(&self) -> Vec<u8> {
        self.bodies.lock().unwrap().concat()
    }

    /// Waits up to 15 s until what was received satisfies `done`; returns it all.
    async fn wait_until(&self, done: impl Fn(&[u8]) -> bool) -> Vec<u8> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let received = self.received();
            if done(&received) || Instant::now() > deadline {
                return received;
            }
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    contains_bytes(haystack, needle.as_bytes())
}

fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// How an OTLP `Span` named `name` of kind SERVER is encoded: field 5 (`name`, length-delimited,
/// tag 0x2A) and right after it field 6 (`kind`, varint, tag 0x30) = 2 (SPAN_KIND_SERVER).
fn server_span_named(name: &str) -> Vec<u8> {
    let mut bytes = vec![0x2A, u8::try_from(name.len()).unwrap()];
    bytes.extend_from_slice(name.as_bytes());
    bytes.extend_from_slice(&[0x30, 0x02]);
    bytes
}

/// The settings of a server on a fresh SQLite database in `dir`, exporting to `endpoint`.
fn env<'a>(dir: &'a str, endpoint: &'a str, delay_ms: &'a str) -> Vec<(&'a str, String)> {
    vec![
        (
            "CONFAB_DATABASE_URL",
            format!("sqlite://{dir}/c.db?mode=rwc"),
        ),
        ("CONFAB_BLOB_DIR", format!("{dir}/blobs")),
        ("CONFAB_OTEL_ENDPOINT", endpoint.to_owned()),
        ("CONFAB_OTEL_SERVICE_NAME", "confab-under-test".to_owned()),
        // The SDK's batch delay (default 5 s), read from the standard variable.
        ("OTEL_BSP_SCHEDULE_DELAY", delay_ms.to_owned()),
        // Quiet logs do not silence the exported spans.
        ("RUST_LOG", "warn".to_owned()),
    ]
}

async fn start(env: &[(&str, String)]) -> ServerProcess {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ServerProcess::start(&env).await
}

#[actix_web::test]
async fn operations_are_exported_as_spans_named_after_them() {
    let collector = Collector::start();
    let dir = tempfile::tempdir().unwrap();
    let dir_name = dir.path().display().to_string();
    let server = start(&env(&dir_name, &collector.base, "100")).await;
    let client = TestApp::remote(&server.base);

    let body = client
        .post_json(
            None,
            json!({ "query": "query OtelProbe { __typename }", "operationName": "OtelProbe" }),
        )
        .await;
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
    // An anonymous operation keeps the span's own name.
    let body = client
        .post_json(None, json!({ "query": "{ __typename }" }))
        .await;
    assert_eq!(body["data"]["__typename"], "Query", "{body}");

    let (named, anonymous) = (server_span_named("OtelProbe"), server_span_named("graphql"));
    let received = collector
        .wait_until(|r| contains_bytes(r, &named) && contains_bytes(r, &anonymous))
        .await;
    assert!(
        contains_bytes(&received, &named),
        "no server span named after the operation reached the collector: {}",
        String::from_utf8_lossy(&received)
    );
    assert!(
        contains_bytes(&received, &anonymous),
        "the anonymous operation's span is missing: {}",
        String::from_utf8_lossy(&received)
    );
    for expected in [
        "confab-under-test",
        "service.name",
        "request_id",
        "graphql.operation.name",
    ] {
        assert!(
            contains(&received, expected),
            "{expected} missing from the export: {}",
            String::from_utf8_lossy(&received)
        );
    }
    collector.handle.stop(true).await;
}

#[actix_web::test]
async fn shutdown_sends_the_spans_still_queued() {
    let collector = Collector::start();
    let dir = tempfile::tempdir().unwrap();
    let dir_name = dir.path().display().to_string();
    // A batch delay past the test's length: only shutdown can send this span.
    let mut server = start(&env(&dir_name, &collector.base, "600000")).await;
    let client = TestApp::remote(&server.base);
    let body = client
        .post_json(None, json!({ "query": "query LastWords { __typename }" }))
        .await;
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    assert!(collector.received().is_empty(), "exported before shutdown");

    // The collector runs on this thread's runtime while the wait blocks, so wait elsewhere.
    let waited = std::thread::spawn(move || {
        let took = server.terminate(Duration::from_secs(20));
        drop(server);
        took
    });
    let received = collector.wait_until(|r| contains(r, "LastWords")).await;
    let took = waited.join().unwrap();
    assert!(
        contains(&received, "LastWords"),
        "the queued span was lost at shutdown (exit after {took:?})"
    );
    collector.handle.stop(true).await;
}

#[actix_web::test]
async fn a_collector_that_never_answers_does_not_hold_up_shutdown() {
    // Accepts connections and never answers them.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let holder = std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming().take(4) {
            held.push(stream);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let dir_name = dir.path().display().to_string();
    let mut server = start(&env(&dir_name, &endpoint, "600000")).await;
    let client = TestApp::remote(&server.base);
    let body = client
        .post_json(None, json!({ "query": "query Unheard { __typename }" }))
        .await;
    assert_eq!(body["data"]["__typename"], "Query", "{body}");

    let took = server.terminate(Duration::from_secs(20));
    eprintln!("exited {took:?} after SIGTERM");
    assert!(
        took < Duration::from_secs(12),
        "shutdown waited {took:?} for the collector"
    );
    drop(holder);
}

#[test]
fn otel_settings_come_from_flags_environment_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("confab.toml");
    std::fs::write(
        &file,
        "otel-endpoint = \"http://collector:4318/\"\notel-service-name = \"from-file\"\n",
    )
    .unwrap();
    let run = |extra: &[&str], env: &[(&str, &str)]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_confab"));
        command.arg("--config").arg(&file).args(extra).arg("config");
        command
            .env_remove("CONFAB_OTEL_ENDPOINT")
            .env_remove("CONFAB_OTEL_SERVICE_NAME");
        for (k, v) in env {
            command.env(k, v);
        }
        command.output().unwrap()
    };
    let shown = |extra: &[&str], env: &[(&str, &str)]| {
        let output = run(extra, env);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };

    let from_file = shown(&[], &[]);
    assert!(
        from_file.contains("\"http://collector:4318\""),
        "the trailing slash is dropped: {from_file}"
    );
    assert!(
        from_file.contains("service_name: \"from-file\""),
        "{from_file}"
    );

    let from_env = shown(&[], &[("CONFAB_OTEL_SERVICE_NAME", "from-env")]);
    assert!(
        from_env.contains("service_name: \"from-env\""),
        "{from_env}"
    );
    let from_flag = shown(
        &[
            "--otel-service-name",
            "from-flag",
            "--otel-endpoint",
            "http://u:secret@other:4318",
        ],
        &[("CONFAB_OTEL_SERVICE_NAME", "from-env")],
    );
    assert!(
        from_flag.contains("service_name: \"from-flag\""),
        "{from_flag}"
    );
    assert!(
        from_flag.contains("u:***@other:4318") && !from_flag.contains(":secret@"),
        "{from_flag}"
    );

    let https = run(&["--otel-endpoint", "https://collector:4318"], &[]);
    assert!(!https.status.success());
    assert!(
        String::from_utf8_lossy(&https.stderr).contains("http://"),
        "{}",
        String::from_utf8_lossy(&https.stderr)
    );

    // Off by default.
    std::fs::write(&file, "").unwrap();
    assert!(shown(&[], &[]).contains("endpoint: None"));
}
