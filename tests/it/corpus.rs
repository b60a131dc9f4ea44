//! A corpus of bad and awkward input. Every bad request gets a coded error; awkward but valid
//! text (SQL, HTML, emoji, right-to-left) is stored and returned byte for byte; afterwards the
//! database holds exactly what the valid requests wrote, and the server still answers.

use serde_json::{Value, json};

use crate::on_both_backends;
use crate::util::{TestApp, first_error};
use crate::wsclient::{Got, TRANSPORT, Ws};

on_both_backends!(
    bad_input_is_refused_and_odd_text_survives,
    nul_characters_are_refused_everywhere,
    times_out_of_range_are_refused,
    text_outside_graphql_never_fails_the_database
);

const SEND: &str =
    "mutation($i: SendMessageInput!) { sendMessage(input: $i) { id body metadata } }";

async fn raw_post(app: &TestApp, content_type: &str, body: Vec<u8>) -> Value {
    let mut response = awc::Client::default()
        .post(format!("{}/graphql", app.base))
        .insert_header(("Content-Type", content_type))
        .send_body(body)
        .await
        .unwrap();
    response.json::<Value>().await.unwrap()
}

async fn bad_input_is_refused_and_odd_text_survives(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let room = app.create_room(&ann, "corpus", &[]).await;
    let bad: Vec<(&str, Value)> = vec![
        // wrong types, unknown enum values, invalid ids and cursors
        (
            "query($id: UUID!) { room(id: $id) { id } }",
            json!({ "id": "1; DROP TABLE rooms" }),
        ),
        (
            "query($id: UUID!) { room(id: $id) { id } }",
            json!({ "id": [1, 2] }),
        ),
        (
            "mutation { updateProfile(input: { status: DANCING }) { id } }",
            json!({}),
        ),
        (
            "query($r: UUID!) { room(id: $r) { messages(first: 5, after: \"' OR 1=1 --\") { edges { cursor } } } }",
            json!({ "r": room }),
        ),
        (
            "query($r: UUID!) { room(id: $r) { messages(first: 2147483647) { edges { cursor } } } }",
            json!({ "r": room }),
        ),
        (
            "query($r: UUID!) { room(id: $r) { messages(last: -5) { edges { cursor } } } }",
            json!({ "r": room }),
        ),
        // huge strings
        (
            SEND,
            json!({ "i": { "roomId": room, "body": "x".repeat(100_000) } }),
        ),
        (
            "mutation($n: String!) { updateProfile(input: { displayName: $n }) { id } }",
            json!({ "n": "n".repeat(10_000) }),
        ),
        // metadata: not an object, nested too deep, too big
        (
            SEND,
            json!({ "i": { "roomId": room, "body": "m", "metadata": "just a string" } }),
        ),
        (
            SEND,
            json!({ "i": { "roomId": room, "body": "m", "metadata": (0..40).fold(json!(1), |v, _| json!({ "d": v })) } }),
        ),
        (
            SEND,
            json!({ "i": { "roomId": room, "body": "m", "metadata": { "blob": "b".repeat(20_000) } } }),
        ),
        // control characters where they do not belong
        (
            "mutation($n: String!) { updateProfile(input: { displayName: $n }) { id } }",
            json!({ "n": "a\u{0}b" }),
        ),
        (
            "mutation($n: String!) { createRoom(input: { name: $n }) { id } }",
            json!({ "n": "bell\u{7}" }),
        ),
    ];
    for (query, variables) in &bad {
        let body = app.gql(Some(&ann), query, variables.clone()).await;
        let code = first_error(&body).0;
        assert_eq!(code, "BAD_USER_INPUT", "{query} {variables}: {body}");
    }

    // Search syntax is not ours to run: it is just words.
    let search = app
        .ok(
            Some(&ann),
            "{ searchMessages(query: \"\\\"\\\" OR * NEAR( -x\") { edges { cursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(search["searchMessages"]["edges"], json!([]));

    // Bodies that are not GraphQL at all.
    for (content_type, body) in [
        ("application/json", b"{\"query\": ".to_vec()),
        ("application/json", vec![0xff, 0xfe, 0x00, 0x7b]),
        ("application/json", b"[]".to_vec()),
        ("text/plain", b"hello".to_vec()),
        (
            "multipart/form-data; boundary=x",
            b"--x\r\ngarbage".to_vec(),
        ),
    ] {
        let answer = raw_post(app, content_type, body).await;
        assert_eq!(
            first_error(&answer).0,
            "BAD_USER_INPUT",
            "{content_type}: {answer}"
        );
    }
    // Bytes that are no image, invalid UTF-8 included, are not stored.
    let upload = app
        .upload(
            &ann,
            "mutation($file: Upload!) { uploadBlob(file: $file) { id } }",
            &[0xc3, 0x28, 0xff, 0x00, 0x80],
            "image/png",
        )
        .await;
    assert_eq!(first_error(&upload).0, "BAD_USER_INPUT");

    // Awkward but valid text round-trips exactly.
    let odd = [
        "'); DROP TABLE messages; --",
        "<script>alert('x')</script><img src=x onerror=alert(1)>",
        "مرحبا بالعالم — שלום עולם",
        "👩‍👩‍👧‍👦 🏳️‍🌈 e\u{301} ﷽",
        "%s %n {{ }} ${x} \\\\ \\u0000",
    ];
    for text in odd {
        let sent = app
            .ok(
                Some(&ann),
                SEND,
                json!({ "i": { "roomId": room, "body": text, "metadata": { "text": text } } }),
            )
            .await;
        assert_eq!(sent["sendMessage"]["body"], text);
        assert_eq!(sent["sendMessage"]["metadata"]["text"], text);
    }
    let renamed = app
        .ok(
            Some(&ann),
            "mutation($n: String!) { updateProfile(input: { displayName: $n }) { displayName } }",
            json!({ "n": odd[2] }),
        )
        .await;
    assert_eq!(renamed["updateProfile"]["displayName"], odd[2]);
    let room_named = app
        .ok(
            Some(&ann),
            "mutation($n: String!) { createRoom(input: { name: $n, topic: $n }) { name topic } }",
            json!({ "n": odd[1] }),
        )
        .await;
    assert_eq!(room_named["createRoom"]["name"], odd[1]);
    let found = app
        .ok(
            Some(&ann),
            "{ searchMessages(query: \"DROP TABLE\") { edges { node { body } } } }",
            json!({}),
        )
        .await;
    assert_eq!(found["searchMessages"]["edges"][0]["node"]["body"], odd[0]);

    // A socket sending garbage is closed by the protocol; the server goes on.
    let mut ws = Ws::ready(app, TRANSPORT, &ann).await;
    ws.send(json!("not a protocol message")).await;
    assert!(matches!(ws.recv().await, Got::Closed(Some(_))));

    // Exactly what the valid requests wrote.
    assert_eq!(app.count("users").await, 1);
    assert_eq!(app.count("rooms").await, 2);
    assert_eq!(app.count("messages").await, odd.len() as i64);
    assert_eq!(app.count("blobs").await, 0);
    assert_eq!(
        app.ok(Some(&ann), "{ me { displayName } }", json!({}))
            .await["me"]["displayName"],
        odd[2]
    );
}

/// Asserts that each request answers BAD_USER_INPUT (never INTERNAL) without data.
async fn all_refused(app: &TestApp, token: Option<&str>, cases: &[(String, Value)]) {
    for (query, variables) in cases {
        let body = app.gql(token, query, variables.clone()).await;
        let code = first_error(&body).0;
        assert_eq!(code, "BAD_USER_INPUT", "{query} {variables}: {body}");
        let data = &body["data"];
        assert!(
            data.is_null()
                || data
                    .as_object()
                    .is_some_and(|d| d.values().all(Value::is_null)),
            "{query} {variables}: {body}"
        );
    }
}

/// One rule for U+0000 in any input string, on both backends: BAD_USER_INPUT (PostgreSQL
/// cannot store it in text or jsonb; SQLite could, but the two must answer alike). Each case
/// as a variable and, where the grammar allows, as a `\u0000` escape in the document itself.
async fn nul_characters_are_refused_everywhere(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, _) = app.register("bob").await;
    let room = app.create_room(&ann, "nul", &[]).await;
    let sessions = app.count("sessions").await;
    let hash = "a".repeat(64);
    let send = SEND.to_owned();
    let login = "mutation($i: LoginInput!) { login(input: $i) { token } }".to_owned();
    let user = "query($u: String!) { userByUsername(username: $u) { id } }".to_owned();
    let blob = "query($b: String!) { blob(id: $b) { id } }".to_owned();
    let avatar =
        "mutation($b: String) { updateProfile(input: { avatarBlobId: $b }) { id } }".to_owned();
    let signed_in: Vec<(String, Value)> = vec![
        // a message body, a metadata key and value (top level and nested)
        (
            send.clone(),
            json!({ "i": { "roomId": room, "body": "a\u{0}b" } }),
        ),
        (
            send.clone(),
            json!({ "i": { "roomId": room, "body": "\u{0}" } }),
        ),
        (
            send.clone(),
            json!({ "i": { "roomId": room, "body": "m", "metadata": { "k\u{0}": 1 } } }),
        ),
        (
            send.clone(),
            json!({ "i": { "roomId": room, "body": "m", "metadata": { "k": "v\u{0}" } } }),
        ),
        (
            send.clone(),
            json!({ "i": { "roomId": room, "body": "m", "metadata": { "a": [{ "b": ["x", "y\u{0}"] }] } } }),
        ),
        (
            format!(
                "mutation {{ sendMessage(input: {{ roomId: \"{room}\", body: \"a\\u0000b\" }}) {{ id }} }}"
            ),
            json!({}),
        ),
        (
            format!(
                "mutation {{ sendMessage(input: {{ roomId: \"{room}\", body: \"m\", metadata: {{ k: \"v\\u0000\" }} }}) {{ id }} }}"
            ),
            json!({}),
        ),
        (
            format!(
                "mutation {{ sendMessage(input: {{ roomId: \"{room}\", body: \"m\", metadata: {{ a: [{{ b: \"\\u0000\" }}] }} }}) {{ id }} }}"
            ),
            json!({}),
        ),
        // userByUsername, blob(id), avatarBlobId
        (user.clone(), json!({ "u": "ann\u{0}" })),
        (user.clone(), json!({ "u": "\u{0}" })),
        (
            "{ userByUsername(username: \"bob\\u0000\") { id } }".to_owned(),
            json!({}),
        ),
        (blob.clone(), json!({ "b": format!("{}\u{0}", &hash[1..]) })),
        (blob.clone(), json!({ "b": "\u{0}" })),
        (
            format!("{{ blob(id: \"\\u0000{}\") {{ id }} }}", &hash[1..]),
            json!({}),
        ),
        (
            avatar.clone(),
            json!({ "b": format!("{}\u{0}", &hash[1..]) }),
        ),
        (
            "mutation { updateProfile(input: { avatarBlobId: \"\\u0000\" }) { id } }".to_owned(),
            json!({}),
        ),
        // other strings that reach the database
        (
            "mutation($n: String!) { createRoom(input: { name: \"ok\", topic: $n }) { id } }"
                .to_owned(),
            json!({ "n": "t\u{0}" }),
        ),
        (
            "query($q: String!) { searchMessages(query: $q) { edges { cursor } } }".to_owned(),
            json!({ "q": "x\u{0}y" }),
        ),
        (
            "{ searchMessages(query: \"x\\u0000y\") { edges { cursor } } }".to_owned(),
            json!({}),
        ),
    ];
    all_refused(app, Some(&ann), &signed_in).await;

    // Sign-in and registration, by username and by email, with the right password.
    let anonymous: Vec<(String, Value)> = vec![
        (
            login.clone(),
            json!({ "i": { "login": "ann\u{0}", "password": "password-ann" } }),
        ),
        (
            login.clone(),
            json!({ "i": { "login": "ann@example.com\u{0}", "password": "password-ann" } }),
        ),
        (
            login.clone(),
            json!({ "i": { "login": "\u{0}@example.com", "password": "password-ann" } }),
        ),
        (
            login.clone(),
            json!({ "i": { "login": "ann", "password": "password-ann\u{0}" } }),
        ),
        (
            "mutation { login(input: { login: \"ann\\u0000\", password: \"password-ann\" }) { token } }"
                .to_owned(),
            json!({}),
        ),
        (
            "mutation { login(input: { login: \"ann@example.com\\u0000\", password: \"password-ann\" }) { token } }"
                .to_owned(),
            json!({}),
        ),
        (
            "mutation($i: RegisterInput!) { register(input: $i) { token } }".to_owned(),
            json!({ "i": { "username": "cat", "email": "cat@example.com", "password": "pass\u{0}word", "displayName": "Cat" } }),
        ),
    ];
    all_refused(app, None, &anonymous).await;

    // Over a socket as well, a query and a mutation.
    let mut ws = Ws::ready(app, TRANSPORT, &ann).await;
    let over_socket = [
        (user.clone(), json!({ "u": "ann\u{0}" })),
        (
            send.clone(),
            json!({ "i": { "roomId": room, "body": "m", "metadata": { "k\u{0}": "v" } } }),
        ),
        (
            format!(
                "mutation {{ sendMessage(input: {{ roomId: \"{room}\", body: \"a\\u0000b\" }}) {{ id }} }}"
            ),
            json!({}),
        ),
    ];
    for (i, (query, variables)) in over_socket.iter().enumerate() {
        let id = format!("nul{i}");
        ws.subscribe(&id, query, variables.clone()).await;
        let answer = loop {
            match ws.recv().await {
                Got::Message(m) if m["type"] == "complete" => continue,
                Got::Message(m) => break m,
                other => panic!("{query}: {other:?}"),
            }
        };
        assert_eq!(answer["id"], id.as_str(), "{answer}");
        let errors = if answer["type"] == "error" {
            &answer["payload"]
        } else {
            &answer["payload"]["errors"]
        };
        assert_eq!(
            errors[0]["extensions"]["code"], "BAD_USER_INPUT",
            "{query}: {answer}"
        );
    }

    // Nothing was written, and everything still works.
    assert_eq!(app.count("messages").await, 0);
    assert_eq!(app.count("users").await, 2);
    assert_eq!(app.count("rooms").await, 1);
    assert_eq!(app.count("sessions").await, sessions);
    assert_eq!(app.count("users WHERE avatar_blob_id IS NOT NULL").await, 0);
    app.send(&ann, &room, "still here").await;
    let found = app.ok(Some(&bob), &user, json!({ "u": "ann" })).await;
    assert!(found["userByUsername"]["id"].is_string());
    app.ok(
        None,
        &login,
        json!({ "i": { "login": "ann@example.com", "password": "password-ann" } }),
    )
    .await;
}

