//! `TestApp`: a running Confab on a fresh database, and a GraphQL client for it.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::dev::ServerHandle;
use confab::config::Config;
use confab::state::AppState;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};
use uuid::Uuid;

/// Runs each named scenario `async fn name(app: &TestApp)` once per backend.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => { $(
        mod $name {
            #[actix_web::test]
            async fn sqlite() {
                let app = $crate::util::TestApp::sqlite().await;
                super::$name(&app).await;
                app.stop().await;
            }

            #[actix_web::test]
            async fn postgres() {
                if let Some(app) = $crate::util::TestApp::postgres().await {
                    super::$name(&app).await;
                    app.stop().await;
                }
            }
        }
    )* };
}

pub struct TestApp {
    pub base: String,
    /// Mail the server sent.
    pub mailer: confab::mail::MemoryMailer,
    statements: Arc<AtomicUsize>,
    pub db: DatabaseConnection,
    handle: Option<ServerHandle>,
    /// The server's cache of signed-in viewers (in-process servers only).
    sessions: Option<Arc<confab::auth::SessionCache>>,
    /// The server's SQLite writer turn (in-process servers only).
    writer: Option<Arc<tokio::sync::Mutex<()>>>,
    /// The server's background machinery tests wait for (in-process servers only).
    background: Option<Background>,
    /// The server's SQLite readers (in-process SQLite servers only).
    sqlite_readers: Option<Arc<confab::db::direct::Readers>>,
    client: awc::Client,
    _database: TestDatabase,
    _blob_dir: Option<tempfile::TempDir>,
}

/// Handles on an in-process server's background work, so tests wait for it, not for time.
struct Background {
    unread: confab::workers::unread::UnreadFeed,
    broker: confab::realtime::SharedBroker,
    listeners: Arc<confab::realtime::online::Presence>,
}

/// How long the `wait_for_*` helpers wait for their condition before failing the test.
const WAIT_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// A database made for one test and removed after it.
pub enum TestDatabase {
    None,
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Self::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs outside async; a short-lived runtime on its own thread does the cleanup.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime.block_on(async move {
                    if let Ok(admin) = Database::connect(&admin_url).await {
                        let _ = admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .await;
                        let _ = admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}

impl TestDatabase {
    /// An empty SQLite database (no tables): for tests of the migrations themselves.
    pub fn sqlite() -> (Self, String) {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = sqlite_url(dir.path());
        (Self::Sqlite(dir), url)
    }

    /// A migrated SQLite database: a copy of one file this process migrated once.
    pub async fn sqlite_migrated() -> (Self, String) {
        let template = SQLITE_TEMPLATE
            .get_or_init(|| async {
                let dir = tempfile::tempdir().expect("tempdir");
                let db = migrate(sqlite_url(dir.path())).await;
                // Fold the WAL into the main file so that the file alone is the database.
                db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
                    .await
                    .expect("checkpoint");
                db.close().await.expect("close template");
                std::fs::read(dir.path().join("confab.db")).expect("read template")
            })
            .await;
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("confab.db"), template).expect("copy template");
        let url = sqlite_url(dir.path());
        (Self::Sqlite(dir), url)
    }

    /// An empty PostgreSQL database (no tables), or None when the suite is not configured for
    /// PostgreSQL: for tests of the migrations themselves.
    pub async fn postgres() -> Option<(Self, String)> {
        Self::postgres_from(None).await
    }

    /// A fresh migrated PostgreSQL database, copied from a template database migrated once
    /// (`CREATE DATABASE ... TEMPLATE`), or None when the suite is not configured for
    /// PostgreSQL. Under CI a missing configuration is a failure, not a skip.
    pub async fn postgres_migrated() -> Option<(Self, String)> {
        let admin_url = postgres_admin_url()?;
        let template = PG_TEMPLATE
            .get_or_init(|| postgres_template(admin_url))
            .await;
        Self::postgres_from(Some(template)).await
    }

    async fn postgres_from(template: Option<&str>) -> Option<(Self, String)> {
        let admin_url = postgres_admin_url()?;
        let name = format!("confab_test_{}", Uuid::now_v7().simple());
        let admin = Database::connect(&admin_url)
            .await
            .expect("connect to PostgreSQL");
        let create = match template {
            Some(template) => format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""),
            None => format!("CREATE DATABASE \"{name}\""),
        };
        execute_while_busy(&admin, &create)
            .await
            .expect("create test database");
        admin.close().await.expect("close admin connection");
        let url = database_url(&admin_url, &name);
        Some((Self::Postgres { admin_url, name }, url))
    }
}

/// The migrated SQLite file every SQLite test starts from (its bytes).
static SQLITE_TEMPLATE: tokio::sync::OnceCell<Vec<u8>> = tokio::sync::OnceCell::const_new();
/// The name of the migrated PostgreSQL template database.
static PG_TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

fn sqlite_url(dir: &std::path::Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("confab.db").display())
}

