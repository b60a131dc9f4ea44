//! Unread counts worked out from each room's message sequence (`store::unread`) stay what
//! counting would give: messages after the member's read marker, not deleted, not their own.
//! Every step compares `Room.unreadCount` with that count, made in SQL from the messages
//! themselves, and checks each room's seqs run 1..n with the room's counter at n.

use futures_util::future::join_all;
use sea_orm::ConnectionTrait as _;
use serde_json::json;

use crate::on_both_backends;
use crate::util::TestApp;

const UNREAD: &str = "query($room: UUID!) { room(id: $room) { unreadCount } }";
const MARK: &str = "mutation($room: UUID!, $msg: UUID!) { markRead(roomId: $room, messageId: $msg) { lastReadMessageId } }";
const EDIT: &str = "mutation($id: UUID!) { editMessage(id: $id, body: \"edited\") { id } }";
const DELETE: &str = "mutation($id: UUID!) { deleteMessage(id: $id) { id } }";
const LEAVE: &str = "mutation($r: UUID!) { leaveRoom(roomId: $r) }";
const ADD: &str = "mutation($r: UUID!, $u: UUID!) { addMember(roomId: $r, userId: $u) { role } }";

on_both_backends!(
    unread_counts_stay_exact,
    a_deleted_room_takes_its_counter,
    a_message_written_without_a_number_gets_one,
);

/// A member of the room named `room`: their token and username.
struct Member<'a> {
    token: &'a str,
    name: &'a str,
}

impl<'a> Member<'a> {
    fn new(token: &'a str, name: &'a str) -> Self {
        Self { token, name }
    }
}

/// What counting gives for `name` in `room`: the messages after their marker in (time, id)
/// order, not deleted, not theirs (all of them without a marker).
async fn counted(app: &TestApp, room: &str, name: &str) -> i64 {
    let row = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            format!(
                "SELECT COUNT(*) AS n FROM messages m \
                 JOIN rooms ro ON ro.id = m.room_id \
                 JOIN users u ON u.username = '{name}' \
                 JOIN room_members rm ON rm.room_id = ro.id AND rm.user_id = u.id \
                 LEFT JOIN messages r ON r.id = rm.last_read_message_id \
                 WHERE ro.name = '{room}' AND m.deleted_at IS NULL \
                 AND (m.sender_id IS NULL OR m.sender_id <> u.id) \
                 AND (r.id IS NULL OR m.created_at > r.created_at \
                   OR (m.created_at = r.created_at AND m.id > r.id))"
            ),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "n").unwrap()
}

/// Rooms whose messages are not numbered 1..n with their counter at n.
async fn misnumbered(app: &TestApp) -> i64 {
    let row = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM (SELECT room_id, COUNT(*) AS c, MIN(seq) AS lo, \
             MAX(seq) AS hi FROM messages GROUP BY room_id) s \
             LEFT JOIN room_seqs q ON q.room_id = s.room_id \
             WHERE s.lo <> 1 OR s.hi <> s.c OR q.last_seq IS NULL OR q.last_seq <> s.hi",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "n").unwrap()
}

