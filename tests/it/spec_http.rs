//! GraphQL over HTTP by the spec (<https://graphql.github.io/graphql-over-http/draft/>): the
//! rules the `graphql-http` audit checks (scripts/graphql-http-audit), here so that
//! `cargo test` catches a regression without node. Also the multipart file-part limit.

use awc::http::Method;
use awc::http::header::HeaderMap;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::on_both_backends;
use crate::util::{TestApp, first_error};

on_both_backends!(uploads_are_limited_to_ten_file_parts);

const GQL: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The answer is a GraphQL response in `media` with a coded first error.
    fn coded(&self, media: &str) -> String {
        assert!(
            self.content_type().starts_with(media),
            "{} for {media}: {}",
            self.content_type(),
            self.body
        );
        first_error(&self.body).0
    }
}

/// Sends `body` as it is, with exactly `headers`.
async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Answer {
    let mut request = awc::Client::default().request(method, format!("{}{path}", app.base));
    for (name, value) in headers {
        request = request.insert_header((*name, *value));
    }
    let mut response = match body {
        Some(body) => request.send_body(body.to_vec()).await,
        None => request.send().await,
    }
    .expect("request");
    let bytes = response.body().limit(16 << 20).await.expect("body");
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("a JSON body: {}", String::from_utf8_lossy(&bytes))),
    }
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn post(app: &TestApp, accept: Option<&str>, body: &str) -> Answer {
    let mut headers = vec![("Content-Type", JSON)];
    if let Some(accept) = accept {
        headers.push(("Accept", accept));
    }
    call(
        app,
        Method::POST,
        "/graphql",
        &headers,
        Some(body.as_bytes()),
    )
    .await
}

#[actix_web::test]
async fn the_answer_takes_the_media_type_the_client_accepts() {
    let app = TestApp::sqlite().await;
    let query = r#"{"query":"{ __typename }"}"#;
    for (accept, media) in [
        (None, JSON),
        (Some(""), JSON),
        (Some(JSON), JSON),
        (Some(GQL), GQL),
        (Some("*/*"), JSON),
        (Some("application/*"), JSON),
        (
            Some("application/graphql-response+json, application/json;q=0.9"),
            GQL,
        ),
        (
            Some("application/json, application/graphql-response+json;q=0.5"),
            JSON,
        ),
        (
            Some("application/json, application/graphql-response+json"),
            GQL,
        ),
        (Some("application/graphql-response+json;q=0, */*"), JSON),
        (Some("text/html,application/xhtml+xml,*/*;q=0.8"), JSON),
        (
            Some("application/graphql-response+json; charset=utf-8"),
            GQL,
        ),
    ] {
        let answer = post(&app, accept, query).await;
        assert_eq!(answer.status, 200, "{accept:?}: {}", answer.body);
        assert!(
            answer.content_type().starts_with(media),
            "{accept:?}: {}",
            answer.content_type()
        );
        assert_eq!(answer.body, json!({ "data": { "__typename": "Query" } }));
        // The media type depends on Accept: a shared cache must keep the answers apart.
        let vary: Vec<&str> = answer
            .headers
            .get_all("vary")
            .filter_map(|v| v.to_str().ok())
            .collect();
        assert!(
            vary.iter()
                .flat_map(|v| v.split(','))
                .any(|v| v.trim().eq_ignore_ascii_case("accept")),
            "{accept:?}: Vary {vary:?}"
        );
    }
    // Neither JSON type acceptable: 406, said in JSON with a code all the same.
    for accept in [
        "text/html",
        "application/json;q=0",
        "application/xml, text/*",
    ] {
        let answer = post(&app, Some(accept), query).await;
        assert_eq!(answer.status, 406, "{accept}");
        assert_eq!(answer.coded(JSON), "BAD_USER_INPUT");
    }
    // GET negotiates the same way.
    let get = call(
        &app,
        Method::GET,
        "/graphql?query=%7B__typename%7D",
        &[("Accept", GQL)],
        None,
    )
    .await;
    assert_eq!(
        (get.status, get.content_type().starts_with(GQL)),
        (200, true)
    );
    let get = call(
        &app,
        Method::GET,
        "/graphql?query=%7B__typename%7D",
        &[],
        None,
    )
    .await;
    assert_eq!(
        (get.status, get.content_type().starts_with(JSON)),
        (200, true)
    );
    app.stop().await;
}

