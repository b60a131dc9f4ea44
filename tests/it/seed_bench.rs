//! `confab seed --bench --scale N` (the real binary): N copies of the side-by-side benchmark's
//! data (`../shared/bench-peer/seed.sql`'s formulas), the first copy exactly seed.sql's, loaded
//! in bulk on SQLite and PostgreSQL, and found by full-text search once loaded.

use std::process::Command;

use md5::Digest;
use serde_json::{Value, json};

use crate::util::{TestApp, TestDatabase};

/// seed.sql's membership formula, in the block (of 2,000 users and 500 rooms) of room `r`.
fn member(r: u64, k: u64) -> u64 {
    (r / 500) * 2_000 + ((r % 500 * 10 + k) * 7 + r % 500 / 200) % 2_000
}

fn user(u: u64) -> String {
    format!("00000000-0000-4000-8000-{u:012x}")
}

fn room(r: u64) -> String {
    format!("00000000-0000-4000-9000-{r:012x}")
}

fn message(i: u64) -> String {
    uuid::Uuid::from_bytes(md5::Md5::digest(format!("message:{i}")).into()).to_string()
}

fn seed(url: &str, scale: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_confab"))
        .args(["seed", "--bench", "--scale", scale])
        .env("CONFAB_DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

const ROOM: &str = "query($room: UUID!) { room(id: $room) { name members { role user { id username } } messages(first: 2, order: NEWEST_FIRST) { nodes { id body createdAt deletedAt sender { username } reactions { emoji users { username } } } } } }";
const SEARCH: &str = "query($q: String!) { searchMessages(query: $q, first: 100) { nodes { id body room { id } } } }";

/// Room `r` as its owner sees it.
async fn room_as_owner(app: &TestApp, r: u64) -> Value {
    let token = format!("bench-token-{}", member(r, 0));
    app.ok(Some(&token), ROOM, json!({ "room": room(r) })).await["room"].clone()
}

/// Message `i` as seed.sql makes it, `j` being its index in its block (the newest two of a
/// room are never deleted: no `j % 97 == 0` among them in the rooms checked).
fn expected_message(i: u64, r: u64) -> Value {
    let j = i % 200_000;
    json!({
        "id": message(i),
        "body": format!("Message {i} in room {r}: {}", "lorem ipsum dolor ".repeat(1 + (j % 7) as usize)),
        "sender": { "username": format!("user{:04}", member(r, (j / 500) % 10)) },
    })
}

async fn scale_two_is_twice_the_data(database: TestDatabase, url: String) {
    let report = seed(&url, "2");
    assert!(
        report.contains("4000 users") && report.contains("1000 rooms"),
        "{report}"
    );
    assert!(
        report.contains("400000 messages") && report.contains("100002 reactions"),
        "{report}"
    );
    // A second run finds the data and only resets; another scale is refused.
    assert!(seed(&url, "2").contains("present"));
    let other = Command::new(env!("CARGO_BIN_EXE_confab"))
        .args(["seed", "--bench"])
        .env("CONFAB_DATABASE_URL", &url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(!other.status.success());

    let app = TestApp::start(database, url).await;
    for (table, rows) in [
        ("users", 4_000),
        ("sessions", 4_000),
        ("rooms", 1_000),
        ("room_members", 10_000),
        ("messages", 400_000),
        ("message_reactions", 100_002),
    ] {
        assert_eq!(app.count(table).await, rows, "{table}");
    }

    // Room 7 (the page workload's) is seed.sql's; room 507 is its copy in the second block.
    for (r, newest) in [(7, 199_507), (507, 399_507)] {
        let data = room_as_owner(&app, r).await;
        assert_eq!(data["name"], format!("room-{r:03}"));
        let members: Vec<(String, String)> = data["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["user"]["id"].as_str().unwrap().to_owned(),
                    m["role"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        for k in 0..10 {
            let role = match k {
                0 => "OWNER",
                1 | 2 => "ADMIN",
                _ => "MEMBER",
            };
            assert!(
                members.contains(&(user(member(r, k)), role.to_owned())),
                "member {k} of room {r}: {members:?}"
            );
        }
        let nodes = data["messages"]["nodes"].as_array().unwrap();
        for (node, i) in nodes.iter().zip([newest, newest - 500]) {
            let expected = expected_message(i, r);
            for key in ["id", "body", "sender"] {
                assert_eq!(node[key], expected[key], "message {i} {key}");
            }
            let at =
                chrono::DateTime::parse_from_rfc3339(node["createdAt"].as_str().unwrap()).unwrap();
            let start = chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z").unwrap();
            assert_eq!(
                (at - start).num_minutes(),
                i as i64,
                "message {i} createdAt"
            );
            assert_eq!(node["deletedAt"], Value::Null);
        }
        assert_eq!(nodes.len(), 2);
        // Only messages with j % 6 = 0 have reactions; these have j % 6 = 1 and 5.
        assert_eq!(nodes[0]["reactions"], json!([]));
        assert_eq!(nodes[1]["reactions"], json!([]));
    }

    // The search index holds the bulk-loaded rows of both blocks.
    for (r, i) in [(7_u64, 199_507_u64), (507, 399_507)] {
        let token = format!("bench-token-{}", member(r, 0));
        let found = app
            .ok(Some(&token), SEARCH, json!({ "q": i.to_string() }))
            .await;
        let nodes = found["searchMessages"]["nodes"].as_array().unwrap();
        let ids: Vec<&str> = nodes.iter().map(|n| n["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [message(i)], "searching {i}");
    }
    let token = format!("bench-token-{}", member(507, 0));
    let found = app.ok(Some(&token), SEARCH, json!({ "q": "lorem" })).await;
    let nodes = found["searchMessages"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 100, "{found}");
}

#[actix_web::test]
async fn scale_two_on_sqlite() {
    let (database, url) = TestDatabase::sqlite_migrated().await;
    scale_two_is_twice_the_data(database, url).await;
}

#[actix_web::test]
async fn scale_two_on_postgres() {
    let Some((database, url)) = TestDatabase::postgres_migrated().await else {
        return;
    };
    scale_two_is_twice_the_data(database, url).await;
}