/// Each member's `unreadCount` is what counting gives, and `expected` (in `members`' order).
async fn check(app: &TestApp, room: (&str, &str), members: &[&Member<'_>], expected: &[i64]) {
    let mut got = Vec::new();
    for member in members {
        got.push(unread_as_counted(app, room, member).await);
    }
    assert_eq!(got, expected);
    assert_eq!(misnumbered(app).await, 0, "rooms numbered 1..n");
}

async fn sql(app: &TestApp, statement: &str) {
    app.db.execute_unprepared(statement).await.unwrap();
}

async fn unread_counts_stay_exact(app: &TestApp) {
    let (ann_t, _) = app.register("ann").await;
    let (bob_t, bob_id) = app.register("bob").await;
    let (cat_t, cat_id) = app.register("cat").await;
    let (dan_t, dan_id) = app.register("dan").await;
    let (ann, bob) = (Member::new(&ann_t, "ann"), Member::new(&bob_t, "bob"));
    let (cat, dan) = (Member::new(&cat_t, "cat"), Member::new(&dan_t, "dan"));
    let id = app.create_room(&ann_t, "r", &[&bob_id, &cat_id]).await;
    let room = (id.as_str(), "r");
    let three = [&ann, &bob, &cat];
    let mut a = Vec::new();
    for i in 0..5 {
        a.push(app.send(&ann_t, &id, &format!("a{i}")).await);
    }
    check(app, room, &three, &[0, 5, 5]).await;

    // An own send: the sender's marker moves to it.
    let b0 = app.send(&bob_t, &id, "b0").await;
    check(app, room, &three, &[1, 0, 6]).await;

    // The marker moves (forward only).
    app.ok(Some(&cat_t), MARK, json!({ "room": id, "msg": a[1] }))
        .await;
    check(app, room, &three, &[1, 0, 4]).await;

    // An edit changes nothing; deleting after a marker does, before it does not.
    app.ok(Some(&ann_t), EDIT, json!({ "id": a[3] })).await;
    check(app, room, &three, &[1, 0, 4]).await;
    app.ok(Some(&ann_t), DELETE, json!({ "id": a[3] })).await;
    check(app, room, &three, &[1, 0, 3]).await;
    app.ok(Some(&ann_t), DELETE, json!({ "id": a[0] })).await;
    check(app, room, &three, &[1, 0, 3]).await;
    app.ok(Some(&bob_t), DELETE, json!({ "id": b0 })).await;
    check(app, room, &three, &[0, 0, 2]).await;

    // Own messages after one's marker (a marker set behind the API) are not unread; without
    // a marker every other message is.
    sql(
        app,
        "UPDATE room_members SET last_read_message_id = \
         (SELECT id FROM messages WHERE body = 'a1') \
         WHERE user_id = (SELECT id FROM users WHERE username = 'ann')",
    )
    .await;
    sql(
        app,
        "UPDATE room_members SET last_read_message_id = NULL \
         WHERE user_id = (SELECT id FROM users WHERE username = 'cat')",
    )
    .await;
    check(app, room, &three, &[0, 0, 3]).await;

    // Leaving and coming back: the marker stays where it was.
    app.ok(Some(&cat_t), LEAVE, json!({ "r": id })).await;
    app.send(&ann_t, &id, "a5").await;
    app.ok(Some(&ann_t), ADD, json!({ "r": id, "u": cat_id }))
        .await;
    app.ok(Some(&ann_t), ADD, json!({ "r": id, "u": dan_id }))
        .await;
    let four = [&ann, &bob, &cat, &dan];
    check(app, room, &four, &[0, 1, 4, 4]).await;

    // A deleted account's messages stay, and stay unread.
    app.send(&bob_t, &id, "b1").await;
    app.ok(
        Some(&bob_t),
        "mutation($p: String!) { deleteAccount(password: $p) }",
        json!({ "p": "password-bob" }),
    )
    .await;
    let three = [&ann, &cat, &dan];
    check(app, room, &three, &[1, 5, 5]).await;

    // Racing sends of three members are numbered without gaps or repeats.
    let sends = (0..8).flat_map(|i| {
        [&ann_t, &cat_t, &dan_t]
            .into_iter()
            .map(move |token| (token, format!("race{i}")))
    });
    let sends: Vec<_> = sends.collect();
    join_all(
        sends
            .iter()
            .map(|(token, body)| app.send(token.as_str(), &id, body)),
    )
    .await;
    for member in three {
        unread_as_counted(app, room, member).await;
    }
    assert_eq!(misnumbered(app).await, 0, "rooms numbered 1..n");
}

/// `member`'s `unreadCount` in `room` (its id and name), checked against what counting gives.
async fn unread_as_counted(app: &TestApp, room: (&str, &str), member: &Member<'_>) -> i64 {
    let (id, name) = room;
    let data = app
        .ok(Some(member.token), UNREAD, json!({ "room": id }))
        .await;
    let unread = data["room"]["unreadCount"].as_i64().unwrap();
    assert_eq!(
        unread,
        counted(app, name, member.name).await,
        "{}'s unread count",
        member.name
    );
    unread
}

/// Deleting a room deletes its counter with its messages.
async fn a_deleted_room_takes_its_counter(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let kept = app.create_room(&ann, "kept", &[]).await;
    let gone = app.create_room(&ann, "gone", &[]).await;
    app.send(&ann, &kept, "one").await;
    app.send(&ann, &gone, "one").await;
    app.send(&ann, &gone, "two").await;
    assert_eq!(app.count("room_seqs").await, 2);
    app.ok(
        Some(&ann),
        "mutation($r: UUID!) { deleteRoom(roomId: $r) }",
        json!({ "r": gone }),
    )
    .await;
    assert_eq!(app.count("room_seqs").await, 1);
    assert_eq!(misnumbered(app).await, 0);
}

/// A message written without a seq, as the previous release writes during a rolling upgrade,
/// is numbered by the database, and counts stay exact around it.
async fn a_message_written_without_a_number_gets_one(app: &TestApp) {
    let (ann_t, _) = app.register("ann").await;
    let (bob_t, bob_id) = app.register("bob").await;
    let id = app.create_room(&ann_t, "r", &[&bob_id]).await;
    app.send(&ann_t, &id, "one").await;
    let new_id = match app.db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => "gen_random_uuid()",
        _ => "randomblob(16)",
    };
    for body in ["two", "three"] {
        sql(
            app,
            &format!(
                "INSERT INTO messages (id, room_id, sender_id, kind, body, created_at, reacted) \
                 SELECT {new_id}, m.room_id, m.sender_id, 'text', '{body}', \
                 '2999-01-01T00:00:00+00:00', false FROM messages m WHERE m.body = 'one'"
            ),
        )
        .await;
    }
    app.send(&ann_t, &id, "four").await;
    let (ann, bob) = (Member::new(&ann_t, "ann"), Member::new(&bob_t, "bob"));
    check(app, (id.as_str(), "r"), &[&ann, &bob], &[0, 4]).await;
}