#[actix_web::test]
async fn request_errors_are_400_without_data_under_graphql_response_json() {
    let app = TestApp::sqlite().await;
    let request_errors = [
        ("a document that does not parse", json!({ "query": "{" })),
        (
            "a document that does not validate",
            json!({ "query": "{ noSuchField }" }),
        ),
        (
            "a variable that does not coerce",
            json!({ "query": "query($id: ID!) { __typename }", "variables": { "id": null } }),
        ),
        (
            "an operation the document does not have",
            json!({ "query": "query A { __typename }", "operationName": "B" }),
        ),
        (
            "two operations and no name",
            json!({ "query": "query A { __typename } query B { __typename }" }),
        ),
    ];
    for (what, body) in &request_errors {
        let answer = post(&app, Some(GQL), &body.to_string()).await;
        assert_eq!(answer.status, 400, "{what}: {}", answer.body);
        assert_eq!(answer.coded(GQL), "BAD_USER_INPUT", "{what}");
        assert!(answer.body.get("data").is_none(), "{what}: {}", answer.body);

        // Under application/json (and with no Accept): 200, as the spec says for that type.
        for accept in [Some(JSON), None] {
            let answer = post(&app, accept, &body.to_string()).await;
            assert_eq!(answer.status, 200, "{what}: {}", answer.body);
            assert_eq!(answer.coded(JSON), "BAD_USER_INPUT", "{what}");
            assert!(answer.body.get("data").is_none(), "{what}: {}", answer.body);
        }
    }
    // A field error is not a request error: 200 with `data` (here null, the field being
    // non-null), under either type.
    for accept in [GQL, JSON] {
        let answer = post(&app, Some(accept), r#"{"query":"{ storageUsed }"}"#).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.coded(accept), "UNAUTHENTICATED");
        assert_eq!(
            answer.body.get("data"),
            Some(&Value::Null),
            "{}",
            answer.body
        );
        assert_eq!(answer.body["errors"][0]["path"], json!(["storageUsed"]));
    }
    app.stop().await;
}

#[actix_web::test]
async fn malformed_requests_are_400_under_both_media_types() {
    let app = TestApp::sqlite().await;
    let malformed = [
        "",
        "   ",
        r#"{ "not a JSON"#,
        "[]",
        "42",
        r#"{"notquery":"{ __typename }"}"#,
        r#"{"query":{"obj":"ect"}}"#,
        r#"{"query":0}"#,
        r#"{"query":false}"#,
        r#"{"query":["array"]}"#,
        r#"{"query":"{ __typename }","operationName":0}"#,
        r#"{"query":"{ __typename }","operationName":{"obj":"ect"}}"#,
        r#"{"query":"{ __typename }","variables":"string"}"#,
        r#"{"query":"{ __typename }","variables":["array"]}"#,
        r#"{"query":"{ __typename }","extensions":"string"}"#,
        r#"{"query":"{ __typename }","extensions":false}"#,
        r#"[{"query":"{ __typename }"},{"qeury":"{ __typename }"}]"#,
    ];
    for body in malformed {
        for accept in [Some(GQL), Some(JSON), None] {
            let answer = post(&app, accept, body).await;
            assert_eq!(answer.status, 400, "{body} ({accept:?}): {}", answer.body);
            let media = accept.unwrap_or(JSON);
            assert_eq!(answer.coded(media), "BAD_USER_INPUT", "{body}");
            assert!(answer.body.get("data").is_none(), "{body}");
        }
    }
    // Null parameters are the same as absent ones; batches still run.
    for body in [
        r#"{"query":"{ __typename }","variables":null,"operationName":null,"extensions":null}"#,
        r#"{"query":"query Q { __typename }","operationName":"Q","extensions":{"some":"value"}}"#,
    ] {
        let answer = post(&app, Some(GQL), body).await;
        assert_eq!(answer.status, 200, "{body}: {}", answer.body);
        assert_eq!(answer.body, json!({ "data": { "__typename": "Query" } }));
    }
    let batch = post(
        &app,
        Some(GQL),
        r#"[{"query":"{ __typename }"},{"query":"{ nope }"}]"#,
    )
    .await;
    assert_eq!(batch.status, 200, "{}", batch.body);
    assert_eq!(batch.body[0], json!({ "data": { "__typename": "Query" } }));
    assert_eq!(first_error(&batch.body[1]).0, "BAD_USER_INPUT");
    app.stop().await;
}

#[actix_web::test]
async fn a_post_says_its_content_type() {
    let app = TestApp::sqlite().await;
    let query = br#"{"query":"{ __typename }"}"#;
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/graphql"),
        Some("application/json; charset=latin1"),
        Some("multipart/mixed; boundary=x"),
        Some("nonsense"),
    ] {
        let mut headers = vec![("Accept", GQL)];
        if let Some(content_type) = content_type {
            headers.push(("Content-Type", content_type));
        }
        let answer = call(&app, Method::POST, "/graphql", &headers, Some(query)).await;
        assert_eq!(answer.status, 415, "{content_type:?}: {}", answer.body);
        assert_eq!(answer.coded(GQL), "BAD_USER_INPUT");
    }
    for content_type in [
        "application/json; charset=utf-8",
        "application/JSON;charset=UTF-8",
    ] {
        let headers = [("Content-Type", content_type), ("Accept", GQL)];
        let answer = call(&app, Method::POST, "/graphql", &headers, Some(query)).await;
        assert_eq!(answer.status, 200, "{content_type}: {}", answer.body);
    }
    // A body past the limit (1 MiB) is 413, before it is parsed.
    let huge = format!(
        r#"{{"query":"{{ __typename }}","pad":"{}"}}"#,
        "x".repeat(1 << 20)
    );
    let answer = post(&app, Some(GQL), &huge).await;
    assert_eq!(answer.status, 413);
    assert_eq!(answer.coded(GQL), "BAD_USER_INPUT");
    app.stop().await;
}

