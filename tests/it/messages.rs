//! Messages over HTTP: send, edit, delete, replies, history pages, reactions, receipts, unread.

use futures_util::future::join_all;
use sea_orm::{ConnectionTrait as _, TransactionTrait as _};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::on_both_backends;
use crate::util::{TestApp, first_error};

const SEND: &str = "mutation($input: SendMessageInput!) { sendMessage(input: $input) { id body metadata replyTo { id body } sender { username } editedAt deletedAt } }";
const EDIT: &str =
    "mutation($id: UUID!, $body: String!) { editMessage(id: $id, body: $body) { body editedAt } }";
const DELETE: &str = "mutation($id: UUID!) { deleteMessage(id: $id) { body metadata deletedAt } }";
const PAGE: &str = "query($room: UUID!, $first: Int, $after: String, $last: Int, $before: String) { room(id: $room) { messages(first: $first, after: $after, last: $last, before: $before) { edges { cursor node { id body } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }";
const REACT: &str = "mutation($id: UUID!, $e: String!) { react(messageId: $id, emoji: $e) { reactions { emoji count reactedByMe users { username } } } }";
const UNREACT: &str = "mutation($id: UUID!, $e: String!) { unreact(messageId: $id, emoji: $e) { reactions { emoji count } } }";
const UNREAD: &str = "query($room: UUID!) { room(id: $room) { unreadCount lastMessage { body } } }";
const MARK: &str = "mutation($room: UUID!, $msg: UUID!) { markRead(roomId: $room, messageId: $msg) { lastReadMessageId } }";

on_both_backends!(
    send_edit_delete_and_reply,
    history_pages_by_cursor,
    newest_first_pages_walk_back_in_time,
    reactions_group_by_emoji,
    reactions_are_read_only_for_messages_that_had_some,
    receipts_and_unread_counts,
    concurrent_sends_are_all_stored,
    a_failing_message_fails_alone,
    racing_sends_are_checked_each_on_its_own,
    a_later_batch_with_an_older_message_leaves_the_marker,
    single_writes_wait_for_the_writer_turn,
    last_message_is_the_newest_undeleted,
    a_marker_whose_message_row_is_gone_counts_as_none,
);

