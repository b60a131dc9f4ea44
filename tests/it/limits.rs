//! Request limits and rate limits: each refusal is a coded GraphQL error, and the server
//! keeps answering.

use serde_json::{Value, json};

use crate::util::{TestApp, first_error};
use crate::wsclient::{Got, TRANSPORT, Ws};

#[actix_web::test]
async fn request_shapes_are_bounded() {
    let app = TestApp::sqlite().await;
    let (ann, _) = app.register("ann").await;

    // A body past the limit (1 MiB) is refused before it is parsed.
    let huge = "x".repeat(1024 * 1024 + 10);
    let body = app
        .gql(Some(&ann), "{ me { id } }", json!({ "pad": huge }))
        .await;
    let (code, message, _) = first_error(&body);
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("too large"), "{message}");

    // Batches run, up to ten operations.
    let client = awc::Client::default();
    let batch = |n: usize| {
        json!(
            (0..n)
                .map(|_| json!({ "query": "{ me { username } }" }))
                .collect::<Vec<_>>()
        )
    };
    let mut response = client
        .post(format!("{}/graphql", app.base))
        .insert_header(("Authorization", format!("Bearer {ann}")))
        .send_json(&batch(2))
        .await
        .unwrap();
    let answers: Value = response.json().await.unwrap();
    assert_eq!(answers[1]["data"]["me"]["username"], "ann", "{answers}");
    let mut response = client
        .post(format!("{}/graphql", app.base))
        .send_json(&batch(11))
        .await
        .unwrap();
    let refused: Value = response.json().await.unwrap();
    assert_eq!(first_error(&refused).0, "BAD_USER_INPUT", "{refused}");

    // Root fields and aliases.
    let roots = (0..21)
        .map(|i| format!("f{i}: me {{ id }}"))
        .collect::<Vec<_>>()
        .join(" ");
    let (code, message, _) = first_error(
        &app.gql(Some(&ann), &format!("{{ {roots} }}"), json!({}))
            .await,
    );
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("root fields"), "{message}");
    let aliased = (0..31)
        .map(|i| format!("a{i}: id"))
        .collect::<Vec<_>>()
        .join(" ");
    let (code, message, _) = first_error(
        &app.gql(Some(&ann), &format!("{{ me {{ {aliased} }} }}"), json!({}))
            .await,
    );
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("aliases"), "{message}");
    // Still serving.
    assert_eq!(
        app.ok(Some(&ann), "{ me { username } }", json!({})).await["me"]["username"],
        "ann"
    );
    app.stop().await;
}

/// The server keeps parsed documents by their text; a repeated text still runs with its own
/// operation name and variables, and a refused one is refused every time.
#[actix_web::test]
async fn repeated_documents_run_with_their_own_operation_and_variables() {
    let app = TestApp::sqlite().await;
    let (ann, ann_id) = app.register("ann").await;
    let (_, bob_id) = app.register("bob").await;
    let two = "query Name($id: UUID!) { user(id: $id) { username } } \
               query Mine { me { id } }";
    for _ in 0..2 {
        let by_id =
            |id: &str| json!({ "query": two, "operationName": "Name", "variables": { "id": id } });
        let answer = app.post_json(Some(&ann), by_id(&bob_id)).await;
        assert_eq!(answer["data"]["user"]["username"], "bob", "{answer}");
        let answer = app.post_json(Some(&ann), by_id(&ann_id)).await;
        assert_eq!(answer["data"]["user"]["username"], "ann", "{answer}");
        let answer = app.post_json(Some(&ann), by_id("not-a-uuid")).await;
        assert_eq!(first_error(&answer).0, "BAD_USER_INPUT", "{answer}");
        let answer = app
            .post_json(Some(&ann), json!({ "query": two, "operationName": "Mine" }))
            .await;
        assert_eq!(answer["data"]["me"]["id"], ann_id.as_str(), "{answer}");
    }
    let roots = (0..21)
        .map(|i| format!("f{i}: me {{ id }}"))
        .collect::<Vec<_>>()
        .join(" ");
    for _ in 0..2 {
        let (code, message, _) = first_error(
            &app.gql(Some(&ann), &format!("{{ {roots} }}"), json!({}))
                .await,
        );
        assert_eq!(code, "BAD_USER_INPUT");
        assert!(message.contains("root fields"), "{message}");
    }
    app.stop().await;
}

#[actix_web::test]
async fn sign_in_registration_and_sending_are_rate_limited() {
    let app = TestApp::sqlite_with(|config| {
        config.limits.register_per_minute = 3;
        config.limits.messages_per_10s = 5;
    })
    .await;
    let (ann, _) = app.register("ann").await;
    app.register("bob").await;
    app.register("cat").await;
    let body = app
        .gql(None, "mutation { register(input: { username: \"dan\", email: \"dan@x.io\", password: \"password1\" }) { token } }", json!({}))
        .await;
    assert_eq!(first_error(&body).0, "RATE_LIMITED");
    assert!(
        body["errors"][0]["extensions"]["retryAfter"]
            .as_u64()
            .unwrap()
            >= 1,
        "{body}"
    );
    assert_eq!(app.count("users").await, 3);

    // Five wrong passwords lock the login, even for the right one.
    let login = |password: &str| json!({ "i": { "login": "bob", "password": password } });
    let query = "mutation($i: LoginInput!) { login(input: $i) { token } }";
    for _ in 0..5 {
        assert_eq!(
            first_error(&app.gql(None, query, login("wrong-password")).await).0,
            "UNAUTHENTICATED"
        );
    }
    let locked = app.gql(None, query, login("password-bob")).await;
    assert_eq!(first_error(&locked).0, "RATE_LIMITED", "{locked}");
    // Other logins are unaffected.
    app.ok(
        None,
        "mutation { login(input: { login: \"cat\", password: \"password-cat\" }) { token } }",
        json!({}),
    )
    .await;

    let room = app.create_room(&ann, "r", &[]).await;
    for i in 0..5 {
        app.send(&ann, &room, &format!("m{i}")).await;
    }
    let body = app
        .gql(Some(&ann), "mutation($r: UUID!) { sendMessage(input: { roomId: $r, body: \"one too many\" }) { id } }", json!({ "r": room }))
        .await;
    assert_eq!(first_error(&body).0, "RATE_LIMITED");
    assert_eq!(app.count("messages").await, 5);
    app.stop().await;
}

