//! The message writer on PostgreSQL writes two batches at once (`message_writer::depth`): a
//! send does not wait behind a batch stuck on another room, and a batch that would move a
//! read marker the batch in progress moves waits for it.

use std::sync::Arc;
use std::time::Duration;

use confab::workers::message_writer::MessageWriter;
use sea_orm::{ConnectionTrait as _, DatabaseTransaction, Statement, TransactionTrait as _};
use serde_json::json;
use uuid::Uuid;

use crate::util::TestApp;

/// Holds the lock on `room`'s message counter (as a batch writing to it would) until the
/// transaction ends; returns once a write is waiting for it.
async fn lock_counter(app: &TestApp, room: &str) -> DatabaseTransaction {
    let txn = app.db.begin().await.unwrap();
    let locked = txn
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            format!("SELECT last_seq FROM room_seqs WHERE room_id = '{room}' FOR UPDATE"),
        ))
        .await
        .unwrap();
    assert!(locked.is_some(), "the room has a counter");
    txn
}

/// Waits until a statement of this database waits for a lock.
async fn until_a_write_waits(app: &TestApp) {
    let waiting = "SELECT count(*) AS n FROM pg_stat_activity \
        WHERE datname = current_database() AND wait_event_type = 'Lock'";
    for _ in 0..200 {
        let row = app
            .db
            .query_one_raw(Statement::from_string(
                app.db.get_database_backend(),
                waiting,
            ))
            .await
            .unwrap()
            .unwrap();
        if row.try_get::<i64>("", "n").unwrap() > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no write waited for the lock");
}

/// While a batch waits for a lock on one room's counter, a send to another room is written
/// and answered; the stuck one finishes once the lock goes, numbered after what it waited for.
#[actix_web::test]
async fn a_send_does_not_wait_behind_a_batch_stuck_on_another_room() {
    let Some(app) = TestApp::postgres().await else {
        return;
    };
    let (ann, _) = app.register("ann").await;
    let stuck = app.create_room(&ann, "stuck", &[]).await;
    let free = app.create_room(&ann, "free", &[]).await;
    app.send(&ann, &stuck, "first").await;

    let lock = lock_counter(&app, &stuck).await;
    let mut waiting = Box::pin(app.send(&ann, &stuck, "second"));
    tokio::select! {
        id = &mut waiting => panic!("a send to the locked room finished: {id}"),
        () = until_a_write_waits(&app) => {}
    }
    let other = tokio::time::timeout(Duration::from_secs(10), app.send(&ann, &free, "elsewhere"));
    tokio::select! {
        id = &mut waiting => panic!("a send to the locked room finished: {id}"),
        sent = other => assert!(sent.is_ok(), "the send to another room waited for the locked one"),
    }
    lock.commit().await.unwrap();
    waiting.await;

    let page = app
        .ok(
            Some(&ann),
            "query($r: UUID!) { room(id: $r) { messages(first: 10, order: OLDEST_FIRST) { nodes { body } } } }",
            json!({ "r": stuck }),
        )
        .await;
    assert_eq!(
        page["room"]["messages"]["nodes"],
        json!([{ "body": "first" }, { "body": "second" }])
    );
    let counter = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            format!("SELECT last_seq FROM room_seqs WHERE room_id = '{stuck}'"),
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(counter.try_get::<i64>("", "last_seq").unwrap(), 2);
    app.stop().await;
}

/// Two sends of one member to one room can reach the writer in the other order than they were
/// made. When the newer one's batch is in progress (here, waiting for a lock), the older one's
/// batch waits for it instead of being written beside it: its check against the marker would
/// not see the newer message, and would move the marker back.
#[actix_web::test]
async fn a_batch_moving_the_same_marker_waits_for_the_one_in_progress() {
    let Some(app) = TestApp::postgres().await else {
        return;
    };
    let (ann, ann_id) = app.register("ann").await;
    let ann_id: Uuid = ann_id.parse().unwrap();
    let room = app.create_room(&ann, "r", &[]).await;
    let room_id: Uuid = room.parse().unwrap();
    app.send(&ann, &room, "first").await;
    let older = text(ann_id, room_id, "older");
    std::thread::sleep(Duration::from_millis(2));
    let newer = text(ann_id, room_id, "newer");
    let writer = MessageWriter::start(app.db.clone(), Arc::default());

    let lock = lock_counter(&app, &room).await;
    let first = tokio::spawn({
        let writer = writer.clone();
        let newer = newer.clone();
        async move { writer.write(newer).await }
    });
    until_a_write_waits(&app).await;
    let second = tokio::spawn({
        let writer = writer.clone();
        async move { writer.write(older).await }
    });
    // Time for the second batch to start, if it would.
    tokio::time::sleep(Duration::from_millis(300)).await;
    lock.commit().await.unwrap();
    for written in [first.await.unwrap(), second.await.unwrap()] {
        assert!(matches!(written, Ok(Some(_))), "{written:?}");
    }
    let marker = app
        .ok(
            Some(&ann),
            "query($room: UUID!) { room(id: $room) { members { lastReadMessageId } } }",
            json!({ "room": room }),
        )
        .await;
    assert_eq!(
        marker["room"]["members"][0]["lastReadMessageId"],
        newer.id.to_string()
    );
    app.stop().await;
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
        metadata: None,
        created_at: confab::db::now(),
        edited_at: None,
        deleted_at: None,
        reacted: false,
        seq: 0,
    }
}
