//! A resolver that fails on our side (a row another row points at is gone) answers INTERNAL
//! with a request id, and the log line with the details carries the same id: the client is
//! never blamed (BAD_USER_INPUT) for the server's broken data.

use std::process::{Child, Command, Stdio};

use sea_orm::{ConnectOptions, ConnectionTrait, Database, EntityTrait, TransactionTrait};
use serde_json::json;

use crate::util::{TestApp, TestDatabase, first_error};

/// A server process, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `confab serve` with its log (JSON lines) written to `log`.
async fn serve(url: &str, log: &std::path::Path) -> (Server, String) {
    let port = crate::util::free_port();
    let child = Server(
        Command::new(env!("CARGO_BIN_EXE_confab"))
            .arg("serve")
            .env("CONFAB_DATABASE_URL", url)
            .env("CONFAB_BIND", format!("127.0.0.1:{port}"))
            .env("CONFAB_WORKERS", "1")
            .env("CONFAB_LOG_FORMAT", "json")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::from(std::fs::File::create(log).unwrap()))
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = awc::Client::default();
    for _ in 0..150 {
        if let Ok(response) = client.get(format!("{base}/readyz")).send().await
            && response.status().is_success()
        {
            return (child, base);
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("confab did not become ready");
}

/// Deletes user `id` behind the foreign keys' back, as a bad restore or a manual fix might.
async fn delete_user_unchecked(url: &str, id: &str) {
    let db = Database::connect(ConnectOptions::new(url).max_connections(1).to_owned())
        .await
        .unwrap();
    let id = uuid::Uuid::parse_str(id).unwrap();
    if url.starts_with("sqlite") {
        db.execute_unprepared("PRAGMA foreign_keys = OFF")
            .await
            .unwrap();
        let done = entity::users::Entity::delete_by_id(id)
            .exec(&db)
            .await
            .unwrap();
        assert_eq!(done.rows_affected, 1);
    } else {
        let txn = db.begin().await.unwrap();
        txn.execute_unprepared("SET LOCAL session_replication_role = replica")
            .await
            .unwrap();
        let done = entity::users::Entity::delete_by_id(id)
            .exec(&txn)
            .await
            .unwrap();
        assert_eq!(done.rows_affected, 1);
        txn.commit().await.unwrap();
    }
    db.close().await.unwrap();
}

async fn broken_reference_answers_internal(database: TestDatabase, url: String) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("confab.log");
    let (server, base) = serve(&url, &log).await;
    let app = TestApp::remote(&base);
    let (ann, ann_id) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let room = app.create_room(&ann, "r", &[&bob_id]).await;
    delete_user_unchecked(&url, &ann_id).await;

    let body = app
        .gql(
            Some(&bob),
            "query($id: UUID!) { room(id: $id) { name createdBy { id } } }",
            json!({ "id": room }),
        )
        .await;
    let (code, message, _) = first_error(&body);
    assert_eq!(code, "INTERNAL", "{body}");
    assert_eq!(message, "internal error", "{body}");
    let request_id = body["errors"][0]["extensions"]["requestId"]
        .as_str()
        .unwrap_or_else(|| panic!("no requestId: {body}"))
        .to_owned();
    assert!(
        !body.to_string().contains(&ann_id),
        "the answer names the row: {body}"
    );

    // The log line with the details carries the request id (the span's field). It is
    // written before the answer is sent.
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let found = text.lines().any(|line| {
        line.contains(&request_id) && line.contains("broken reference") && line.contains(&ann_id)
    });
    drop(server);
    assert!(found, "no log line with {request_id}:\n{text}");
    drop(database);
}

#[actix_web::test]
async fn broken_reference_answers_internal_sqlite() {
    let (database, url) = TestDatabase::sqlite();
    broken_reference_answers_internal(database, url).await;
}

#[actix_web::test]
async fn broken_reference_answers_internal_postgres() {
    if let Some((database, url)) = TestDatabase::postgres().await {
        broken_reference_answers_internal(database, url).await;
    }
}
