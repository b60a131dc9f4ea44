//! Read replicas on a real PostgreSQL streaming replica (`scripts/replica/start.sh`, which
//! .ci/run runs; `CONFAB_TEST_REPLICA_URL` names its admin database). The replica's replay is
//! paused to make its lag visible: a query that does not see a message the primary has was
//! answered by the replica.

use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::util::{ServerProcess, TestApp, TestDatabase, redis_url, required_env};

/// One test at a time pauses the (shared) replica.
static REPLICA: Mutex<()> = Mutex::const_new(());

const BODIES: &str = "query($r: UUID!) { room(id: $r) { messages(first: 50) { nodes { body } } } }";

/// The replica's admin URL, or None to skip (a failure under CI).
fn replica_admin_url() -> Option<String> {
    required_env(
        "CONFAB_TEST_REPLICA_URL",
        "the replica suite (scripts/replica/start.sh)",
    )
}

/// The URL of `primary_url`'s database on the replica.
fn on_replica(admin: &str, primary_url: &str) -> String {
    let name = primary_url.rsplit('/').next().expect("database name");
    let server = admin.rsplit_once('/').expect("admin url").0;
    format!("{server}/{name}")
}

/// Replay paused on the replica until dropped (also when the test fails).
struct Paused(String);

impl Paused {
    async fn start(admin: &str) -> Self {
        let db = Database::connect(admin)
            .await
            .expect("connect to the replica");
        db.execute_unprepared("SELECT pg_wal_replay_pause()")
            .await
            .expect("pause replay");
        db.close().await.expect("close");
        Self(admin.to_owned())
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        let resumed = std::process::Command::new("psql")
            .args(["-qAtX", &self.0, "-c", "SELECT pg_wal_replay_resume()"])
            .status();
        assert!(resumed.is_ok_and(|s| s.success()), "resume replay");
    }
}

/// The bodies of `room`'s messages as `token` sees them: none while the room itself is not
/// there yet (a replica that has not replayed its creation).
async fn bodies(app: &TestApp, token: &str, room: &str) -> Vec<String> {
    let data = app.ok(Some(token), BODIES, json!({ "r": room })).await;
    let Some(nodes) = data["room"]["messages"]["nodes"].as_array() else {
        assert_eq!(data["room"], Value::Null, "{data}");
        return Vec::new();
    };
    nodes
        .iter()
        .map(|node| node["body"].as_str().expect("body").to_owned())
        .collect()
}

async fn readyz(app: &TestApp) -> Value {
    let (status, body) = app.get("/readyz").await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("readyz json")
}