#[actix_web::test]
async fn sockets_and_subscriptions_are_bounded() {
    let app = TestApp::sqlite_with(|config| {
        config.limits.sockets_per_user = 2;
        config.limits.subscriptions_per_socket = 2;
    })
    .await;
    let (ann, _) = app.register("ann").await;
    let mut first = Ws::ready(&app, TRANSPORT, &ann).await;
    let _second = Ws::ready(&app, TRANSPORT, &ann).await;
    let mut third = Ws::connect(&app, TRANSPORT, Some(&ann)).await;
    assert_eq!(third.closed().await, Some(4429));

    for id in ["a", "b"] {
        first
            .subscribe(id, "subscription { myEvents { __typename } }", json!({}))
            .await;
    }
    first
        .subscribe("c", "subscription { myEvents { __typename } }", json!({}))
        .await;
    match first.recv().await {
        Got::Message(m) => {
            assert_eq!(m["type"], "error", "{m}");
            assert_eq!(m["id"], "c");
            assert_eq!(m["payload"][0]["extensions"]["code"], "RATE_LIMITED");
        }
        other => panic!("expected an error for the third subscription, got {other:?}"),
    }
    // A message past the size limit closes the socket with 1009.
    let (bob, _) = app.register("bob").await;
    let mut big = Ws::ready(&app, TRANSPORT, &bob).await;
    big.send(json!({ "id": "x", "type": "subscribe", "payload": { "query": "x".repeat(70_000) } }))
        .await;
    assert_eq!(big.closed().await, Some(1009));

    // Completing one frees a slot.
    first.send(json!({ "id": "a", "type": "complete" })).await;
    match first.recv().await {
        Got::Message(m) => assert_eq!(
            (m["type"].as_str(), m["id"].as_str()),
            (Some("complete"), Some("a")),
            "{m}"
        ),
        other => panic!("expected complete, got {other:?}"),
    }
    first
        .subscribe("d", "subscription { myEvents { __typename } }", json!({}))
        .await;
    assert!(matches!(
        first
            .recv_within(std::time::Duration::from_millis(500))
            .await,
        Got::Nothing
    ));
    app.stop().await;
}

fn sha256(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

#[actix_web::test]
async fn automatic_persisted_queries() {
    let app = TestApp::sqlite().await;
    let (ann, _) = app.register("ann").await;
    let query = "{ me { username } }";
    let by_hash = json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": sha256(query) } } });
    let unknown = app.post_json(Some(&ann), by_hash.clone()).await;
    assert!(
        unknown["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("PersistedQueryNotFound"),
        "{unknown}"
    );
    assert_eq!(first_error(&unknown).0, "BAD_USER_INPUT");
    let mut register = by_hash.clone();
    register["query"] = json!(query);
    assert_eq!(
        app.post_json(Some(&ann), register).await["data"]["me"]["username"],
        "ann"
    );
    assert_eq!(
        app.post_json(Some(&ann), by_hash).await["data"]["me"]["username"],
        "ann"
    );
    app.stop().await;
}

#[actix_web::test]
async fn allow_list_mode_runs_only_known_operations() {
    let dir = tempfile::tempdir().unwrap();
    let known = "query Me { me { username } }";
    let manifest = dir.path().join("manifest.json");
    std::fs::write(
        &manifest,
        json!({ "format": "apollo-persisted-query-manifest", "version": 1,
                "operations": [{ "id": sha256(known), "name": "Me", "type": "query", "body": known }] })
        .to_string(),
    )
    .unwrap();
    let app = TestApp::sqlite_with(|config| {
        config.limits.persisted_queries = Some(manifest.clone());
        config.limits.persisted_queries_only = true;
    })
    .await;
    // Registering is not in the manifest: nothing can be written.
    let body = app
        .gql(None, "mutation { register(input: { username: \"ann\", email: \"a@x.io\", password: \"password1\" }) { token } }", json!({}))
        .await;
    assert_eq!(first_error(&body).0, "BAD_USER_INPUT");
    assert_eq!(
        body["errors"][0]["extensions"]["reason"],
        "PERSISTED_QUERY_NOT_ALLOWED"
    );
    assert_eq!(app.count("users").await, 0);
    // The known operation runs, by text or by hash alone.
    assert!(app.gql(None, known, json!({})).await["data"]["me"].is_null());
    let by_hash = app
        .post_json(None, json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": sha256(known) } } }))
        .await;
    assert!(by_hash.get("errors").is_none(), "{by_hash}");
    app.stop().await;
}