async fn send_edit_delete_and_reply(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let room = app.create_room(&ann, "r", &[&bob_id]).await;
    let other = app.create_room(&ann, "other", &[]).await;
    let input = |v: Value| json!({ "input": v });

    let sent = app
        .ok(Some(&ann), SEND, input(json!({ "roomId": room, "body": "  hello <b>world</b> 👋  ", "metadata": { "client": "web", "n": [1, 2] } })))
        .await;
    let msg = &sent["sendMessage"];
    assert_eq!(msg["body"], "hello <b>world</b> 👋");
    assert_eq!(msg["metadata"], json!({ "client": "web", "n": [1, 2] }));
    assert_eq!(msg["sender"]["username"], "ann");
    let id = msg["id"].as_str().unwrap().to_owned();

    let reply = app
        .ok(
            Some(&bob),
            SEND,
            input(json!({ "roomId": room, "body": "hi", "replyToId": id })),
        )
        .await;
    assert_eq!(
        reply["sendMessage"]["replyTo"]["body"],
        "hello <b>world</b> 👋"
    );
    let reply_id = reply["sendMessage"]["id"].as_str().unwrap().to_owned();

    // What was stored is what was sent: read back from the database, not the send's answer.
    let stored = app
        .ok(
            Some(&bob),
            "query($r: UUID!) { room(id: $r) { messages(first: 10) { nodes { id body metadata replyTo { id } } } } }",
            json!({ "r": room }),
        )
        .await;
    assert_eq!(
        stored["room"]["messages"]["nodes"],
        json!([
            { "id": id, "body": "hello <b>world</b> 👋", "metadata": { "client": "web", "n": [1, 2] }, "replyTo": null },
            { "id": reply_id, "body": "hi", "metadata": null, "replyTo": { "id": id } },
        ])
    );

    let huge = "é".repeat(10_001);
    let exact = "é".repeat(10_000);
    for (v, field) in [
        (json!({ "roomId": room, "body": " \n " }), "body"),
        (json!({ "roomId": room, "body": huge }), "body"),
        (
            json!({ "roomId": room, "body": "x", "metadata": [1] }),
            "metadata",
        ),
        (
            json!({ "roomId": room, "body": "x", "metadata": { "x": "y".repeat(17_000) } }),
            "metadata",
        ),
        (
            json!({ "roomId": other, "body": "x", "replyToId": id }),
            "replyToId",
        ),
    ] {
        let body = app.gql(Some(&ann), SEND, input(v)).await;
        let (code, _, got) = first_error(&body);
        assert_eq!(
            (code.as_str(), got.as_deref()),
            ("BAD_USER_INPUT", Some(field))
        );
    }
    app.ok(
        Some(&ann),
        SEND,
        input(json!({ "roomId": room, "body": exact })),
    )
    .await;
    assert_eq!(app.count("messages").await, 3);

    // Only the sender edits.
    let edited = app
        .ok(Some(&ann), EDIT, json!({ "id": id, "body": "hello again" }))
        .await;
    assert_eq!(edited["editMessage"]["body"], "hello again");
    assert!(edited["editMessage"]["editedAt"].is_string());
    assert_eq!(
        first_error(
            &app.gql(Some(&bob), EDIT, json!({ "id": id, "body": "mine" }))
                .await
        )
        .0,
        "FORBIDDEN"
    );

    // The sender or a room admin deletes; the body is gone for good.
    assert_eq!(
        first_error(&app.gql(Some(&bob), DELETE, json!({ "id": id })).await).0,
        "FORBIDDEN"
    );
    let deleted = app.ok(Some(&ann), DELETE, json!({ "id": reply_id })).await;
    assert!(deleted["deleteMessage"]["body"].is_null());
    assert!(deleted["deleteMessage"]["deletedAt"].is_string());
    let again = app.ok(Some(&ann), DELETE, json!({ "id": reply_id })).await;
    assert_eq!(
        again["deleteMessage"]["deletedAt"],
        deleted["deleteMessage"]["deletedAt"]
    );
    assert_eq!(
        first_error(
            &app.gql(Some(&bob), EDIT, json!({ "id": reply_id, "body": "x" }))
                .await
        )
        .0,
        "CONFLICT"
    );
    // The text stays, hidden, for the moderation retention period (see moderation.rs).
    assert_eq!(
        app.count("messages WHERE deleted_at IS NOT NULL AND body IS NOT NULL")
            .await,
        1
    );
}

fn ids(data: &Value) -> Vec<String> {
    node_field(data, "id")
}

