//! A corpus of bad and awkward input. Every bad request gets a coded error; awkward but valid
//! text (SQL, HTML, emoji, right-to-left) is stored and returned byte for byte; afterwards the
//! database holds exactly what the valid requests wrote, and the server still answers.

use serde_json::{Value, json};

use crate::on_both_backends;
use crate::util::{TestApp, first_error};
use crate::wsclient::{Got, TRANSPORT, Ws};

on_both_backends!(bad_input_is_refused_and_odd_text_survives);

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
