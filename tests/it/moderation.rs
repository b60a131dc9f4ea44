//! Moderation views for server administrators: every room, oldest first, and the kept text of
//! deleted messages until its retention runs out.

use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::on_both_backends;
use crate::util::{ServerProcess, TestApp, TestDatabase, first_error};

const ROOMS: &str = "query($first: Int, $after: String) { rooms(first: $first, after: $after) { edges { cursor node { name members { user { username } } } } pageInfo { hasNextPage endCursor } } }";
const HISTORY: &str =
    "query($room: UUID!) { room(id: $room) { messages { nodes { body deletedBody deletedAt } } } }";

on_both_backends!(
    administrators_list_every_room,
    deleted_text_is_for_administrators
);

async fn administrators_list_every_room(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, _) = app.register("bob").await;
    let (_, cat_id) = app.register("cat").await;
    let (mod_token, _) = app.register("moderator").await;
    for i in 0..5 {
        let owner = if i % 2 == 0 { &ann } else { &bob };
        app.create_room(owner, &format!("room{i}"), &[&cat_id])
            .await;
    }
    assert_eq!(
        first_error(&app.gql(Some(&ann), ROOMS, json!({})).await).0,
        "FORBIDDEN"
    );
    assert_eq!(
        first_error(&app.gql(None, ROOMS, json!({})).await).0,
        "UNAUTHENTICATED"
    );
    app.make_admin("moderator").await;

    // Oldest first, in pages, though the administrator is in none of the rooms.
    let mut names = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let data = app
            .ok(
                Some(&mod_token),
                ROOMS,
                json!({ "first": 2, "after": after }),
            )
            .await;
        for edge in data["rooms"]["edges"].as_array().unwrap() {
            names.push(edge["node"]["name"].as_str().unwrap().to_owned());
            assert_eq!(edge["node"]["members"].as_array().unwrap().len(), 2);
        }
        let info = &data["rooms"]["pageInfo"];
        if info["hasNextPage"] == false {
            break;
        }
        after = info["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(names, ["room0", "room1", "room2", "room3", "room4"]);
    assert_eq!(
        first_error(
            &app.gql(Some(&mod_token), ROOMS, json!({ "first": 101 }))
                .await
        )
        .2,
        Some("first".to_owned())
    );
}

async fn deleted_text_is_for_administrators(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let room = app.create_room(&ann, "r", &[&bob_id]).await;
    let message = app.send(&bob, &room, "something regrettable").await;
    app.send(&bob, &room, "still here").await;
    app.ok(
        Some(&bob),
        "mutation($id: UUID!) { deleteMessage(id: $id) { id } }",
        json!({ "id": message }),
    )
    .await;

    let seen = |data: serde_json::Value| data["room"]["messages"]["nodes"].clone();
    let by_owner = seen(app.ok(Some(&ann), HISTORY, json!({ "room": room })).await);
    assert!(by_owner[0]["body"].is_null());
    assert!(
        by_owner[0]["deletedBody"].is_null(),
        "room owners are not moderators"
    );
    assert!(by_owner[0]["deletedAt"].is_string());
    assert!(
        by_owner[1]["deletedBody"].is_null(),
        "standing messages have a body"
    );

    app.make_admin("ann").await;
    let by_admin = seen(app.ok(Some(&ann), HISTORY, json!({ "room": room })).await);
    assert!(
        by_admin[0]["body"].is_null(),
        "body stays a tombstone for clients"
    );
    assert_eq!(by_admin[0]["deletedBody"], "something regrettable");
    assert_eq!(by_admin[1]["body"], "still here");
    assert!(by_admin[1]["deletedBody"].is_null());

    // Deleted text is never found by search.
    let found = app
        .ok(
            Some(&ann),
            "{ searchMessages(query: \"regrettable\") { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(found["searchMessages"]["edges"], json!([]));
}

/// With retention 0 the text is erased as the message is deleted.
#[actix_web::test]
async fn zero_retention_erases_at_once() {
    let app = TestApp::sqlite_with(|config| config.retention.deleted_body_days = 0).await;
    let (ann, _) = app.register("ann").await;
    let room = app.create_room(&ann, "r", &[]).await;
    let message = app.send(&ann, &room, "gone for good").await;
    app.ok(
        Some(&ann),
        "mutation($id: UUID!) { deleteMessage(id: $id) { id } }",
        json!({ "id": message }),
    )
    .await;
    assert_eq!(app.count("messages WHERE body IS NOT NULL").await, 0);
    app.stop().await;
}

/// The server's maintenance erases the text of messages deleted longer ago than the
/// retention, and only theirs.
#[actix_web::test]
async fn maintenance_erases_text_past_retention() {
    let (database, url) = TestDatabase::sqlite_migrated().await;
    let app = TestApp::start(database, url.clone()).await;
    let (ann, _) = app.register("ann").await;
    let room = app.create_room(&ann, "r", &[]).await;
    for body in ["old", "recent"] {
        let id = app.send(&ann, &room, body).await;
        app.ok(
            Some(&ann),
            "mutation($id: UUID!) { deleteMessage(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    }
    app.send(&ann, &room, "standing").await;
    app.db
        .execute_unprepared(
            "UPDATE messages SET deleted_at = '2020-01-01T00:00:00+00:00' WHERE body = 'old'",
        )
        .await
        .unwrap();

    // A real server process on the same database runs its maintenance at start-up.
    let _server = ServerProcess::start(&[
        ("CONFAB_DATABASE_URL", url.as_str()),
        ("CONFAB_DELETED_BODY_RETENTION_DAYS", "30"),
    ])
    .await;
    let mut remaining = Vec::new();
    for _ in 0..50 {
        remaining = texts(&app).await;
        if remaining.len() == 2 {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(remaining, ["recent", "standing"]);
    app.stop().await;
}

async fn texts(app: &TestApp) -> Vec<String> {
    let rows = app
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT body FROM messages WHERE body IS NOT NULL ORDER BY created_at",
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|row| row.try_get::<String>("", "body").unwrap())
        .collect()
}