#[actix_web::test]
async fn get_runs_queries_and_answers_405_to_mutations() {
    let app = TestApp::sqlite().await;
    let (token, _) = app.register("ann").await;
    let bearer = format!("Bearer {token}");
    for accept in [GQL, JSON] {
        for path in [
            "/graphql?query=mutation%7Blogout%7D",
            "/graphql?query=mutation+M%7Blogout%7D&operationName=M",
            "/graphql?query=query+Q%7B__typename%7D+mutation+M%7Blogout%7D&operationName=M",
        ] {
            let headers = [("Accept", accept), ("Authorization", bearer.as_str())];
            let answer = call(&app, Method::GET, path, &headers, None).await;
            assert_eq!(answer.status, 405, "{path}: {}", answer.body);
            assert_eq!(
                answer.headers.get("allow").and_then(|v| v.to_str().ok()),
                Some("POST")
            );
            assert_eq!(answer.coded(accept), "BAD_USER_INPUT");
        }
    }
    // A mutation named by a persisted query's hash alone (the text sent once before, over
    // POST, by anyone): 405 too, and it does not run.
    let logout = "mutation { logout }";
    let hash = hex::encode(Sha256::digest(logout));
    let persisted = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    let register = json!({ "query": logout, "extensions": persisted });
    let first = post(&app, Some(JSON), &register.to_string()).await;
    assert_eq!(first.coded(JSON), "UNAUTHENTICATED", "{}", first.body);
    let by_hash = format!("/graphql?extensions={}", url_encode(&persisted.to_string()));
    for accept in [GQL, JSON] {
        let headers = [("Accept", accept), ("Authorization", bearer.as_str())];
        let answer = call(&app, Method::GET, &by_hash, &headers, None).await;
        assert_eq!(answer.status, 405, "{}", answer.body);
        assert_eq!(
            answer.headers.get("allow").and_then(|v| v.to_str().ok()),
            Some("POST")
        );
    }
    // A query by its hash runs over GET.
    let typename = "{ __typename }";
    let persisted = json!({ "persistedQuery": { "version": 1, "sha256Hash": hex::encode(Sha256::digest(typename)) } });
    let first = post(
        &app,
        Some(GQL),
        &json!({ "query": typename, "extensions": persisted }).to_string(),
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let path = format!("/graphql?extensions={}", url_encode(&persisted.to_string()));
    let answer = call(&app, Method::GET, &path, &[("Accept", GQL)], None).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body, json!({ "data": { "__typename": "Query" } }));

    // Still signed in: no logout ran.
    let me = app.ok(Some(&token), "{ me { username } }", json!({})).await;
    assert_eq!(me["me"]["username"], "ann");

    // The query of a document that also holds a mutation runs; variables come URL-encoded.
    let path = "/graphql?query=query+Q%7B__typename%7D+mutation+M%7Blogout%7D&operationName=Q";
    let answer = call(&app, Method::GET, path, &[("Accept", GQL)], None).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body, json!({ "data": { "__typename": "Query" } }));
    let path = "/graphql?query=query+T(%24name%3A+String!)+%7B+__type(name%3A+%24name)+%7B+name+%7D+%7D&variables=%7B%22name%22%3A%22User%22%7D";
    let answer = call(&app, Method::GET, path, &[("Accept", GQL)], None).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["data"]["__type"]["name"], "User");
    // No query, or variables that are not JSON: 400. A document that does not parse: 400
    // under graphql-response+json.
    for path in [
        "/graphql",
        "/graphql?query=%7B__typename%7D&variables=%7Bnope",
        "/graphql?query=%7B",
    ] {
        let answer = call(&app, Method::GET, path, &[("Accept", GQL)], None).await;
        assert_eq!(answer.status, 400, "{path}: {}", answer.body);
        assert_eq!(answer.coded(GQL), "BAD_USER_INPUT");
    }
    app.stop().await;
}

