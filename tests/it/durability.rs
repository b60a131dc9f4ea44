//! Crash durability: the server is killed with SIGKILL while clients send messages; after a
//! restart every message whose sendMessage returned is there (SQLite in WAL mode with
//! synchronous=NORMAL, and PostgreSQL).

use std::time::Duration;

use futures_util::future::join_all;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::json;

use crate::util::{ServerProcess, TestApp, TestDatabase};

async fn acknowledged_messages_survive_sigkill(url: &str) {
    // The senders must still be sending when the kill lands, not stopped by the rate limit.
    let env = [
        ("CONFAB_DATABASE_URL", url),
        ("CONFAB_RATE_MESSAGES_PER_10S", "1000000"),
    ];
    let mut server = ServerProcess::start(&env).await;
    let client = TestApp::remote(&server.base);
    let (ann, ann_id) = client.register("ann").await;
    let _ = ann_id;
    let room = client.create_room(&ann, "durable", &[]).await;

    let deadline = tokio::time::Instant::now() + Duration::from_millis(1500);
    let senders = (0..4).map(|worker| {
        let (client, ann, room) = (&client, ann.clone(), room.clone());
        async move {
            let mut acked = Vec::new();
            for i in 0.. {
                if tokio::time::Instant::now() > deadline {
                    break;
                }
                let Some(body) = client
                    .try_gql(
                        Some(&ann),
                        "mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }",
                        json!({ "i": { "roomId": room, "body": format!("w{worker} m{i}") } }),
                    )
                    .await
                else {
                    break; // the server is gone
                };
                match body["data"]["sendMessage"]["id"].as_str() {
                    Some(id) => acked.push(id.to_owned()),
                    None => break,
                }
            }
            acked
        }
    });
    let killer = async {
        actix_web::rt::time::sleep(Duration::from_millis(1000)).await;
        server.child.kill().expect("SIGKILL");
    };
    let (acked, ()) = futures_util::join!(join_all(senders), killer);
    let acked: Vec<String> = acked.into_iter().flatten().collect();
    assert!(
        acked.len() > 10,
        "too few messages were sent before the kill: {}",
        acked.len()
    );
    eprintln!("{} messages acknowledged before SIGKILL", acked.len());
    let _ = server.child.wait();
    drop(server);

    // Restart on the same database: every acknowledged message is there.
    let server = ServerProcess::start(&env).await;
    let db = Database::connect(url).await.unwrap();
    let stored = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT id FROM messages",
        ))
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.try_get::<uuid::Uuid>("", "id").unwrap().to_string())
        .collect::<std::collections::HashSet<_>>();
    let lost: Vec<&String> = acked.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged messages lost",
        lost.len(),
        acked.len()
    );
    let client = TestApp::remote(&server.base);
    let data = client
        .ok(
            Some(&ann),
            "query($r: UUID!) { room(id: $r) { messages(last: 1) { edges { node { id } } } } }",
            json!({ "r": room }),
        )
        .await;
    assert!(
        data["room"]["messages"]["edges"].as_array().is_some(),
        "server answers after restart"
    );
    db.close().await.unwrap();
}

#[actix_web::test]
async fn sqlite_survives_sigkill() {
    let (_db, url) = TestDatabase::sqlite_migrated().await;
    acknowledged_messages_survive_sigkill(&url).await;
}

#[actix_web::test]
async fn postgres_survives_sigkill() {
    if let Some((_db, url)) = TestDatabase::postgres_migrated().await {
        acknowledged_messages_survive_sigkill(&url).await;
    }
}

/// Under a stream of sends, SQLite's write-ahead log is checkpointed in the background and
/// starts over from its beginning again and again (the message writer's checkpoints), long
/// before it reaches half the backstop (`confab::db::WAL_AUTOCHECKPOINT` pages, where SQLite's
/// own checkpoint in a commit would restart it; without the writer's checkpoints the log reaches
/// it): the log, and every reader's search of it, stays small.
#[actix_web::test]
async fn sqlite_log_starts_over_under_a_stream_of_sends() {
    let app = TestApp::sqlite_with(|config| config.limits.messages_per_10s = 1_000_000).await;
    let (ann, _) = app.register("ann").await;
    let room = app.create_room(&ann, "log", &[]).await;
    let database = app
        .db
        .get_sqlite_connection_pool()
        .connect_options()
        .get_filename()
        .to_path_buf();
    let mut shm = database.into_os_string();
    shm.push("-shm");
    // The pages in the log: `mxFrame` of the wal-index header at the start of the `-shm` file
    // (native byte order).
    let pages_in_log = || {
        let header = std::fs::read(&shm).expect("the -shm file");
        u32::from_ne_bytes(header[16..20].try_into().unwrap())
    };
    let backstop = confab::db::WAL_AUTOCHECKPOINT;
    let (mut largest, mut last, mut restarts) = (0, 0, 0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    for round in 0.. {
        if tokio::time::Instant::now() > deadline && restarts >= 2 {
            break;
        }
        assert!(
            round < 2_000,
            "the log never started over (largest {largest} pages)"
        );
        let sends = (0..4).map(|i| {
            app.ok(
                Some(&ann),
                "mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }",
                json!({ "i": { "roomId": room, "body": format!("r{round} m{i}") } }),
            )
        });
        join_all(sends).await;
        // Paced, so that how many pages a checkpoint's cycle sees written does not depend on
        // how fast this machine sends (about 50 pages a round).
        tokio::time::sleep(Duration::from_millis(10)).await;
        let now = pages_in_log();
        if now < last {
            restarts += 1;
        }
        largest = largest.max(now);
        last = now;
    }
    assert!(
        largest < backstop / 2,
        "the log reached {largest} pages (backstop {backstop}) between restarts"
    );
}