fn postgres_admin_url() -> Option<String> {
    required_env("CONFAB_TEST_POSTGRES_URL", "the PostgreSQL suite")
}

/// Whether something a test needs from outside (a server, a tool, a setting) is here. When it
/// is not: a skip, with `missing` printed, and under CI, whose .ci/run provides every one of
/// them, a failure.
pub fn required(here: bool, missing: &str) -> bool {
    if !here {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run this test: {missing}"
        );
        eprintln!("skipping: {missing}");
    }
    here
}

/// The value of the environment variable `name` that `suite` needs, or None to skip (a
/// failure under CI).
pub fn required_env(name: &str, suite: &str) -> Option<String> {
    let value = std::env::var(name).ok();
    required(value.is_some(), &format!("{suite} needs {name}"))
        .then_some(value)
        .flatten()
}

/// Whether python3 can import `module` (a test server from PyPI), as [`required`] has it.
pub fn python_module(module: &str, install: &str) -> bool {
    let found = std::process::Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    required(
        found,
        &format!("python3 cannot import {module} ({install})"),
    )
}

/// `admin_url` with its database replaced by `name`.
fn database_url(admin_url: &str, name: &str) -> String {
    let (base, _) = admin_url
        .rsplit_once('/')
        .expect("URL with a database path");
    format!("{base}/{name}")
}

/// Connects to `url` and applies every migration, as the server does at start.
async fn migrate(url: String) -> DatabaseConnection {
    confab::db::connect_and_migrate(&Config::for_database(url).database)
        .await
        .expect("migrate template database")
}

/// Runs `sql`, again while PostgreSQL says a database it needs "is being accessed by other
/// users" (a template or a renamed database whose last session is still closing).
async fn execute_while_busy(admin: &DatabaseConnection, sql: &str) -> Result<(), sea_orm::DbErr> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        match admin.execute_unprepared(sql).await {
            Err(error)
                if error.to_string().contains("being accessed by other users")
                    && std::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            result => return result.map(drop),
        }
    }
}

/// A hash of the migrations' source: the template's name changes whenever they do, so test
/// processes (and concurrent runs of other commits on one server) never share a stale one.
fn migrations_hash() -> u64 {
    use std::hash::{Hash, Hasher};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migration/src");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("migration sources")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .collect();
    files.sort();
    let mut hasher = std::hash::DefaultHasher::new();
    for path in files {
        path.file_name().hash(&mut hasher);
        std::fs::read(&path)
            .expect("migration source")
            .hash(&mut hasher);
    }
    hasher.finish()
}

