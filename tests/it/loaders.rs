//! DataLoaders: a nested query costs the same number of SQL statements for 5 rooms as for 50.

use serde_json::json;

use crate::on_both_backends;
use crate::util::TestApp;

on_both_backends!(nested_rooms_cost_a_fixed_number_of_statements);

/// The data is written quickly by few users (no send limit), and 50 rooms of 20 messages
/// each is more than the default complexity admits for one query.
fn unlimited(config: &mut confab::config::Config) {
    config.limits.messages_per_10s = u32::MAX;
    config.limits.complexity = 100_000;
}

#[actix_web::test]
async fn bench_nested_statements_sqlite() {
    let app = TestApp::sqlite_with(unlimited).await;
    bench_nested_workload_costs_at_most_eight_statements(&app).await;
    app.stop().await;
}

#[actix_web::test]
async fn bench_nested_statements_postgres() {
    if let Some(app) = TestApp::postgres_with(unlimited).await {
        bench_nested_workload_costs_at_most_eight_statements(&app).await;
        app.stop().await;
    }
}

/// The side-by-side benchmark's nested workload (bench/confab/workloads/nested.json), for
/// `rooms` rooms.
fn bench_nested(rooms: usize) -> String {
    let body: serde_json::Value =
        serde_json::from_str(include_str!("../../bench/confab/workloads/nested.json")).unwrap();
    let query = body["query"].as_str().unwrap();
    assert!(query.contains("rooms(first: 20)"));
    query.replace("rooms(first: 20)", &format!("rooms(first: {rooms})"))
}

const NESTED: &str = "query($n: Int!) { myRooms(first: $n) { edges { node {
    id name memberCount unreadCount myRole createdBy { username }
    members { role user { username } }
    lastMessage { body sender { username } }
    messages(last: 3) { edges { node {
        body sender { displayName } replyTo { body sender { username } }
        reactions { emoji count users { username } } readBy { username }
    } } }
} } } }";

async fn nested_rooms_cost_a_fixed_number_of_statements(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let (_, cat_id) = app.register("cat").await;
    let react = "mutation($m: UUID!) { react(messageId: $m, emoji: \"👍\") { id } }";
    let reply = "mutation($r: UUID!, $m: UUID!) { sendMessage(input: { roomId: $r, body: \"re\", replyToId: $m }) { id } }";
    let mut counts = Vec::new();
    let mut rooms = 0;
    for target in [5, 50] {
        while rooms < target {
            let room = app
                .create_room(&ann, &format!("room{rooms}"), &[&bob_id, &cat_id])
                .await;
            let first = app.send(&bob, &room, "hello").await;
            app.ok(Some(&ann), react, json!({ "m": first })).await;
            app.ok(Some(&ann), reply, json!({ "r": room, "m": first }))
                .await;
            rooms += 1;
        }
        // Let the background work of the sends (unread counters) finish, so only the query
        // below is counted; warm the session's activity stamp so both runs do the same auth work.
        app.settle().await;
        app.ok(Some(&ann), "{ me { id } }", json!({})).await;
        let before = app.statements();
        let data = app.ok(Some(&ann), NESTED, json!({ "n": target })).await;
        counts.push(app.statements() - before);

        let edges = data["myRooms"]["edges"].as_array().unwrap();
        assert_eq!(edges.len(), target);
        let node = &edges[0]["node"];
        assert_eq!(node["memberCount"], 3);
        assert_eq!(node["members"].as_array().unwrap().len(), 3);
        assert_eq!(node["lastMessage"]["sender"]["username"], "ann");
        assert_eq!(node["unreadCount"], 0, "ann wrote the last message");
        let messages = node["messages"]["edges"].as_array().unwrap();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[1]["node"]["replyTo"]["sender"]["username"], "bob");
        assert_eq!(
            messages[0]["node"]["reactions"][0]["users"][0]["username"],
            "ann"
        );
        assert_eq!(
            messages[0]["node"]["readBy"],
            json!([{ "username": "ann" }])
        );
    }
    assert_eq!(
        counts[0], counts[1],
        "statements for 5 rooms vs 50: {counts:?}"
    );
    // 1 session + 2 room page (ids, rows) + members with users + creators + last messages and
    // their senders (2) + unread counts + message pages and their senders (2 on SQLite, 1 on
    // PostgreSQL, which joins them) + reply targets + reactions with users + readers and their
    // users (2) + reply senders = 15 / 14.
    assert!(counts[1] <= 15, "nested query ran {counts:?} statements");
}

