//! Confab behind PgBouncer in transaction pooling mode, with deploy/pgbouncer/pgbouncer.ini as
//! it is deployed (only the port and the auth file's path changed): two `confab serve
//! --db-pgbouncer` processes, more requests in flight than PgBouncer has server connections, so
//! a client connection's statements run on one server connection after another and PgBouncer
//! must prepare them again where they land (`max_prepared_statements`, PgBouncer 1.21+).

use std::collections::BTreeSet;
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use futures_util::StreamExt as _;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};
use serde_json::{Value, json};

use crate::util::{ServerProcess, TestApp, TestDatabase, first_error, redis_url};
use crate::wsclient::{Got, TRANSPORT, Ws};

const ROOM_EVENTS: &str = "subscription($room: UUID!) { roomEvents(roomId: $room) { __typename ... on MessageAdded { message { body } } } }";
const PAGE: &str = "query($room: UUID!, $after: String) { room(id: $room) { messages(first: 50, after: $after, order: NEWEST_FIRST) { nodes { body } pageInfo { hasNextPage endCursor } } } }";
const LOGIN: &str = "mutation($input: LoginInput!) { login(input: $input) { token } }";
const REGISTER: &str =
    "mutation($input: RegisterInput!) { register(input: $input) { token user { id } } }";

/// Users, messages each sends, and requests in flight at once: far more than the ten server
/// connections of `default_pool_size`.
const USERS: usize = 8;
const PER_USER: usize = 25;
const IN_FLIGHT: usize = 48;

/// A `pgbouncer` process on a free port with the repository's configuration; stopped when
/// dropped.
struct PgBouncer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl PgBouncer {
    /// None when no PgBouncer of 1.21 or later is installed (a failure under CI, whose
    /// .ci/run builds one) or the test database is not the 127.0.0.1:5432 the configuration
    /// points at.
    fn start(direct_url: &str) -> Option<Self> {
        let version = Command::new("pgbouncer")
            .arg("--version")
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
            .unwrap_or_default();
        // "PgBouncer 1.24.1": max_prepared_statements came with 1.21.
        let minor = version
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.strip_prefix("1."))
            .and_then(|v| v.split('.').next())
            .and_then(|v| v.parse::<u32>().ok());
        if minor.is_none_or(|minor| minor < 21) {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run the PgBouncer test: PgBouncer 1.21 or later (.ci/run builds it), found {version:?}"
            );
            eprintln!("no PgBouncer 1.21 or later ({version:?}): skipping the PgBouncer run");
            return None;
        }
        if !direct_url.contains("@127.0.0.1:5432/") {
            eprintln!("deploy/pgbouncer/pgbouncer.ini points at 127.0.0.1:5432: skipping");
            return None;
        }
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/pgbouncer");
        let dir = tempfile::tempdir().expect("tempdir");
        let port = crate::util::free_port();
        let userlist = dir.path().join("userlist.txt");
        std::fs::copy(repo.join("userlist.txt"), &userlist).expect("copy userlist.txt");
        let ini = std::fs::read_to_string(repo.join("pgbouncer.ini")).expect("pgbouncer.ini");
        let mut changed = 0;
        let ini: Vec<String> = ini
            .lines()
            .map(|line| {
                if line.starts_with("listen_port =") {
                    changed += 1;
                    format!("listen_port = {port}")
                } else if line.starts_with("auth_file =") {
                    changed += 1;
                    format!("auth_file = {}", userlist.display())
                } else {
                    line.to_owned()
                }
            })
            .collect();
        assert_eq!(
            changed, 2,
            "pgbouncer.ini sets listen_port and auth_file once"
        );
        let config = dir.path().join("pgbouncer.ini");
        std::fs::write(&config, ini.join("\n")).expect("write pgbouncer.ini");

        let mut command = Command::new("pgbouncer");
        // PgBouncer refuses to run as root; root has it switch to the `postgres` user, who
        // must then be able to read its files.
        let uid = Command::new("id").arg("-u").output().expect("id -u").stdout;
        if String::from_utf8_lossy(&uid).trim() == "0" {
            for (path, mode) in [(dir.path(), 0o755), (&config, 0o644), (&userlist, 0o644)] {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                    .expect("chmod");
            }
            command.args(["-u", "postgres"]);
        }
        let log = std::fs::File::create(dir.path().join("pgbouncer.log")).expect("log file");
        let child = command
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn pgbouncer");
        let bouncer = Self {
            child,
            port,
            _dir: dir,
        };
        for _ in 0..100 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(bouncer);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("pgbouncer did not listen on port {port}");
    }

    /// The URL of `database` through PgBouncer, as the CI user of userlist.txt.
    fn url(&self, direct_url: &str) -> String {
        let database = direct_url.rsplit('/').next().expect("a database name");
        format!(
            "postgres://postgres:confab-ci@127.0.0.1:{}/{database}",
            self.port
        )
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `requests` with at most [`IN_FLIGHT`] at once; the answers in order.
async fn all<F: std::future::Future<Output = Value>>(requests: Vec<F>) -> Vec<Value> {
    futures_util::stream::iter(requests)
        .buffered(IN_FLIGHT)
        .collect()
        .await
}

/// Asserts no answer has an error; shows the first one otherwise.
fn assert_no_errors(answers: &[Value]) {
    let failed: Vec<&Value> = answers
        .iter()
        .filter(|a| a.get("errors").is_some())
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} requests failed, the first: {}",
        failed.len(),
        answers.len(),
        failed[0]
    );
}