/// `field` of every message of a `room { messages { edges { node } } }` page.
fn node_field(data: &Value, field: &str) -> Vec<String> {
    data["room"]["messages"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"][field].as_str().unwrap().to_owned())
        .collect()
}

async fn history_pages_by_cursor(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let room = app.create_room(&ann, "r", &[]).await;
    let mut sent = Vec::new();
    for i in 0..25 {
        sent.push(app.send(&ann, &room, &format!("m{i}")).await);
    }
    // Default: the newest 20, oldest first.
    let page = app.ok(Some(&ann), PAGE, json!({ "room": room })).await;
    assert_eq!(ids(&page), sent[5..]);

    // Walk back with last/before while new messages keep arriving: no gaps, no repeats.
    let mut seen: Vec<String> = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let page = app
            .ok(
                Some(&ann),
                PAGE,
                json!({ "room": room, "last": 10, "before": before }),
            )
            .await;
        let mut chunk = ids(&page);
        chunk.extend(seen);
        seen = chunk;
        app.send(&ann, &room, "late arrival").await;
        let info = &page["room"]["messages"]["pageInfo"];
        if info["hasPreviousPage"] == false {
            break;
        }
        before = info["startCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, sent);

    // Forward with first/after.
    let mut forward: Vec<String> = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..3 {
        let page = app
            .ok(
                Some(&ann),
                PAGE,
                json!({ "room": room, "first": 10, "after": after }),
            )
            .await;
        forward.extend(ids(&page));
        after = page["room"]["messages"]["pageInfo"]["endCursor"]
            .as_str()
            .map(str::to_owned);
    }
    assert_eq!(forward[..25], sent[..]);

    for (vars, field) in [
        (json!({ "room": room, "first": 101 }), "first"),
        (json!({ "room": room, "first": -1 }), "first"),
        (json!({ "room": room, "last": 1000 }), "last"),
        (json!({ "room": room, "first": 1, "last": 1 }), "last"),
        (
            json!({ "room": room, "first": 1, "after": "bm90IGEgY3Vyc29y" }),
            "after",
        ),
        (
            json!({ "room": room, "last": 1, "before": "%%%" }),
            "before",
        ),
    ] {
        let body = app.gql(Some(&ann), PAGE, vars.clone()).await;
        let (code, _, got) = first_error(&body);
        assert_eq!(
            (code.as_str(), got.as_deref()),
            ("BAD_USER_INPUT", Some(field)),
            "{vars}"
        );
    }
}

async fn newest_first_pages_walk_back_in_time(app: &TestApp) {
    const NEWEST: &str = "query($room: UUID!, $first: Int, $after: String, $last: Int, $before: String) { room(id: $room) { messages(first: $first, after: $after, last: $last, before: $before, order: NEWEST_FIRST) { edges { cursor node { id body } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }";
    let (ann, _) = app.register("ann").await;
    let room = app.create_room(&ann, "r", &[]).await;
    let mut sent = Vec::new();
    for i in 0..25 {
        sent.push(app.send(&ann, &room, &format!("m{i}")).await);
    }
    let newest: Vec<String> = sent.iter().rev().cloned().collect();

    // Default: the newest 20, newest first; more lie beyond the end (older).
    let page = app.ok(Some(&ann), NEWEST, json!({ "room": room })).await;
    assert_eq!(ids(&page), newest[..20]);
    assert_eq!(page["room"]["messages"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(
        page["room"]["messages"]["pageInfo"]["hasPreviousPage"],
        false
    );

    // first/after walks back in time, without gaps or repeats, while new messages arrive.
    let mut seen: Vec<String> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = app
            .ok(
                Some(&ann),
                NEWEST,
                json!({ "room": room, "first": 10, "after": after }),
            )
            .await;
        seen.extend(ids(&page));
        app.send(&ann, &room, "late arrival").await;
        let info = &page["room"]["messages"]["pageInfo"];
        if info["hasNextPage"] == false {
            break;
        }
        after = info["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, newest);

    // last/before walks forward in time from a cursor: the 3 newer than the 8th newest,
    // still newest first.
    let page = app
        .ok(Some(&ann), NEWEST, json!({ "room": room, "first": 8 }))
        .await;
    let eighth = page["room"]["messages"]["edges"][7]["cursor"].clone();
    let page = app
        .ok(
            Some(&ann),
            NEWEST,
            json!({ "room": room, "last": 3, "before": eighth }),
        )
        .await;
    let page_ids = ids(&page);
    let all = app
        .ok(Some(&ann), NEWEST, json!({ "room": room, "first": 8 }))
        .await;
    assert_eq!(page_ids, ids(&all)[4..7]);
    assert_eq!(page["room"]["messages"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(
        page["room"]["messages"]["pageInfo"]["hasPreviousPage"],
        true
    );

    let body = app
        .gql(Some(&ann), NEWEST, json!({ "room": room, "first": 101 }))
        .await;
    assert_eq!(first_error(&body).2.as_deref(), Some("first"));
}

async fn reactions_group_by_emoji(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let room = app.create_room(&ann, "r", &[&bob_id]).await;
    let msg = app.send(&ann, &room, "react to me").await;
    app.ok(Some(&ann), REACT, json!({ "id": msg, "e": "👍" }))
        .await;
    app.ok(Some(&ann), REACT, json!({ "id": msg, "e": "👍" }))
        .await;
    app.ok(Some(&bob), REACT, json!({ "id": msg, "e": "👍" }))
        .await;
    let data = app
        .ok(Some(&bob), REACT, json!({ "id": msg, "e": "❤️" }))
        .await;
    assert_eq!(
        data["react"]["reactions"],
        json!([
            { "emoji": "👍", "count": 2, "reactedByMe": true, "users": [{ "username": "ann" }, { "username": "bob" }] },
            { "emoji": "❤️", "count": 1, "reactedByMe": true, "users": [{ "username": "bob" }] },
        ])
    );
    assert_eq!(app.count("message_reactions").await, 3);
    let data = app
        .ok(Some(&ann), UNREACT, json!({ "id": msg, "e": "👍" }))
        .await;
    assert_eq!(
        data["unreact"]["reactions"],
        json!([{ "emoji": "👍", "count": 1 }, { "emoji": "❤️", "count": 1 }])
    );
    for bad in ["", "two words", &"x".repeat(33)] {
        let body = app
            .gql(Some(&ann), REACT, json!({ "id": msg, "e": bad }))
            .await;
        assert_eq!(first_error(&body).2.as_deref(), Some("emoji"), "{bad:?}");
    }
}

/// A page asks the database for the reactions of messages that have had one, only.
async fn reactions_are_read_only_for_messages_that_had_some(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let room = app.create_room(&ann, "r", &[&bob_id]).await;
    let msg = app.send(&ann, &room, "react to me").await;
    app.send(&ann, &room, "not me").await;
    let with = "query($r: UUID!) { room(id: $r) { messages(first: 10) { nodes { id reactions { emoji count } } } } }";
    let without = "query($r: UUID!) { room(id: $r) { messages(first: 10) { nodes { id } } } }";
    let vars = json!({ "r": room });
    let cost = |query: &'static str| {
        let vars = vars.clone();
        let bob = bob.clone();
        async move {
            let before = app.statements();
            let data = app.ok(Some(&bob), query, vars).await;
            (app.statements() - before, data)
        }
    };
    cost(without).await;
    let (plain, _) = cost(without).await;
    let (none_yet, data) = cost(with).await;
    assert_eq!(
        none_yet, plain,
        "no message had a reaction: no statement for them"
    );
    assert_eq!(data["room"]["messages"]["nodes"][0]["reactions"], json!([]));

    app.ok(Some(&bob), REACT, json!({ "id": msg, "e": "👍" }))
        .await;
    let (one, data) = cost(with).await;
    assert_eq!(one, plain + 1);
    let nodes = data["room"]["messages"]["nodes"].as_array().unwrap();
    let reacted = nodes.iter().find(|n| n["id"] == msg).unwrap();
    assert_eq!(reacted["reactions"], json!([{ "emoji": "👍", "count": 1 }]));
    // Taken back, the message is still asked about (and has none).
    app.ok(Some(&bob), UNREACT, json!({ "id": msg, "e": "👍" }))
        .await;
    let (after, data) = cost(with).await;
    assert_eq!(after, plain + 1);
    assert!(
        data["room"]["messages"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["reactions"] == json!([]))
    );
}

async fn receipts_and_unread_counts(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let (_, cat_id) = app.register("cat").await;
    let room = app.create_room(&ann, "r", &[&bob_id, &cat_id]).await;
    let other = app.create_room(&ann, "other", &[&bob_id]).await;
    let m: Vec<String> = [
        app.send(&ann, &room, "one").await,
        app.send(&ann, &room, "two").await,
        app.send(&ann, &room, "three").await,
    ]
    .into();
    let unread = |token: &str| {
        let token = token.to_owned();
        let room = room.clone();
        async move { app.ok(Some(&token), UNREAD, json!({ "room": room })).await["room"].clone() }
    };
    assert_eq!(unread(&bob).await["unreadCount"], 3);
    assert_eq!(unread(&bob).await["lastMessage"]["body"], "three");
    assert_eq!(
        unread(&ann).await["unreadCount"],
        0,
        "own messages are never unread"
    );

    app.ok(Some(&bob), MARK, json!({ "room": room, "msg": m[1] }))
        .await;
    assert_eq!(unread(&bob).await["unreadCount"], 1);
    // Markers only move forward.
    let back = app
        .ok(Some(&bob), MARK, json!({ "room": room, "msg": m[0] }))
        .await;
    assert_eq!(back["markRead"]["lastReadMessageId"], m[1]);
    assert_eq!(unread(&bob).await["unreadCount"], 1);

    let read_by = "query($room: UUID!) { room(id: $room) { messages(first: 10) { edges { node { body readBy { username } } } } } }";
    let data = app.ok(Some(&ann), read_by, json!({ "room": room })).await;
    let readers: Vec<Value> = data["room"]["messages"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["readBy"].clone())
        .collect();
    assert_eq!(
        readers,
        [
            json!([{ "username": "bob" }]),
            json!([{ "username": "bob" }]),
            json!([])
        ]
    );

    // Deleted messages do not count; a message of another room cannot be a marker here.
    app.ok(Some(&ann), DELETE, json!({ "id": m[2] })).await;
    assert_eq!(unread(&bob).await["unreadCount"], 0);
    assert_eq!(unread(&bob).await["lastMessage"]["body"], "two");
    let elsewhere = app.send(&ann, &other, "elsewhere").await;
    let body = app
        .gql(Some(&bob), MARK, json!({ "room": room, "msg": elsewhere }))
        .await;
    assert_eq!(first_error(&body).0, "NOT_FOUND");

    // Sending marks the room read up to one's own message.
    app.send(&ann, &room, "four").await;
    assert_eq!(unread(&bob).await["unreadCount"], 1);
    app.send(&bob, &room, "five").await;
    assert_eq!(unread(&bob).await["unreadCount"], 0);
    assert_eq!(unread(&ann).await["unreadCount"], 1);
}

/// Sends arriving together are written together (group commit): every one is stored, once,
/// and each sender's read marker ends at their newest message.
async fn concurrent_sends_are_all_stored(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let (cat, cat_id) = app.register("cat").await;
    let big = app.create_room(&ann, "big", &[&bob_id, &cat_id]).await;
    let small = app.create_room(&ann, "small", &[&bob_id]).await;
    let mut sends = Vec::new();
    for i in 0..20 {
        for (who, token) in [("ann", &ann), ("bob", &bob)] {
            sends.push((token.clone(), big.clone(), format!("{who} big {i}")));
            if i < 10 {
                sends.push((token.clone(), small.clone(), format!("{who} small {i}")));
            }
        }
    }
    let ids = join_all(
        sends
            .iter()
            .map(|(token, room, body)| app.send(token, room, body)),
    )
    .await;
    let distinct: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), 60);
    assert_eq!(app.count("messages").await, 60);

    for (room, n) in [(&big, 40), (&small, 20)] {
        let page = app
            .ok(Some(&ann), PAGE, json!({ "room": room, "first": 100 }))
            .await;
        let bodies = node_field(&page, "body");
        assert_eq!(bodies.len(), n);
        // The sends raced, so the order is whatever the writes made it; a sender's unread
        // count is what others wrote after the sender's newest message.
        for (who, token) in [("ann", &ann), ("bob", &bob)] {
            let last_own = bodies.iter().rposition(|b| b.starts_with(who)).unwrap();
            let newer_from_others = bodies[last_own..]
                .iter()
                .filter(|b| !b.starts_with(who))
                .count();
            let unread = app.ok(Some(token), UNREAD, json!({ "room": room })).await;
            assert_eq!(
                unread["room"]["unreadCount"], newer_from_others,
                "{who}'s marker is at their newest message in the room"
            );
        }
    }
    let unread = app.ok(Some(&cat), UNREAD, json!({ "room": big })).await;
    assert_eq!(unread["room"]["unreadCount"], 40);
}

/// A batch with a message the database refuses (a kind the table does not allow) writes the
/// others and fails only that one; a message to a room that does not exist is not written
/// (the checks in the INSERT refuse it) and does not fail the others either.
async fn a_failing_message_fails_alone(app: &TestApp) {
    let (ann, ann_id, room, room_id) = room_of_one(app).await;
    let message = |room_id: Uuid, body: &str| text(ann_id, room_id, body);
    let mut bad = message(room_id, "bad kind");
    bad.kind = "bogus".to_owned();
    let batch = vec![
        message(room_id, "first"),
        bad,
        message(Uuid::now_v7(), "nowhere"),
        message(room_id, "fourth"),
    ];
    let results = app.message_writer().write_all(batch).await;
    let outcome: Vec<&str> = results
        .iter()
        .map(|r| match r {
            Ok(Some(_)) => "written",
            Ok(None) => "refused",
            Err(_) => "failed",
        })
        .collect();
    assert_eq!(outcome, ["written", "failed", "refused", "written"]);
    assert_eq!(app.count("messages").await, 2);
    let page = app
        .ok(Some(&ann), PAGE, json!({ "room": room, "first": 10 }))
        .await;
    assert_eq!(node_field(&page, "body"), ["first", "fourth"]);
    let fourth = results[3].as_ref().unwrap().as_ref().unwrap();
    assert_eq!(only_marker(app, &ann, &room).await, fourth.id.to_string());
}

/// Racing sends are written together (one INSERT for whatever is queued, its checks
/// included), but each send gets its own answer: members send, strangers get NOT_FOUND.
async fn racing_sends_are_checked_each_on_its_own(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let (cat, _) = app.register("cat").await;
    let shared = app.create_room(&ann, "shared", &[&bob_id]).await;
    let own = app.create_room(&ann, "own", &[]).await;
    let mut sends = Vec::new();
    for i in 0..8 {
        sends.push((&ann, &shared, true, i));
        sends.push((&bob, &shared, true, i));
        sends.push((&cat, &shared, false, i));
        sends.push((&ann, &own, true, i));
        sends.push((&bob, &own, false, i));
    }
    let answers = join_all(sends.iter().map(|(token, room, _, i)| {
        app.gql(
            Some(token.as_str()),
            SEND,
            json!({ "input": { "roomId": room, "body": format!("m{i}") } }),
        )
    }))
    .await;
    for ((_, _, member, _), answer) in sends.iter().zip(&answers) {
        if *member {
            assert!(answer["data"]["sendMessage"]["id"].is_string(), "{answer}");
        } else {
            assert_eq!(first_error(answer).0, "NOT_FOUND", "{answer}");
        }
    }
    assert_eq!(app.count("messages").await, 24);
}

/// A text message as the writer takes it.
fn text(sender: Uuid, room_id: Uuid, body: &str) -> entity::messages::Model {
    entity::messages::Model {
        id: Uuid::now_v7(),
        room_id,
        sender_id: Some(sender),
        kind: "text".to_owned(),
        body: Some(body.to_owned()),
        ciphertext: None,
        epoch: None,
        reply_to_id: None,
        metadata: Some(json!({ "n": 1 })),
        created_at: confab::db::now(),
        edited_at: None,
        deleted_at: None,
        reacted: false,
        seq: 0,
    }
}

/// Two sends of one member can reach the writer in the other order than they were created:
/// the read marker stays at the newer message.
async fn a_later_batch_with_an_older_message_leaves_the_marker(app: &TestApp) {
    let (ann, ann_id, room, room_id) = room_of_one(app).await;
    let older = text(ann_id, room_id, "older");
    std::thread::sleep(std::time::Duration::from_millis(2));
    let newer = text(ann_id, room_id, "newer");
    let writer = app.message_writer();
    for batch in [vec![newer.clone()], vec![older]] {
        assert!(
            writer
                .write_all(batch)
                .await
                .iter()
                .all(|written| matches!(written, Ok(Some(_))))
        );
    }
    assert_eq!(only_marker(app, &ann, &room).await, newer.id.to_string());
}

/// ann (token, id) alone in a room (id as text and as UUID), for the writer's tests.
async fn room_of_one(app: &TestApp) -> (String, Uuid, String, Uuid) {
    let (ann, ann_id) = app.register("ann").await;
    let room = app.create_room(&ann, "r", &[]).await;
    let room_id = room.parse().unwrap();
    (ann, ann_id.parse().unwrap(), room, room_id)
}

/// The read marker of the only member of `room`.
async fn only_marker(app: &TestApp, token: &str, room: &str) -> Value {
    let data = app
        .ok(
            Some(token),
            "query($room: UUID!) { room(id: $room) { members { lastReadMessageId } } }",
            json!({ "room": room }),
        )
        .await;
    data["room"]["members"][0]["lastReadMessageId"].clone()
}

/// Writes that are one statement (edits, reactions, read markers, profiles, notifications,
/// sign-ins) take the SQLite writer turn like transactions do, so behind a stream of sends they
/// queue for it in order instead of sleeping in SQLite's busy handler. While a test holds the
/// turn none of them finishes, and all finish once it is let go. PostgreSQL writes never
/// wait for it.
async fn single_writes_wait_for_the_writer_turn(app: &TestApp) {
    use futures_util::StreamExt;
    use futures_util::stream::FuturesUnordered;
    use sea_orm::DbBackend;
    use std::time::Duration;

    let (ann, _) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let room = app.create_room(&ann, "r", &[&bob_id]).await;
    let message = app.send(&ann, &room, "hello").await;
    // Read markers move on others' messages (one's own send moves one's own).
    let reply = app.send(&bob, &room, "hi").await;
    let vars = json!({ "r": room, "m": message, "reply": reply });
    let writes = [
        "mutation($m: UUID!) { editMessage(id: $m, body: \"edited\") { id } }",
        "mutation($m: UUID!) { react(messageId: $m, emoji: \"👍\") { id } }",
        "mutation($r: UUID!, $reply: UUID!) { markRead(roomId: $r, messageId: $reply) { role } }",
        "mutation { updateProfile(input: { displayName: \"Ann A.\" }) { id } }",
        "mutation { markNotificationsRead }",
        "mutation { login(input: { login: \"ann\", password: \"password-ann\" }) { token } }",
    ];
    let sqlite = app.db.get_database_backend() == DbBackend::Sqlite;

    let turn = app.take_writer_turn().await;
    let mut pending: FuturesUnordered<_> = writes
        .iter()
        .map(|query| app.gql(Some(&ann), query, vars.clone()))
        .collect();
    let mut answers = Vec::new();
    if sqlite {
        let early = tokio::time::timeout(Duration::from_millis(500), pending.next()).await;
        assert!(
            early.is_err(),
            "a write finished outside the turn: {early:?}"
        );
        drop(turn);
    }
    // On PostgreSQL the turn is still held here: a write waiting for it would never finish.
    let all = async {
        while let Some(answer) = pending.next().await {
            answers.push(answer);
        }
    };
    tokio::time::timeout(Duration::from_secs(30), all)
        .await
        .expect("every write finished");
    assert_eq!(answers.len(), writes.len());
    for answer in &answers {
        assert!(answer.get("errors").is_none(), "{answer}");
    }

    let after = app
        .ok(
            Some(&ann),
            "query($r: UUID!) { me { displayName } room(id: $r) { unreadCount messages(first: 1, order: OLDEST_FIRST) { nodes { body reactions { emoji } } } } }",
            vars.clone(),
        )
        .await;
    assert_eq!(after["me"]["displayName"], "Ann A.");
    assert_eq!(after["room"]["unreadCount"], 0);
    let node = &after["room"]["messages"]["nodes"][0];
    assert_eq!(node["body"], "edited");
    assert_eq!(node["reactions"], json!([{ "emoji": "👍" }]));
}

/// A room's `lastMessage` is its newest message that is not deleted, with its sender, for each
/// room of a listing: past several deleted ones, and null once all are deleted or none was
/// sent.
async fn last_message_is_the_newest_undeleted(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let busy = app.create_room(&ann, "busy", &[&bob_id]).await;
    app.create_room(&ann, "quiet", &[&bob_id]).await;
    let one = app.send(&bob, &busy, "one").await;
    let two = app.send(&ann, &busy, "two").await;
    let three = app.send(&ann, &busy, "three").await;
    let listing =
        "{ myRooms(first: 10) { nodes { name lastMessage { body sender { username } } } } }";
    let last = |data: Value| -> Vec<Value> {
        let mut rooms: Vec<Value> = data["myRooms"]["nodes"].as_array().unwrap().clone();
        rooms.sort_by_key(|r| r["name"].as_str().unwrap().to_owned());
        rooms.iter().map(|r| r["lastMessage"].clone()).collect()
    };

    let before = last(app.ok(Some(&bob), listing, json!({})).await);
    assert_eq!(
        before,
        [
            json!({ "body": "three", "sender": { "username": "ann" } }),
            Value::Null
        ]
    );
    for id in [&three, &two] {
        app.ok(Some(&ann), DELETE, json!({ "id": id })).await;
    }
    let after = last(app.ok(Some(&bob), listing, json!({})).await);
    assert_eq!(
        after,
        [
            json!({ "body": "one", "sender": { "username": "bob" } }),
            Value::Null
        ]
    );
    app.ok(Some(&bob), DELETE, json!({ "id": one })).await;
    let none = last(app.ok(Some(&bob), listing, json!({})).await);
    assert_eq!(none, [Value::Null, Value::Null]);
}

/// Confab never deletes a message row, but whatever does so by hand (as `seed --bench` does)
/// leaves read markers that point nowhere on PostgreSQL, where the marker has no foreign key
/// (migration 20; SQLite's key sets it to NULL). Either way it counts as no marker, and the
/// next `markRead` moves it on.
async fn a_marker_whose_message_row_is_gone_counts_as_none(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let room = app.create_room(&ann, "r", &[&bob_id]).await;
    let mut sent = Vec::new();
    for body in ["one", "two", "three"] {
        sent.push(app.send(&ann, &room, body).await);
    }
    let unread = || async {
        app.ok(Some(&bob), UNREAD, json!({ "room": room })).await["room"]["unreadCount"].clone()
    };
    app.ok(Some(&bob), MARK, json!({ "room": room, "msg": sent[1] }))
        .await;
    assert_eq!(unread().await, 1);

    app.db
        .execute_unprepared("DELETE FROM messages WHERE body = 'two'")
        .await
        .expect("delete by hand");
    // As whoever deletes rows by hand must: close the gap in the room's numbering.
    confab::store::seq::renumber(&app.db).await.unwrap();
    assert_eq!(unread().await, 2, "one and three, as if nothing was read");
    let marked = app
        .ok(Some(&bob), MARK, json!({ "room": room, "msg": sent[2] }))
        .await;
    assert_eq!(marked["markRead"]["lastReadMessageId"], sent[2]);
    assert_eq!(unread().await, 0);
    app.send(&ann, &room, "four").await;
    assert_eq!(unread().await, 1);

    if app.db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        // A marker move is a HOT update on PostgreSQL: no index holds the marker. The
        // counters are the connection's since its last report; their growth within one
        // transaction is that transaction's.
        let txn = app.db.begin().await.unwrap();
        let counters = || async {
            let row = txn
                .query_one_raw(sea_orm::Statement::from_string(
                    sea_orm::DatabaseBackend::Postgres,
                    "SELECT pg_stat_get_xact_tuples_updated('room_members'::regclass) AS updated, \
                     pg_stat_get_xact_tuples_hot_updated('room_members'::regclass) AS hot",
                ))
                .await
                .unwrap()
                .unwrap();
            let updated: i64 = row.try_get("", "updated").unwrap();
            let hot: i64 = row.try_get("", "hot").unwrap();
            (updated, hot)
        };
        let before = counters().await;
        txn.execute_unprepared(
            "UPDATE room_members SET last_read_message_id = \
             (SELECT id FROM messages WHERE body = 'four') \
             WHERE user_id = (SELECT id FROM users WHERE username = 'bob')",
        )
        .await
        .unwrap();
        let after = counters().await;
        assert_eq!(
            (after.0 - before.0, after.1 - before.1),
            (1, 1),
            "bob's marker moved, HOT"
        );
        txn.rollback().await.unwrap();
    }
}