/// Waits until `/readyz` says the (first) replica is `status`.
async fn replica_is(app: &TestApp, status: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready = readyz(app).await;
        if ready["replicas"][0]["status"] == status {
            return;
        }
        assert!(Instant::now() < deadline, "replica never {status}: {ready}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `token` sees `body` in `room`.
async fn sees(app: &TestApp, token: &str, room: &str, body: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !bodies(app, token, room).await.iter().any(|b| b == body) {
        assert!(Instant::now() < deadline, "{body:?} never showed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[actix_web::test]
async fn queries_read_the_replica_except_the_writers_own_and_while_it_lags() {
    let Some(admin) = replica_admin_url() else {
        return;
    };
    let _turn = REPLICA.lock().await;
    let Some(app) = TestApp::postgres_with(|config| {
        config.replicas.urls = vec![on_replica(&admin, &config.database.url)];
        config.replicas.read_your_writes_secs = 2;
        config.replicas.max_lag_secs = 5;
    })
    .await
    else {
        return;
    };
    replica_is(&app, "ok").await;
    let (ann, _) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let room = app.create_room(&ann, "replicated", &[&bob_id]).await;
    app.send(&ann, &room, "before").await;
    sees(&app, &bob, &room, "before").await;

    let paused = Paused::start(&admin).await;
    app.send(&ann, &room, "while paused").await;
    // Ann wrote a moment ago: she reads the primary and sees her message.
    assert!(
        bodies(&app, &ann, &room)
            .await
            .contains(&"while paused".to_owned())
    );
    // Bob did not: he reads the paused replica, which has not replayed it.
    assert_eq!(bodies(&app, &bob, &room).await, ["before"]);
    // Once the replica is more than --read-max-lag-secs behind it gets no queries: Bob reads
    // the primary.
    replica_is(&app, "lagging").await;
    sees(&app, &bob, &room, "while paused").await;
    drop(paused);
    replica_is(&app, "ok").await;

    // Past her --read-your-writes-secs Ann reads the replica again: paused once more, it does
    // not have what Bob sends now, while Bob, who just wrote, sees it.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let paused = Paused::start(&admin).await;
    app.send(&bob, &room, "bob, paused").await;
    assert!(
        bodies(&app, &bob, &room)
            .await
            .contains(&"bob, paused".to_owned())
    );
    assert!(
        !bodies(&app, &ann, &room)
            .await
            .contains(&"bob, paused".to_owned())
    );
    drop(paused);
    sees(&app, &ann, &room, "bob, paused").await;
}

/// Behind a balancer a caller's next request may reach another instance: the mark that they
/// wrote travels through Redis.
#[actix_web::test]
async fn a_write_on_one_instance_sends_the_writers_reads_to_the_primary_on_another() {
    let Some(admin) = replica_admin_url() else {
        return;
    };
    let Some(redis) = redis_url() else { return };
    let _turn = REPLICA.lock().await;
    let Some((_database, url)) = TestDatabase::postgres_migrated().await else {
        return;
    };
    let read_url = on_replica(&admin, &url);
    let env = [
        ("CONFAB_DATABASE_URL", url.as_str()),
        ("CONFAB_DATABASE_READ_URL", read_url.as_str()),
        ("CONFAB_REDIS_URL", redis.as_str()),
        ("CONFAB_READ_YOUR_WRITES_SECS", "30"),
        ("CONFAB_READ_MAX_LAG_SECS", "60"),
    ];
    let a = ServerProcess::start(&env).await;
    let b = ServerProcess::start(&env).await;
    let (on_a, on_b) = (TestApp::remote(&a.base), TestApp::remote(&b.base));
    replica_is(&on_a, "ok").await;
    replica_is(&on_b, "ok").await;
    let (ann, _) = on_a.register("ann").await;
    let (bob, bob_id) = on_a.register("bob").await;
    let room = on_a.create_room(&ann, "two instances", &[&bob_id]).await;
    on_a.send(&ann, &room, "first").await;
    sees(&on_b, &bob, &room, "first").await;

    let paused = Paused::start(&admin).await;
    on_a.send(&ann, &room, "through a").await;
    assert!(
        bodies(&on_b, &ann, &room)
            .await
            .contains(&"through a".to_owned())
    );
    assert_eq!(bodies(&on_b, &bob, &room).await, ["first"]);
    drop(paused);
    sees(&on_b, &bob, &room, "through a").await;
}

/// A replica that does not answer gets no queries: everything runs on the primary, and
/// `/readyz` says so without failing.
#[actix_web::test]
async fn a_replica_that_is_down_is_skipped() {
    let Some(app) = TestApp::postgres_with(|config| {
        // Nothing listens on port 1.
        config.replicas.urls = vec!["postgres://postgres@127.0.0.1:1/none".to_owned()];
    })
    .await
    else {
        return;
    };
    replica_is(&app, "down").await;
    let ready = readyz(&app).await;
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["replicas"][0]["lagMs"], Value::Null);
    let (ann, _) = app.register("ann").await;
    let room = app.create_room(&ann, "primary only", &[]).await;
    app.send(&ann, &room, "still served").await;
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    assert_eq!(bodies(&app, &ann, &room).await, ["still served"]);
}
