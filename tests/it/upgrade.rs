//! Rolling upgrades (docs/deploy.md): the previous release's binary beside this one on one
//! PostgreSQL and one Redis. `CONFAB_PREVIOUS_BIN` names it; .ci/run builds it from the commit
//! in deploy/upgrade/previous-release.
//!
//! The previous release creates and migrates the database and serves alone, as before the
//! upgrade. This release starts beside it and migrates (expand only). Subscribers on either
//! process hear every message sent through either, once and in order, and both read the same
//! history and counts. Then the old process stops; its subscriber reconnects to the new one and
//! catches up on what was sent meanwhile with `after:`.
//!
//! Also here: processes of this release started together on an empty database migrate it once
//! (an advisory lock), and this release serves a database a newer release has migrated.

use std::time::Duration;

use sea_orm::ConnectionTrait as _;
use serde_json::json;

use crate::balancer::harness::{Client, OwnRedis};
use crate::util::{ServerProcess, TestApp, TestDatabase, free_port, redis_url, required_env};

const SUBSCRIBERS: &str = r#"confab_broker_subscribers{topic="room"}"#;
const HISTORY: &str = "query($r: UUID!) { room(id: $r) { unreadCount messages(last: 100) {
    edges { node { id body sender { username } } } } } }";

/// The room's history (bodies, oldest first) and the caller's unread count, as `api` answers.
async fn history(api: &TestApp, token: &str, room: &str) -> (Vec<String>, i64) {
    let data = api.ok(Some(token), HISTORY, json!({ "r": room })).await;
    let room = &data["room"];
    let bodies = room["messages"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|edge| edge["node"]["body"].as_str().unwrap_or_default().to_owned())
        .collect();
    (bodies, room["unreadCount"].as_i64().expect("unreadCount"))
}

#[actix_web::test]
async fn the_previous_release_and_this_one_serve_side_by_side() {
    let Some(previous) = required_env("CONFAB_PREVIOUS_BIN", "the rolling-upgrade test") else {
        return;
    };
    // The shared Redis must be there (a CI failure otherwise), but this test runs its own, so
    // that it counts events no other test's processes publish.
    let Some(_) = redis_url() else { return };
    let Some((_database, url)) = TestDatabase::postgres().await else {
        return;
    };
    let redis = OwnRedis::start().await;
    let env = [
        ("CONFAB_DATABASE_URL", url.as_str()),
        ("CONFAB_REDIS_URL", redis.url.as_str()),
        ("CONFAB_RATE_MESSAGES_PER_10S", "1000"),
    ];

    // Before: the previous release alone, on the schema it made.
    let mut old = ServerProcess::launch(&previous, free_port(), &env).await;
    let old_api = TestApp::remote(&old.base);
    let (ann, _) = old_api.register("ann").await;
    let (bob, bob_id) = old_api.register("bob").await;
    let (cat, cat_id) = old_api.register("cat").await;
    let room = old_api
        .create_room(&ann, "upgrade", &[&bob_id, &cat_id])
        .await;
    let mut all = Vec::new();
    for n in 0..3 {
        let body = format!("before {n}");
        old_api.send(&ann, &room, &body).await;
        all.push(body);
    }
    let mut bob_ws = Client::direct(&old.base, &bob, &room, None).await;
    old_api.wait_for_metric(SUBSCRIBERS, 1.0).await;

    // During: this release starts beside it, migrates, and both serve the room.
    let new = ServerProcess::start(&env).await;
    let new_api = TestApp::remote(&new.base);
    let mut cat_ws = Client::direct(&new.base, &cat, &room, None).await;
    new_api.wait_for_metric(SUBSCRIBERS, 1.0).await;
    let mut during = Vec::new();
    for n in 0..10 {
        let (api, sender) = match n % 3 {
            0 => (&old_api, &ann),
            1 => (&new_api, &ann),
            _ => (&new_api, &bob),
        };
        let body = format!("during {n}");
        api.send(sender, &room, &body).await;
        during.push(body);
    }
    bob_ws.read_all(during.len()).await;
    cat_ws.read_all(during.len()).await;
    assert_eq!(bob_ws.bodies(), during, "the previous release's subscriber");
    assert_eq!(cat_ws.bodies(), during, "this release's subscriber");
    all.extend(during);
    // Both read the same history and the same unread count (cat has read nothing, sent
    // nothing), whichever release wrote the messages.
    for api in [&old_api, &new_api] {
        let (bodies, unread) = history(api, &cat, &room).await;
        assert_eq!(bodies, all, "{}", api.base);
        assert_eq!(unread, all.len() as i64, "{}", api.base);
    }

    // After: the previous release stops. Bob's socket there closes; what is sent meanwhile
    // through this release reaches him when he reconnects to it asking for what he missed.
    old.terminate(Duration::from_secs(30));
    let closed = loop {
        if let Err(code) = bob_ws.read(Duration::from_secs(15)).await {
            break code;
        }
    };
    assert_eq!(bob_ws.bodies(), all[3..], "closed with {closed:?}");
    let mut missed = Vec::new();
    for n in 0..5 {
        let body = format!("after {n}");
        new_api.send(&ann, &room, &body).await;
        missed.push(body);
    }
    let last = bob_ws.seen.last().map(|(id, _)| id.clone());
    let mut bob_again = Client::direct(&new.base, &bob, &room, last.as_deref()).await;
    bob_again.read_all(missed.len()).await;
    assert_eq!(bob_again.bodies(), missed);
    cat_ws.read_all(all.len() - 3 + missed.len()).await;
    all.extend(missed);
    let (bodies, unread) = history(&new_api, &cat, &room).await;
    assert_eq!(bodies, all);
    assert_eq!(unread, all.len() as i64);
}