/// The benchmark's nested workload (every room, its members, its newest 20 messages with
/// senders and reactions) costs the same few statements for 5 rooms as for 50: one windowed
/// query for the messages of all rooms, not one per room.
async fn bench_nested_workload_costs_at_most_eight_statements(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let (_, cat_id) = app.register("cat").await;
    app.make_admin("ann").await;
    let react = "mutation($m: UUID!, $e: String!) { react(messageId: $m, emoji: $e) { id } }";
    let mut counts = Vec::new();
    let mut rooms = 0;
    for target in [5, 50] {
        while rooms < target {
            let room = app
                .create_room(&ann, &format!("room-{rooms:03}"), &[&bob_id, &cat_id])
                .await;
            for i in 0..21 {
                let id = app.send(&bob, &room, &format!("m{i}")).await;
                if i % 7 == 0 {
                    app.ok(Some(&ann), react, json!({ "m": id, "e": "👍" }))
                        .await;
                    app.ok(Some(&bob), react, json!({ "m": id, "e": "🎉" }))
                        .await;
                }
            }
            rooms += 1;
        }
        app.settle().await;
        app.ok(Some(&ann), "{ me { id } }", json!({})).await;
        let before = app.statements();
        let read_before = app.sqlite_reads();
        let data = app.ok(Some(&ann), &bench_nested(target), json!({})).await;
        counts.push(app.statements() - before);
        // On SQLite every statement of it (the rooms, their members, messages and their
        // senders, reactions) runs on the readers' own connections (confab::db::direct).
        if let (Some(before), Some(after)) = (read_before, app.sqlite_reads()) {
            assert_eq!(
                usize::try_from(after - before).ok(),
                counts.last().copied(),
                "statements on the SQLite readers ({before} -> {after}) of the request's"
            );
        } else {
            assert_eq!(
                app.db.get_database_backend(),
                sea_orm::DbBackend::Postgres,
                "a SQLite server without its readers"
            );
        }

        let nodes = data["rooms"]["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), target);
        let messages = nodes[0]["messages"]["nodes"].as_array().unwrap();
        assert_eq!(messages.len(), 20);
        assert_eq!(messages[0]["body"], "m20", "newest first");
        assert_eq!(messages[19]["body"], "m1");
        assert_eq!(messages[0]["sender"]["username"], "bob");
        assert_eq!(nodes[0]["members"].as_array().unwrap().len(), 3);
        // m14 and m7 have reactions (newest first: m14 at index 6).
        assert_eq!(messages[6]["body"], "m14");
        assert_eq!(
            messages[6]["reactions"],
            json!([{ "emoji": "👍", "users": [{ "username": "ann" }] },
                   { "emoji": "🎉", "users": [{ "username": "bob" }] }])
        );
    }
    assert_eq!(
        counts[0], counts[1],
        "statements for 5 rooms vs 50: {counts:?}"
    );
    assert!(
        counts[1] <= 8,
        "the nested workload ran {counts:?} statements"
    );
    // The count covers the HTTP workers' own pools: rooms, members, messages and reactions
    // are at least four statements.
    assert!(counts[0] >= 4, "statements went uncounted: {counts:?}");
}

/// On PostgreSQL, Confab's connections keep one plan per statement (`--db-plan-cache-mode`,
/// default `force_generic_plan`): the DataLoaders' list statements are not planned again for
/// every request's ids. The setting is PostgreSQL's own, so it is read back from a connection
/// of the server's pool.
#[actix_web::test]
async fn postgres_connections_keep_one_plan_per_statement() {
    use confab::config::PlanCacheMode;
    use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

    for (mode, expected) in [
        (None, "force_generic_plan"),
        (Some(PlanCacheMode::Auto), "auto"),
    ] {
        let Some(app) = TestApp::postgres_with(|config| {
            if let Some(mode) = mode {
                config.database.plan_cache_mode = mode;
            }
        })
        .await
        else {
            return;
        };
        let show = Statement::from_string(DatabaseBackend::Postgres, "SHOW plan_cache_mode");
        let row = app.db.query_one_raw(show).await.unwrap().unwrap();
        let setting: String = row.try_get("", "plan_cache_mode").unwrap();
        assert_eq!(setting, expected);
        // And the server answers over it.
        let (ann, _) = app.register("ann").await;
        let room = app.create_room(&ann, "planned", &[]).await;
        app.send(&ann, &room, "hello").await;
        let data = app
            .ok(
                Some(&ann),
                "{ myRooms(first: 5) { edges { node { messages(last: 1) { nodes { body } } } } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            data["myRooms"]["edges"][0]["node"]["messages"]["nodes"][0]["body"],
            "hello"
        );
        app.stop().await;
    }
}