async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .expect("count")
        .expect("a row");
    row.try_get_by_index(0).expect("a count")
}

#[actix_web::test]
async fn two_processes_serve_real_traffic_through_pgbouncer() {
    let Some(redis) = redis_url() else { return };
    // Empty: the first process migrates it through PgBouncer.
    let Some((_database, direct)) = TestDatabase::postgres().await else {
        return;
    };
    let Some(bouncer) = PgBouncer::start(&direct) else {
        return;
    };
    let url = bouncer.url(&direct);
    let env = [
        ("CONFAB_DATABASE_URL", url.as_str()),
        ("CONFAB_DB_PGBOUNCER", "true"),
        ("CONFAB_REDIS_URL", redis.as_str()),
        ("CONFAB_RATE_REGISTER_PER_MINUTE", "100000"),
        ("CONFAB_RATE_LOGIN_PER_MINUTE", "100000"),
        ("CONFAB_RATE_MESSAGES_PER_10S", "100000"),
    ];
    let a = ServerProcess::start(&env).await;
    let b = ServerProcess::start(&env).await;
    let apps = [TestApp::remote(&a.base), TestApp::remote(&b.base)];
    let app = |i: usize| &apps[i % 2];

    // Register on both processes at once, then sign in on the other one.
    let names: Vec<String> = (0..USERS).map(|i| format!("user{i}")).collect();
    let registered = all(names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            app(i).gql(
                None,
                REGISTER,
                json!({ "input": { "username": name, "email": format!("{name}@example.com"), "password": format!("password-{name}") } }),
            )
        })
        .collect())
    .await;
    assert_no_errors(&registered);
    let ids: Vec<String> = registered
        .iter()
        .map(|r| {
            r["data"]["register"]["user"]["id"]
                .as_str()
                .expect("id")
                .to_owned()
        })
        .collect();
    let logins = all(names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            app(i + 1).gql(
                None,
                LOGIN,
                json!({ "input": { "login": name, "password": format!("password-{name}") } }),
            )
        })
        .collect())
    .await;
    assert_no_errors(&logins);
    let tokens: Vec<String> = logins
        .iter()
        .map(|r| {
            r["data"]["login"]["token"]
                .as_str()
                .expect("token")
                .to_owned()
        })
        .collect();

    let members: Vec<&str> = ids[1..].iter().map(String::as_str).collect();
    let room = app(0).create_room(&tokens[0], "pooled", &members).await;

    // A subscriber on B hears every message, whichever process took it.
    let mut ws = Ws::connect_to(&b.base, TRANSPORT, Some(&tokens[1])).await;
    assert!(matches!(ws.recv().await, Got::Message(m) if m["type"] == "connection_ack"));
    ws.subscribe("1", ROOM_EVENTS, json!({ "room": room }))
        .await;
    app(1)
        .wait_for_metric(r#"confab_broker_subscribers{topic="room"}"#, 1.0)
        .await;

    let bodies: Vec<String> = (0..USERS * PER_USER)
        .map(|n| format!("message {n} from user{}", n % USERS))
        .collect();
    let sent = all(bodies
        .iter()
        .enumerate()
        .map(|(n, body)| {
            app(n / USERS).gql(
                Some(&tokens[n % USERS]),
                "mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }",
                json!({ "input": { "roomId": room, "body": body } }),
            )
        })
        .collect())
    .await;
    assert_no_errors(&sent);
    let expected: BTreeSet<String> = bodies.iter().cloned().collect();
    let sent_ids: BTreeSet<&str> = sent
        .iter()
        .map(|s| s["data"]["sendMessage"]["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        sent_ids.len(),
        bodies.len(),
        "every message has an id of its own"
    );

    let mut heard = BTreeSet::new();
    while heard.len() < bodies.len() {
        let event = ws.next("1").await;
        let body = event["data"]["roomEvents"]["message"]["body"]
            .as_str()
            .unwrap_or_else(|| panic!("a MessageAdded event: {event}"));
        assert!(heard.insert(body.to_owned()), "{body} heard twice");
    }
    assert_eq!(heard, expected);

    // Paging through the room on A, 50 at a time, finds each message once.
    let mut paged = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = app(0)
            .ok(
                Some(&tokens[2]),
                PAGE,
                json!({ "room": room, "after": after }),
            )
            .await;
        let messages = &data["room"]["messages"];
        for node in messages["nodes"].as_array().expect("nodes") {
            paged.push(node["body"].as_str().expect("body").to_owned());
        }
        if messages["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = messages["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(paged.len(), bodies.len());
    assert_eq!(paged.into_iter().collect::<BTreeSet<_>>(), expected);

    // Sixteen sign-ups for one name at once. Each checks the name is free, hashes the password
    // (long, in a debug build) and then inserts in a transaction: all pass the check before the
    // first insert, so the losers' transactions fail on the unique username and roll back
    // ("username or email already taken"; the check says "username already taken"), the
    // winner's commits, and the server connections serve on.
    let attempts = all((0..16)
        .map(|i| {
            app(i).gql(
                None,
                REGISTER,
                json!({ "input": { "username": "taken", "email": format!("taken{i}@example.com"), "password": format!("password-taken-{i}") } }),
            )
        })
        .collect())
    .await;
    let winners: Vec<usize> = (0..attempts.len())
        .filter(|&i| attempts[i].get("errors").is_none())
        .collect();
    assert_eq!(winners.len(), 1, "{attempts:?}");
    let mut rolled_back = 0;
    for (i, attempt) in attempts.iter().enumerate() {
        if i != winners[0] {
            let (code, message, _) = first_error(attempt);
            assert_eq!(code, "CONFLICT", "{attempt}");
            rolled_back += usize::from(message == "username or email already taken");
        }
    }
    assert!(
        rolled_back > 0,
        "no sign-up failed inside its transaction: {attempts:?}"
    );
    let direct_db = Database::connect(&direct).await.expect("connect directly");
    assert_eq!(
        count(
            &direct_db,
            "SELECT count(*) FROM users WHERE username = 'taken'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &direct_db,
            &format!(
                "SELECT count(*) FROM users WHERE username = 'taken' AND email = 'taken{}@example.com'",
                winners[0]
            )
        )
        .await,
        1
    );
    assert_eq!(
        count(&direct_db, "SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username = 'taken'").await,
        1,
        "only the winner has a session"
    );
    assert_eq!(
        count(
            &direct_db,
            &format!("SELECT count(*) FROM messages WHERE room_id = '{room}'")
        )
        .await,
        bodies.len() as i64
    );
    let _ = direct_db.close().await;
}