/// The name of a migrated template database for the current migrations, made if missing.
/// Built under a private name and published by renaming, so concurrent test processes never
/// copy a half-migrated template; the loser of a race drops its copy and uses the winner's.
async fn postgres_template(admin_url: String) -> String {
    let name = format!("confab_tpl_{:016x}", migrations_hash());
    let admin = Database::connect(&admin_url)
        .await
        .expect("connect to PostgreSQL");
    let exists = |admin: &DatabaseConnection| {
        let sql = format!("SELECT 1 AS one FROM pg_database WHERE datname = '{name}'");
        let admin = admin.clone();
        async move {
            admin
                .query_one_raw(sea_orm::Statement::from_string(
                    sea_orm::DatabaseBackend::Postgres,
                    sql,
                ))
                .await
                .expect("look for the template")
                .is_some()
        }
    };
    if !exists(&admin).await {
        let building = format!("{name}_{}", Uuid::now_v7().simple());
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{building}\""))
            .await
            .expect("create template database");
        let db = migrate(database_url(&admin_url, &building)).await;
        db.close().await.expect("close template");
        let renamed = execute_while_busy(
            &admin,
            &format!("ALTER DATABASE \"{building}\" RENAME TO \"{name}\""),
        )
        .await;
        if renamed.is_err() {
            let _ = admin
                .execute_unprepared(&format!(
                    "DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"
                ))
                .await;
            assert!(exists(&admin).await, "publish the template: {renamed:?}");
        }
    }
    admin.close().await.expect("close admin connection");
    name
}

impl TestApp {
    pub async fn sqlite() -> Self {
        let (database, url) = TestDatabase::sqlite_migrated().await;
        Self::start(database, url).await
    }

    pub async fn postgres() -> Option<Self> {
        let (database, url) = TestDatabase::postgres_migrated().await?;
        Some(Self::start(database, url).await)
    }