/// A 1x1 PNG header followed by `tail`: enough for sniffing.
fn png(tail: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
    bytes.extend_from_slice(b"IHDR");
    bytes.extend_from_slice(&1u32.to_be_bytes());
    bytes.extend_from_slice(&1u32.to_be_bytes());
    bytes.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    bytes.extend_from_slice(tail);
    bytes
}

/// A multipart upload of `files` file parts, the first `mapped` of them given to the operation
/// (`uploadBlob` under aliases `f0`, `f1`, ...): the whole answer.
async fn upload_parts(app: &TestApp, token: &str, files: usize, mapped: usize) -> (u16, Value) {
    let boundary = "confab-spec-boundary";
    let variables = (0..mapped)
        .map(|i| format!("$f{i}: Upload!"))
        .collect::<Vec<_>>();
    let fields = (0..mapped)
        .map(|i| format!("f{i}: uploadBlob(file: $f{i}) {{ id }}"))
        .collect::<Vec<_>>();
    let query = format!(
        "mutation({}) {{ {} }}",
        variables.join(", "),
        fields.join(" ")
    );
    let operations = json!({
        "query": query,
        "variables": (0..mapped).map(|i| (format!("f{i}"), Value::Null)).collect::<serde_json::Map<_, _>>(),
    });
    let map: serde_json::Map<String, Value> = (0..mapped)
        .map(|i| (i.to_string(), json!([format!("variables.f{i}")])))
        .collect();
    let mut body = Vec::new();
    for (name, value) in [
        ("operations", operations.to_string()),
        ("map", Value::Object(map).to_string()),
    ] {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for i in 0..files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{i}\"; filename=\"f{i}.png\"\r\nContent-Type: image/png\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(&png(format!("file number {i}").as_bytes()));
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let bearer = format!("Bearer {token}");
    let headers = [
        ("Content-Type", content_type.as_str()),
        ("Authorization", bearer.as_str()),
    ];
    let answer = call(app, Method::POST, "/graphql", &headers, Some(&body)).await;
    (answer.status, answer.body)
}

async fn uploads_are_limited_to_ten_file_parts(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    // Ten files: all stored.
    let (status, body) = upload_parts(app, &ann, 10, 10).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(app.count("blobs").await, 10);
    // Eleven or twelve: refused before any is read, whether the operation uses them or not.
    for (files, mapped) in [(11, 11), (12, 12), (12, 1)] {
        let (status, body) = upload_parts(app, &ann, files, mapped).await;
        assert_eq!(status, 400, "{files} files: {body}");
        let (code, message, _) = first_error(&body);
        assert_eq!(code, "BAD_USER_INPUT", "{body}");
        assert!(message.contains("at most 10 files"), "{message}");
    }
    assert_eq!(app.count("blobs").await, 10);
}