#[actix_web::test]
async fn processes_started_together_migrate_once() {
    let Some((_database, url)) = TestDatabase::postgres().await else {
        return;
    };
    let env = [("CONFAB_DATABASE_URL", url.as_str())];
    // Three processes on an empty database at once: one migrates, the others wait for it and
    // find nothing to do. Each becomes ready.
    let (a, b, c) = futures_util::join!(
        ServerProcess::start(&env),
        ServerProcess::start(&env),
        ServerProcess::start(&env),
    );
    for process in [&a, &b, &c] {
        let api = TestApp::remote(&process.base);
        let (token, _) = api.register(&format!("u{}", process.port())).await;
        let me = api.ok(Some(&token), "{ me { username } }", json!({})).await;
        assert!(me["me"]["username"].is_string(), "{me}");
    }
}

#[actix_web::test]
async fn a_database_a_newer_release_migrated_is_served_sqlite() {
    let (database, url) = TestDatabase::sqlite_migrated().await;
    newer_release_migrated(database, url).await;
}

#[actix_web::test]
async fn a_database_a_newer_release_migrated_is_served_postgres() {
    let Some((database, url)) = TestDatabase::postgres_migrated().await else {
        return;
    };
    newer_release_migrated(database, url).await;
}

/// A database whose record of migrations holds one this release does not know is served (a
/// newer release migrated it: expand-only); one that also lacks one of this release's is not.
async fn newer_release_migrated(_database: TestDatabase, url: String) {
    let db = sea_orm::Database::connect(&url).await.expect("connect");
    db.execute_unprepared(
        "INSERT INTO seaql_migrations (version, applied_at) \
         VALUES ('m29990101_000001_from_a_newer_release', 0)",
    )
    .await
    .expect("record a newer migration");
    let process = ServerProcess::start(&[("CONFAB_DATABASE_URL", url.as_str())]).await;
    let api = TestApp::remote(&process.base);
    let (token, _) = api.register("ann").await;
    let room = api.create_room(&token, "still here", &[]).await;
    api.send(&token, &room, "hello").await;
    let (bodies, unread) = history(&api, &token, &room).await;
    assert_eq!((bodies, unread), (vec!["hello".to_owned()], 0));
    drop(process);

    // Without this release's last migration beside the unknown one, the database belongs to
    // another line of releases: `confab migrate` (and `serve`) refuse it and change nothing.
    db.execute_unprepared(
        "DELETE FROM seaql_migrations WHERE version = \
         (SELECT MAX(version) FROM seaql_migrations WHERE version < 'm2999')",
    )
    .await
    .expect("forget this release's last migration");
    let before = migrations(&db).await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_confab"))
        .arg("migrate")
        .env("CONFAB_DATABASE_URL", &url)
        .output()
        .expect("run confab migrate");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("another line of releases"), "{stderr}");
    assert_eq!(migrations(&db).await, before);
    db.close().await.expect("close");
}

/// The versions in the record of applied migrations, in order.
async fn migrations(db: &sea_orm::DatabaseConnection) -> Vec<String> {
    db.query_all_raw(sea_orm::Statement::from_string(
        db.get_database_backend(),
        "SELECT version FROM seaql_migrations ORDER BY version",
    ))
    .await
    .expect("read migrations")
    .iter()
    .map(|row| row.try_get::<String>("", "version").expect("version"))
    .collect()
}
