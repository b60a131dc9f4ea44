//! The real binary: `confab serve` on a free port answers, and stops cleanly on SIGTERM.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::util::{TestApp, TestDatabase};

#[actix_web::test]
async fn binary_serves_and_shuts_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let port = crate::util::free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_confab"))
        .arg("serve")
        .env("CONFAB_BIND", format!("127.0.0.1:{port}"))
        .env(
            "CONFAB_DATABASE_URL",
            format!("sqlite://{}/c.db?mode=rwc", dir.path().display()),
        )
        .env("CONFAB_WORKERS", "1")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = awc::Client::default();
    let mut ready = false;
    for _ in 0..100 {
        if let Ok(response) = client.get(format!("{base}/readyz")).send().await {
            ready = response.status().is_success();
            if ready {
                break;
            }
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "server did not become ready");

    let mut response = client
        .post(format!("{base}/graphql"))
        .send_json(&json!({ "query": "mutation { register(input: { username: \"ann\", email: \"ann@x.io\", password: \"password1\" }) { user { username } } }" }))
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body["data"]["register"]["user"]["username"], "ann",
        "{body}"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut status = None;
    for _ in 0..150 {
        if let Some(exit) = child.try_wait().unwrap() {
            status = Some(exit);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = status.unwrap_or_else(|| {
        let _ = child.kill();
        panic!("server ignored SIGTERM")
    });
    assert!(status.success(), "exit status {status}");
}

#[test]
fn export_schema_prints_the_sdl() {
    let output = Command::new(env!("CARGO_BIN_EXE_confab"))
        .arg("export-schema")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        confab::graphql::sdl()
    );
}

#[actix_web::test]
async fn seed_demo_fills_a_database_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("demo.db").display());
    let seed = || {
        let output = Command::new(env!("CARGO_BIN_EXE_confab"))
            .args(["seed", "--demo"])
            .env("CONFAB_DATABASE_URL", &url)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    assert!(seed().contains("4000 messages"));
    assert!(seed().contains("already present"));

    let app = TestApp::start(TestDatabase::Sqlite(dir), url).await;
    assert_eq!(app.count("messages").await, 4000);
    let login = app
        .ok(
            None,
            "mutation { login(input: { login: \"bob\", password: \"confab-demo\" }) { token } }",
            json!({}),
        )
        .await;
    let token = login["login"]["token"].as_str().unwrap();
    let data = app
        .ok(
            Some(token),
            "{ myRooms(first: 10) { edges { node { name kind unreadCount messages(last: 5) { edges { node { body sender { username } } } } } } } }",
            json!({}),
        )
        .await;
    let rooms = data["myRooms"]["edges"].as_array().unwrap();
    assert_eq!(
        rooms.len(),
        3,
        "bob is in general, random and the direct room: {data}"
    );
    for room in rooms {
        assert_eq!(
            room["node"]["messages"]["edges"].as_array().unwrap().len(),
            5
        );
        assert!(room["node"]["unreadCount"].as_i64().unwrap() > 0);
    }
    app.stop().await;
}

#[test]
fn config_file_sits_beneath_environment_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("confab.toml");
    std::fs::write(
        &file,
        "bind = \"0.0.0.0:9999\"\ndatabase-url = \"postgres://confab:s3cret@db.internal/confab\"\n\
         max-depth = 20\nmax-batch = 3\nblob-mime-types = [\"image/png\", \"image/gif\"]\n",
    )
    .unwrap();
    let show = |extra: &[&str], env: &[(&str, &str)]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_confab"));
        command.arg("--config").arg(&file).args(extra).arg("config");
        for (k, v) in env {
            command.env(k, v);
        }
        let output = command.env_remove("CONFAB_DATABASE_URL").output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let shown = show(&[], &[("CONFAB_MAX_DEPTH", "30")]);
    assert!(shown.contains("bind: \"0.0.0.0:9999\""), "{shown}");
    assert!(
        shown.contains("depth: 30"),
        "environment beats the file: {shown}"
    );
    assert!(shown.contains("batch: 3"), "{shown}");
    assert!(shown.contains("\"image/gif\""), "{shown}");
    assert!(
        shown.contains("confab:***@db.internal") && !shown.contains("s3cret"),
        "{shown}"
    );
    let flagged = show(&["--max-depth", "40"], &[("CONFAB_MAX_DEPTH", "30")]);
    assert!(
        flagged.contains("depth: 40"),
        "flags beat the environment: {flagged}"
    );

    // Log lines as JSON.
    let output = Command::new(env!("CARGO_BIN_EXE_confab"))
        .args(["--log-format", "json", "--database-url"])
        .arg(format!("sqlite://{}/j.db?mode=rwc", dir.path().display()))
        .arg("migrate")
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    assert!(output.status.success());
    let logged = String::from_utf8_lossy(&output.stdout);
    let line = logged
        .lines()
        .find(|l| l.contains("migrations applied"))
        .expect("a log line");
    let parsed: serde_json::Value = serde_json::from_str(line).expect("JSON log line");
    assert_eq!(parsed["fields"]["message"], "migrations applied");

    std::fs::write(&file, "no-such-setting = 1\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_confab"))
        .arg("--config")
        .arg(&file)
        .arg("config")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown setting `no-such-setting`"));
}