    /// SQLite with settings changed by `tweak` (limits tests).
    pub async fn sqlite_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let (database, url) = TestDatabase::sqlite_migrated().await;
        Self::start_with(database, url, tweak).await
    }

    /// PostgreSQL with settings changed by `tweak`; None when no server is configured.
    pub async fn postgres_with(tweak: impl FnOnce(&mut Config)) -> Option<Self> {
        let (database, url) = TestDatabase::postgres_migrated().await?;
        Some(Self::start_with(database, url, tweak).await)
    }

    pub async fn start(database: TestDatabase, url: String) -> Self {
        Self::start_with(database, url, |_| {}).await
    }

    async fn start_with(
        database: TestDatabase,
        url: String,
        tweak: impl FnOnce(&mut Config),
    ) -> Self {
        let mut config = Config::for_database(url);
        config.http.workers = Some(1);
        // Suites register many users from one address; the limits tests set their own.
        config.limits.register_per_minute = 10_000;
        config.limits.login_per_minute = 10_000;
        // The call-liveness sweep runs every TTL/8 on the counted connection: at the default
        // (30 s) it could land inside a test's statement count. Tests of timeouts set theirs.
        config.calls.call_session_ttl_secs = 3_600;
        tweak(&mut config);
        let blob_dir = tempfile::tempdir().expect("blob dir");
        config.blobs.dir = blob_dir.path().to_owned();
        let mut db = confab::db::connect_and_migrate(&config.database)
            .await
            .expect("migrate test database");
        let statements = Arc::new(AtomicUsize::new(0));
        let counter = statements.clone();
        let hook: confab::state::StatementHook = Arc::new(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let on_statement = hook.clone();
        db.set_metric_callback(move |info| on_statement(info));
        let listener = TcpListener::bind("127.0.0.1:0").expect("free port");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let mailer = confab::mail::MemoryMailer::default();
        // With `--smtp-url` set the test reads what a real SMTP server received.
        let smtp = config.mail.smtp_url.is_some();
        let mut state = AppState::new(db.clone(), config).expect("state");
        if !smtp {
            state = state.with_mailer(Arc::new(mailer.clone()));
        }
        let state = state.with_statement_hook(hook);
        let sqlite_readers = state.sqlite_readers().cloned();
        let sessions = state.sessions.clone();
        let writer = state.writer.clone();
        let background = Background {
            unread: state.unread.clone(),
            broker: state.broker.clone(),
            listeners: state.listeners.clone(),
        };
        let server = confab::http::server(state, listener, &Default::default()).expect("server");
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self {
            base,
            mailer,
            statements,
            db,
            handle: Some(handle),
            sessions: Some(sessions),
            writer: Some(writer),
            background: Some(background),
            sqlite_readers,
            client: awc::Client::default(),
            _database: database,
            _blob_dir: Some(blob_dir),
        }
    }

    /// A client for a server running elsewhere (another process); no database handle of its
    /// own, so only the GraphQL helpers work.
    pub fn remote(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            mailer: confab::mail::MemoryMailer::default(),
            statements: Arc::default(),
            db: DatabaseConnection::default(),
            handle: None,
            sessions: None,
            writer: None,
            background: None,
            sqlite_readers: None,
            client: awc::Client::default(),
            _database: TestDatabase::None,
            _blob_dir: None,
        }
    }

    pub async fn stop(self) {
        if let Some(handle) = &self.handle {
            handle.stop(false).await;
        }
        let _ = self.db.clone().close().await;
    }

    /// Like [`gql`](Self::gql), but None when the server is gone (crash tests).
    pub async fn try_gql(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Option<Value> {
        let mut request = self.client.post(format!("{}/graphql", self.base));
        if let Some(token) = token {
            request = request.insert_header(("Authorization", format!("Bearer {token}")));
        }
        let mut response = request
            .send_json(&json!({ "query": query, "variables": variables }))
            .await
            .ok()?;
        response.json::<Value>().limit(16 << 20).await.ok()
    }

    /// POSTs a GraphQL request and returns the whole response body.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        self.try_gql(token, query, variables)
            .await
            .expect("a JSON answer")
    }

    /// POSTs any JSON body to /graphql.
    pub async fn post_json(&self, token: Option<&str>, body: Value) -> Value {
        let mut request = self.client.post(format!("{}/graphql", self.base));
        if let Some(token) = token {
            request = request.insert_header(("Authorization", format!("Bearer {token}")));
        }
        let mut response = request.send_json(&body).await.expect("request");
        response
            .json::<Value>()
            .limit(16 << 20)
            .await
            .expect("JSON body")
    }

    /// Like [`gql`](Self::gql) but fails the test on any error; returns `data`.
    pub async fn ok(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let body = self.gql(token, query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// POSTs a JSON body to /graphql with extra headers: (status, headers, raw body).
    pub async fn post_raw(
        &self,
        token: Option<&str>,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> (u16, awc::http::header::HeaderMap, Vec<u8>) {
        let request = self.client.post(format!("{}/graphql", self.base));
        raw(request, token, headers, Some(body)).await
    }

    /// GETs a path with optional bearer token and extra headers: (status, headers, body).
    pub async fn fetch(
        &self,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
    ) -> (u16, awc::http::header::HeaderMap, Vec<u8>) {
        let request = self.client.get(format!("{}{path}", self.base));
        raw(request, token, headers, None).await
    }

    /// Uploads `bytes` with the GraphQL multipart request spec; returns the whole response.
    pub async fn upload(
        &self,
        token: &str,
        query: &str,
        bytes: &[u8],
        content_type: &str,
    ) -> Value {
        let boundary = format!("confab-test-{}", Uuid::now_v7().simple());
        let operations = json!({ "query": query, "variables": { "file": null } }).to_string();
        let mut body = Vec::new();
        for (name, value) in [
            ("operations", operations.as_str()),
            ("map", r#"{"0":["variables.file"]}"#),
        ] {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"upload.bin\"\r\nContent-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let mut response = self
            .client
            .post(format!("{}/graphql", self.base))
            .insert_header(("Authorization", format!("Bearer {token}")))
            .insert_header((
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            ))
            .send_body(body)
            .await
            .expect("upload");
        response
            .json::<Value>()
            .limit(16 << 20)
            .await
            .expect("JSON body")
    }

    /// GETs a path and returns the status and body text.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let mut response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request");
        let body = response.body().limit(16 << 20).await.expect("body");
        (
            response.status().as_u16(),
            String::from_utf8_lossy(&body).into_owned(),
        )
    }

    /// Registers `name` (password `password-<name>`) and returns (token, user id).
    pub async fn register(&self, name: &str) -> (String, String) {
        let data = self
            .ok(
                None,
                "mutation($input: RegisterInput!) { register(input: $input) { token user { id } } }",
                json!({ "input": {
                    "username": name,
                    "email": format!("{name}@example.com"),
                    "password": format!("password-{name}"),
                }}),
            )
            .await;
        (
            data["register"]["token"]
                .as_str()
                .expect("token")
                .to_owned(),
            data["register"]["user"]["id"]
                .as_str()
                .expect("id")
                .to_owned(),
        )
    }

    /// Registers `name` (password `password-<name>`) as a [`TestUser`].
    pub async fn user(&self, name: &str) -> TestUser<'_> {
        let (token, id) = self.register(name).await;
        TestUser {
            app: self,
            name: name.to_owned(),
            token,
            id,
        }
    }

    /// SQL statements the server (and this test's own `db` handle) have run so far.
    pub fn statements(&self) -> usize {
        self.statements.load(Ordering::SeqCst)
    }

    /// Statements the server's SQLite readers ran (`confab::db::direct`); None without them.
    pub fn sqlite_reads(&self) -> Option<u64> {
        self.sqlite_readers
            .as_ref()
            .map(|readers| readers.statements())
    }

    /// Creates a group room as `token` with `members` (user ids); returns the room id.
    pub async fn create_room(&self, token: &str, name: &str, members: &[&str]) -> String {
        let data = self
            .ok(
                Some(token),
                "mutation($input: CreateRoomInput!) { createRoom(input: $input) { id } }",
                json!({ "input": { "name": name, "memberIds": members } }),
            )
            .await;
        data["createRoom"]["id"]
            .as_str()
            .expect("room id")
            .to_owned()
    }

    /// Sends `body` to `room` as `token`; returns the message id.
    pub async fn send(&self, token: &str, room: &str, body: &str) -> String {
        let data = self
            .ok(
                Some(token),
                "mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }",
                json!({ "input": { "roomId": room, "body": body } }),
            )
            .await;
        data["sendMessage"]["id"]
            .as_str()
            .expect("message id")
            .to_owned()
    }

    /// Makes `username` a server administrator (no API grants that role).
    pub async fn make_admin(&self, username: &str) {
        self.db
            .execute_unprepared(&format!(
                "UPDATE users SET role = 'admin' WHERE username = '{username}'"
            ))
            .await
            .expect("make admin");
        self.forget_signed_in();
    }

    /// After a test changed users or sessions in SQL, behind the API: the server forgets the
    /// viewers it resolved (as it would by itself within `auth::CACHE_TTL`).
    pub fn forget_signed_in(&self) {
        if let Some(sessions) = &self.sessions {
            sessions.clear();
        }
    }

    /// Takes the server's SQLite writer turn (the lock `state.write_txn()` and
    /// `state.writer()` queue on) until the guard drops.
    pub async fn take_writer_turn(&self) -> tokio::sync::OwnedMutexGuard<()> {
        self.writer
            .clone()
            .expect("an in-process server")
            .lock_owned()
            .await
    }

    /// A message writer beside the server's, on its database and in its SQLite writer turn (a
    /// thread of its own on a SQLite file, as the server's is).
    pub fn message_writer(&self) -> confab::workers::message_writer::MessageWriter {
        let turn = self.writer.clone().expect("an in-process server");
        confab::workers::message_writer::MessageWriter::start(self.db.clone(), turn)
    }

    fn background(&self) -> &Background {
        self.background.as_ref().expect("an in-process server")
    }

    /// Waits until the background work queued by earlier requests is done: every unread
    /// count they caused is published. (Messages themselves are committed before `send`
    /// returns: the message writer answers after its batch commits.)
    pub async fn settle(&self) {
        self.background().unread.flush().await;
    }

    /// Waits until `condition` holds, checking it every few milliseconds; fails the test
    /// after [`WAIT_LIMIT`].
    async fn wait_until(&self, what: &str, condition: impl Fn(&Background) -> bool) {
        let deadline = std::time::Instant::now() + WAIT_LIMIT;
        while !condition(self.background()) {
            assert!(
                std::time::Instant::now() < deadline,
                "waited in vain for {what}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    }

    /// Waits until `room`'s events have `n` subscribers on this server (a `roomEvents`
    /// subscription is registered some time after the socket sent it).
    pub async fn wait_for_room_subscribers(&self, room: &str, n: usize) {
        let topic = confab::realtime::Topic::Room(room.parse().expect("room id"));
        self.wait_until(&format!("{n} subscribers of room {room}"), |b| {
            b.broker.local_subscribers(topic) == n
        })
        .await;
    }

    /// Subscribers of `topic` on this server now.
    pub fn subscribers(&self, topic: confab::realtime::Topic) -> usize {
        self.background().broker.local_subscribers(topic)
    }

    /// Waits until `topic` has `n` subscribers on this server (`callEvents` subscribes to
    /// the room's call topic and, with a session, to the session's).
    pub async fn wait_for_subscribers(&self, topic: confab::realtime::Topic, n: usize) {
        self.wait_until(&format!("{n} subscribers of {}", topic.key()), |b| {
            b.broker.local_subscribers(topic) == n
        })
        .await;
    }

    /// Waits until `user`'s presence has `n` watchers (`presence` subscriptions) here.
    pub async fn wait_for_presence_watchers(&self, user: &str, n: usize) {
        let topic = confab::realtime::Topic::Presence(user.parse().expect("user id"));
        self.wait_until(&format!("{n} watchers of {user}"), |b| {
            b.broker.local_subscribers(topic) == n
        })
        .await;
    }

    /// Waits until `user` has `n` `myEvents` subscriptions open here (registered as a
    /// listener, so unread counts are computed for them; ended ones are given up a moment
    /// after the socket says `complete`).
    pub async fn wait_for_listeners(&self, user: &str, n: usize) {
        let user_id = user.parse().expect("user id");
        self.wait_until(&format!("{n} myEvents subscriptions of {user}"), |b| {
            b.listeners.local_count(user_id) == n
        })
        .await;
    }

    /// Counts the rows of `table`.
    pub async fn count(&self, table: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count")
            .expect("row");
        row.try_get::<i64>("", "n").expect("n")
    }
}

/// A user registered on a test server who signs their own requests:
/// `let ann = app.user("ann").await; ann.ok(QUERY, vars).await`.
pub struct TestUser<'a> {
    pub app: &'a TestApp,
    #[allow(dead_code)]
    pub name: String,
    pub token: String,
    pub id: String,
}

// The helpers mirror `TestApp`'s; not every suite uses each of them.
#[allow(dead_code)]
impl TestUser<'_> {
    /// [`TestApp::gql`] as this user.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        self.app.gql(Some(&self.token), query, variables).await
    }

    /// [`TestApp::ok`] as this user: fails the test on any error; returns `data`.
    pub async fn ok(&self, query: &str, variables: Value) -> Value {
        self.app.ok(Some(&self.token), query, variables).await
    }

    /// [`TestApp::create_room`] as this user, with `members`.
    pub async fn create_room(&self, name: &str, members: &[&TestUser<'_>]) -> String {
        let ids: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
        self.app.create_room(&self.token, name, &ids).await
    }

    /// [`TestApp::send`] as this user; returns the message id.
    pub async fn send(&self, room: &str, body: &str) -> String {
        self.app.send(&self.token, room, body).await
    }
}

/// The first error of a response: (code, message, field).
/// Sends `request` (with `body` as JSON, if any) as `token` with extra `headers`: (status,
/// headers, raw body).
async fn raw(
    mut request: awc::ClientRequest,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> (u16, awc::http::header::HeaderMap, Vec<u8>) {
    if let Some(token) = token {
        request = request.insert_header(("Authorization", format!("Bearer {token}")));
    }
    for (name, value) in headers {
        request = request.insert_header((*name, *value));
    }
    let mut response = match body {
        Some(body) => request.send_json(body).await,
        None => request.send().await,
    }
    .expect("request");
    let body = response.body().limit(32 << 20).await.expect("body");
    (
        response.status().as_u16(),
        response.headers().clone(),
        body.to_vec(),
    )
}

pub fn first_error(body: &Value) -> (String, String, Option<String>) {
    let error = &body["errors"][0];
    assert!(!error.is_null(), "expected an error, got {body}");
    (
        error["extensions"]["code"]
            .as_str()
            .unwrap_or("<none>")
            .to_owned(),
        error["message"].as_str().unwrap_or_default().to_owned(),
        error["extensions"]["field"].as_str().map(str::to_owned),
    )
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("address")
        .port()
}

/// A `confab serve` child process on a free port; killed when dropped.
pub struct ServerProcess {
    pub base: String,
    pub child: std::process::Child,
}

impl ServerProcess {
    /// Starts the real binary with `env` and waits until `/readyz` answers.
    pub async fn start(env: &[(&str, &str)]) -> Self {
        Self::launch(env!("CARGO_BIN_EXE_confab"), free_port(), env).await
    }

    /// Starts `binary` (this release's or another's) on `port` with `env`, and waits until
    /// `/readyz` answers.
    pub async fn launch(binary: &str, port: u16, env: &[(&str, &str)]) -> Self {
        let mut command = std::process::Command::new(binary);
        command
            .arg("serve")
            .env("CONFAB_BIND", format!("127.0.0.1:{port}"))
            .env("CONFAB_WORKERS", "1")
            .env("RUST_LOG", "warn")
            // No balancer to wait for unless the test sets one (tests/it/balancer.rs).
            .env("CONFAB_SHUTDOWN_DRAIN_SECS", "0")
            // Every process test registers from 127.0.0.1, and with Redis the per-address
            // limits are shared by all of them at once: as in-process servers, high unless
            // the test sets its own.
            .env("CONFAB_RATE_REGISTER_PER_MINUTE", "10000")
            .env("CONFAB_RATE_LOGIN_PER_MINUTE", "10000")
            .stdout(std::process::Stdio::null());
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().expect("spawn confab");
        let server = Self {
            base: format!("http://127.0.0.1:{port}"),
            child,
        };
        let client = awc::Client::default();
        for _ in 0..150 {
            if let Ok(response) = client.get(format!("{}/readyz", server.base)).send().await
                && response.status().is_success()
            {
                return server;
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("confab did not become ready on port {port}");
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.base
            .rsplit_once(':')
            .and_then(|(_, port)| port.parse().ok())
            .expect("http://127.0.0.1:port")
    }

    /// Sends SIGTERM and waits (at most `within`) for a clean exit; returns how long it took.
    pub fn terminate(&mut self, within: std::time::Duration) -> std::time::Duration {
        let started = std::time::Instant::now();
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(killed.success());
        while started.elapsed() < within {
            if let Some(status) = self.child.try_wait().expect("wait for confab") {
                assert!(status.success(), "exit status {status}");
                return started.elapsed();
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("confab did not exit within {within:?} of SIGTERM");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Redis URL for tests, or None to skip (a failure under CI).
pub fn redis_url() -> Option<String> {
    required_env("CONFAB_TEST_REDIS_URL", "the Redis suite")
}

/// The value of one series in Prometheus text: `confab_event_listeners`, or with labels as the
/// exporter writes them, `confab_broker_subscribers{topic="room"}`. None when it is absent.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        line.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

impl TestApp {
    /// One series of this server's `/metrics` (see [`metric`]).
    pub async fn metric(&self, series: &str) -> Option<f64> {
        let (status, text) = self.get("/metrics").await;
        assert_eq!(status, 200, "/metrics: {text}");
        metric(&text, series)
    }

    /// Waits until `/metrics` shows `series` at `value`; fails the test after [`WAIT_LIMIT`].
    /// For servers in other processes, which the in-process `wait_for_*` hooks cannot see
    /// (in-process servers share one metrics recorder, so their gauges are not theirs alone).
    pub async fn wait_for_metric(&self, series: &str, value: f64) {
        let deadline = std::time::Instant::now() + WAIT_LIMIT;
        loop {
            let seen = self.metric(series).await;
            if seen == Some(value) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "waited in vain for {series} = {value} (last seen {seen:?})"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}