/// A keyset cursor naming `micros` since the epoch (the server's own cursor format).
fn cursor_at(micros: i64) -> String {
    use base64::Engine as _;
    let json = format!("[{micros},\"{}\"]", uuid::Uuid::nil());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

/// Times a client gives must fall in the years 1 to 9999 (UTC): outside them PostgreSQL
/// cannot store or compare them (and SQLite compares their text wrongly). Each DateTime input,
/// and the times inside cursors, answer BAD_USER_INPUT naming the argument.
async fn times_out_of_range_are_refused(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let room = app.create_room(&ann, "times", &[]).await;
    app.send(&ann, &room, "m").await;
    let stats = "query($s: DateTime) { connectionStats(since: $s) { total } }";
    let publish = "mutation($i: [KeyPackageInput!]!) { publishKeyPackages(input: $i) }";
    let package =
        |at: &str| json!({ "i": [{ "cipherSuite": 1, "keyData": "a2V5", "expiresAt": at }] });
    let cases: Vec<(String, Value, &str)> = vec![
        (stats.to_owned(), json!({ "s": "-262143-01-01T00:00:00Z" }), "since"),
        (stats.to_owned(), json!({ "s": "0000-12-31T23:59:59Z" }), "since"),
        (stats.to_owned(), json!({ "s": "+10000-01-01T00:00:00Z" }), "since"),
        (stats.to_owned(), json!({ "s": "+262142-12-31T00:00:00Z" }), "since"),
        (
            "{ connectionStats(since: \"-262143-01-01T00:00:00Z\") { total } }".to_owned(),
            json!({}),
            "since",
        ),
        (publish.to_owned(), package("+262142-01-01T00:00:00Z"), "expiresAt"),
        (publish.to_owned(), package("+10000-01-01T00:00:00Z"), "expiresAt"),
        (
            "mutation { publishKeyPackages(input: [{ cipherSuite: 1, keyData: \"a2V5\", expiresAt: \"+200000-01-01T00:00:00Z\" }]) }".to_owned(),
            json!({}),
            "expiresAt",
        ),
        (
            "query($r: UUID!, $c: String) { room(id: $r) { messages(first: 5, after: $c) { edges { cursor } } } }".to_owned(),
            json!({ "r": room, "c": cursor_at(-5_000_000_000_000_000_000) }),
            "after",
        ),
        (
            "query($r: UUID!, $c: String) { room(id: $r) { messages(last: 5, before: $c) { edges { cursor } } } }".to_owned(),
            json!({ "r": room, "c": cursor_at(5_000_000_000_000_000_000) }),
            "before",
        ),
    ];
    for (query, variables, field) in &cases {
        let body = app.gql(Some(&ann), query, variables.clone()).await;
        let (code, _, named) = first_error(&body);
        assert_eq!(
            (code.as_str(), named.as_deref()),
            ("BAD_USER_INPUT", Some(*field)),
            "{query} {variables}: {body}"
        );
    }
    assert_eq!(app.count("key_packages").await, 0);
    // The ends of the range work.
    let all = app
        .ok(Some(&ann), stats, json!({ "s": "0001-01-01T00:00:00Z" }))
        .await;
    assert_eq!(all["connectionStats"]["total"], 0);
    let published = app
        .ok(Some(&ann), publish, package("9999-12-31T23:59:59Z"))
        .await;
    assert_eq!(published["publishKeyPackages"], 1);
    app.ok(
            Some(&ann),
            "query($r: UUID!, $c: String) { room(id: $r) { messages(first: 5, after: $c) { edges { cursor } } } }",
            json!({ "r": room, "c": cursor_at(-62_135_596_800_000_000) }),
        )
    .await;
}

/// Client text that reaches the database without being a GraphQL string: a blob id in the
/// `/blobs/{id}` path, the User-Agent stored with a session.
async fn text_outside_graphql_never_fails_the_database(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    for path in [
        "/blobs/%00".to_owned(),
        format!("/blobs/{}%00", "a".repeat(63)),
        "/blobs/%C3%28".to_owned(),
        format!("/blobs/{}", "A".repeat(64)),
    ] {
        let (status, _, _) = app.fetch(&path, Some(&ann), &[]).await;
        assert_eq!(status, 404, "{path}");
    }
    // Control characters in a User-Agent (a tab is all HTTP lets through) are not stored.
    let (status, _, body) = app
        .post_raw(
            None,
            &json!({
                "query": "mutation { login(input: { login: \"ann\", password: \"password-ann\" }) { session { userAgent } } }"
            }),
            &[("User-Agent", "Agent\t/1.0\t")],
        )
        .await;
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["login"]["session"]["userAgent"], "Agent/1.0",
        "{body}"
    );
}
