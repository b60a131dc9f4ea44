//! Drives Confab's real HTTP endpoint in-process with one request per input: a JSON POST, a GET
//! with a query string, a raw POST body of any content type, or a GraphQL multipart upload, each
//! anonymous or with a signed-in user's token. The properties: no panic, no abort (a stack
//! overflow aborts, as it would abort the server), an answer that is JSON with `data` or
//! `errors` (or a non-JSON 405, 406, 413 or 415), never a 5xx, and every error carrying
//! `extensions.code`, none of them `INTERNAL`: client input never produces INTERNAL.
//!
//! # Input format
//!
//! A header line, then fields separated by NUL bytes (seeds in `seeds/graphql/` are readable):
//!
//! ```text
//! <mode><flags>\n<field 0>\0<field 1>\0...
//! ```
//!
//! Mode (the header's first byte; any other byte picks one by its value modulo 4):
//! - `J`: `POST` JSON `{"query": field 0, "variables": field 1, "operationName": field 2,
//!   "extensions": field 3}`; the query and operation name are JSON strings, variables and
//!   extensions are spliced in raw (so they may be malformed or nested past any parser limit).
//! - `G`: `GET /graphql?query=..&variables=..&operationName=..&extensions=..` (percent-encoded).
//! - `R`: `POST` with content type field 0 (none when empty) and the other fields as the body.
//! - `M`: `POST multipart/form-data`: field 0 is `operations`, field 1 is `map`, and the rest
//!   holds the file parts, each `file:name\ncontent` and separated by `\0file:` (files may hold
//!   NUL bytes); a part without a newline is named by its index.
//!
//! Flags (the rest of the header, any order): `u` a user's bearer token, `A` an admin's, `x` a
//! token that matches no session, `a` `Accept: application/json`, `g` `Accept:
//! application/graphql-response+json`, `h` `Accept: text/html`.
//!
//! # The server
//!
//! One per process, on a thread with the stack of an actix worker (2 MiB, Rust's default for
//! spawned threads): a SQLite database in a temporary directory, migrated and seeded with the
//! demo data (`confab seed --demo`), the app built from `confab::http::routes` with the schema
//! and state `confab::http::server` gives it (the server also wraps it in its security-headers
//! middleware, private to `confab::http`, which changes no body). Mutations run; after `INPUTS_PER_DATABASE` inputs, or
//! when a token cannot be renewed (the fuzzer signed the user out or changed a password), the
//! database is thrown away and a fresh one made, so it never grows without bound.
//!
//! `RUST_LOG` (e.g. `RUST_LOG=error`) prints the server's logs: an INTERNAL error's cause is
//! logged there, not answered. `CONFAB_FUZZ_PRINT=1` prints each answer's status and start.
#![no_main]

use std::sync::{OnceLock, mpsc};

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::{App, test, web};
use confab::config::Config;
use confab::state::AppState;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// An actix worker is a thread spawned without a stack size: Rust's default, 2 MiB.
const WORKER_STACK_BYTES: usize = 2 * 1024 * 1024;

/// The server thread's stack: [`WORKER_STACK_BYTES`], or `CONFAB_FUZZ_STACK_KIB` KiB (a smaller
/// stack shows what an overflow looks like, or finds the recursion nearest to the limit).
fn worker_stack_bytes() -> usize {
    std::env::var("CONFAB_FUZZ_STACK_KIB")
        .ok()
        .and_then(|kib| kib.parse::<usize>().ok())
        .map_or(WORKER_STACK_BYTES, |kib| kib * 1024)
}

/// Inputs served by one database before a fresh one replaces it.
const INPUTS_PER_DATABASE: usize = 20_000;

/// Statuses that may answer without a JSON body: not GraphQL requests at all.
const NON_JSON_STATUSES: [u16; 4] = [405, 406, 413, 415];

const BOUNDARY: &str = "confab-fuzz-boundary";

/// Starts a multipart input's file part, and separates the next one.
const FILE_MARK: &[u8] = b"file:";
const FILE_SEPARATOR: &[u8] = b"\0file:";

/// A token that names no session.
const UNKNOWN_TOKEN: &str = "cfb_0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Json,
    Get,
    Raw,
    Multipart,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Token {
    None,
    User,
    Admin,
    Unknown,
}

/// One input, decoded.
#[derive(Debug)]
struct Request {
    mode: Mode,
    token: Token,
    accept: Option<&'static str>,
    fields: Vec<Vec<u8>>,
    /// The multipart file parts.
    files: Vec<Vec<u8>>,
}

impl Request {
    fn decode(data: &[u8]) -> Self {
        let (header, rest) = match data.iter().position(|&b| b == b'\n') {
            Some(at) => (&data[..at], &data[at + 1..]),
            None => (data, &[][..]),
        };
        let mode = match header.first() {
            Some(b'J') | None => Mode::Json,
            Some(b'G') => Mode::Get,
            Some(b'R') => Mode::Raw,
            Some(b'M') => Mode::Multipart,
            Some(other) => [Mode::Json, Mode::Get, Mode::Raw, Mode::Multipart][*other as usize % 4],
        };
        let flags = header.get(1..).unwrap_or_default();
        let token = if flags.contains(&b'A') {
            Token::Admin
        } else if flags.contains(&b'u') {
            Token::User
        } else if flags.contains(&b'x') {
            Token::Unknown
        } else {
            Token::None
        };
        let accept = if flags.contains(&b'g') {
            Some("application/graphql-response+json")
        } else if flags.contains(&b'a') {
            Some("application/json")
        } else if flags.contains(&b'h') {
            Some("text/html")
        } else {
            None
        };
        let fields = rest.split(|&b| b == 0).map(<[u8]>::to_vec).collect();
        let mut files = Vec::new();
        if mode == Mode::Multipart {
            let mut parts = rest.splitn(3, |&b| b == 0);
            let after_map = parts.nth(2).unwrap_or_default();
            let mut remaining = after_map.strip_prefix(FILE_MARK).unwrap_or(after_map);
            while !remaining.is_empty() {
                let (file, next) = match find(remaining, FILE_SEPARATOR) {
                    Some(at) => (&remaining[..at], &remaining[at + FILE_SEPARATOR.len()..]),
                    None => (remaining, &[][..]),
                };
                files.push(file.to_vec());
                remaining = next;
            }
        }
        Self {
            mode,
            token,
            accept,
            fields,
            files,
        }
    }

    fn field(&self, index: usize) -> Option<&[u8]> {
        self.fields
            .get(index)
            .map(Vec::as_slice)
            .filter(|f| !f.is_empty())
    }

    fn text(&self, index: usize) -> Option<String> {
        self.field(index)
            .map(|f| String::from_utf8_lossy(f).into_owned())
    }

    /// The HTTP request, with `bearer` as its token when it asks for one; None for a GET
    /// whose URI is past what HTTP allows here (64 KiB): no client can send it.
    fn build(&self, bearer: Option<&str>) -> Option<actix_http::Request> {
        let mut req = match self.mode {
            Mode::Json => {
                let mut body = Vec::from(&b"{\"query\":"[..]);
                body.extend(json_string(&self.text(0).unwrap_or_default()));
                if let Some(variables) = self.field(1) {
                    body.extend_from_slice(b",\"variables\":");
                    body.extend_from_slice(variables);
                }
                if let Some(name) = self.text(2) {
                    body.extend_from_slice(b",\"operationName\":");
                    body.extend(json_string(&name));
                }
                if let Some(extensions) = self.field(3) {
                    body.extend_from_slice(b",\"extensions\":");
                    body.extend_from_slice(extensions);
                }
                body.push(b'}');
                test::TestRequest::post()
                    .uri("/graphql")
                    .insert_header((header::CONTENT_TYPE, "application/json"))
                    .set_payload(body)
            }
            Mode::Get => {
                let mut query = String::from("query=");
                query.push_str(&percent_encode(self.field(0).unwrap_or_default()));
                for (index, name) in [(1, "variables"), (2, "operationName"), (3, "extensions")] {
                    if let Some(value) = self.field(index) {
                        query.push('&');
                        query.push_str(name);
                        query.push('=');
                        query.push_str(&percent_encode(value));
                    }
                }
                let uri = format!("/graphql?{query}");
                uri.parse::<actix_web::http::Uri>().ok()?;
                test::TestRequest::get().uri(&uri)
            }
            Mode::Raw => {
                let body = self.fields.get(1..).unwrap_or_default().join(&0);
                let req = test::TestRequest::post().uri("/graphql").set_payload(body);
                match self
                    .field(0)
                    .and_then(|ct| header::HeaderValue::from_bytes(ct).ok())
                {
                    Some(content_type) => req.insert_header((header::CONTENT_TYPE, content_type)),
                    None => req,
                }
            }
            Mode::Multipart => test::TestRequest::post()
                .uri("/graphql")
                .insert_header((
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={BOUNDARY}"),
                ))
                .set_payload(self.multipart()),
        };
        if let Some(accept) = self.accept {
            req = req.insert_header((header::ACCEPT, accept));
        }
        if let Some(token) = bearer {
            req = req.insert_header((header::AUTHORIZATION, format!("Bearer {token}")));
        }
        Some(
            req.peer_addr("127.0.0.1:40000".parse().expect("address"))
                .to_request(),
        )
    }

    /// A multipart body per the GraphQL multipart request spec: operations, map, files.
    fn multipart(&self) -> Vec<u8> {
        const TYPES: [&str; 4] = ["image/png", "image/jpeg", "text/plain", ""];
        let mut body = Vec::new();
        let mut part = |disposition: String, content_type: &str, content: &[u8]| {
            body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
            body.extend_from_slice(format!("Content-Disposition: {disposition}\r\n").as_bytes());
            if !content_type.is_empty() {
                body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
            }
            body.extend_from_slice(b"\r\n");
            body.extend_from_slice(content);
            body.extend_from_slice(b"\r\n");
        };
        let empty: &[u8] = &[];
        part(
            "form-data; name=\"operations\"".to_owned(),
            "",
            self.fields.first().map_or(empty, Vec::as_slice),
        );
        part(
            "form-data; name=\"map\"".to_owned(),
            "",
            self.fields.get(1).map_or(empty, Vec::as_slice),
        );
        for (index, file) in self.files.iter().enumerate() {
            let (name, content) = match file.iter().position(|&b| b == b'\n') {
                Some(at) => (
                    String::from_utf8_lossy(&file[..at]).into_owned(),
                    &file[at + 1..],
                ),
                None => (index.to_string(), file.as_slice()),
            };
            let name: String = name
                .chars()
                .filter(|c| !c.is_control() && *c != '"')
                .collect();
            part(
                format!("form-data; name=\"{name}\"; filename=\"f{index}.png\""),
                TYPES[index % TYPES.len()],
                content,
            );
        }
        body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        body
    }
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn json_string(text: &str) -> Vec<u8> {
    serde_json::to_vec(text).expect("a string always serialises")
}

fn percent_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What the server answered.
struct Answer {
    status: StatusCode,
    content_type: Option<String>,
    body: Vec<u8>,
}

/// Asserts the properties of an answer (see the module documentation).
fn check(request: &Request, answer: &Answer) {
    let shown = || {
        format!(
            "request {request:?}\nstatus {}, content type {:?}\nbody {}",
            answer.status,
            answer.content_type,
            String::from_utf8_lossy(&answer.body)
        )
    };
    assert!(
        !answer.status.is_server_error(),
        "client input answered a server error\n{}",
        shown()
    );
    let Ok(json) = serde_json::from_slice::<Value>(&answer.body) else {
        assert!(
            NON_JSON_STATUSES.contains(&answer.status.as_u16()),
            "the answer is not JSON\n{}",
            shown()
        );
        return;
    };
    let responses = match json {
        Value::Array(batch) => batch,
        single => vec![single],
    };
    for response in responses {
        let Some(response) = response.as_object() else {
            panic!("an answer that is not an object\n{}", shown());
        };
        assert!(
            response.contains_key("data") || response.contains_key("errors"),
            "an answer with neither data nor errors\n{}",
            shown()
        );
        let Some(errors) = response.get("errors") else {
            continue;
        };
        let Some(errors) = errors.as_array() else {
            panic!("errors that are not a list\n{}", shown());
        };
        for error in errors {
            let code = error
                .pointer("/extensions/code")
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("an error without extensions.code\n{}", shown()));
            assert!(
                code != "INTERNAL",
                "client input produced INTERNAL\n{}",
                shown()
            );
            assert!(
                error.get("message").is_some_and(Value::is_string),
                "an error without a message\n{}",
                shown()
            );
        }
    }
}

/// One input on its way to the server thread, and where its answer goes.
struct Job {
    data: Vec<u8>,
    answer: mpsc::SyncSender<()>,
}

static SERVER: OnceLock<tokio::sync::mpsc::Sender<Job>> = OnceLock::new();

fn server() -> &'static tokio::sync::mpsc::Sender<Job> {
    SERVER.get_or_init(|| {
        if std::env::var_os("RUST_LOG").is_some() {
            tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
                .with_writer(std::io::stderr)
                .init();
        }
        let (jobs, mut queue) = tokio::sync::mpsc::channel::<Job>(1);
        std::thread::Builder::new()
            .name("confab-fuzz-worker".to_owned())
            .stack_size(worker_stack_bytes())
            .spawn(move || {
                report_stack_overflows();
                let mut pending = None;
                loop {
                    let system = actix_web::rt::System::new();
                    pending = system.block_on(serve(&mut queue, pending));
                    if pending.is_none() && queue.is_closed() {
                        return;
                    }
                }
            })
            .expect("spawning the server thread");
        jobs
    })
}

/// Lets a stack overflow on this thread be reported as a crash, with the input saved. The
/// overflow is a SIGSEGV on the stack's guard page; libFuzzer's handler (installed by then)
/// runs on the faulting thread's stack, which is full, unless it runs on an alternate stack.
/// Under AddressSanitizer its own handler already does this; without a sanitizer nothing
/// does (Rust's handler is installed by `main`, which a fuzz target does not have), and the
/// kernel kills the process with no artifact. The only `unsafe` of the target.
#[allow(unsafe_code)]
fn report_stack_overflows() {
    const ALTERNATE_STACK_BYTES: usize = 256 * 1024;
    let stack: &'static mut [u8] = Box::leak(vec![0u8; ALTERNATE_STACK_BYTES].into_boxed_slice());
    // SAFETY: the alternate stack is leaked, so it outlives the thread; the handler is
    // re-registered as it is, with SA_ONSTACK added.
    unsafe {
        let alternate = libc::stack_t {
            ss_sp: stack.as_mut_ptr().cast(),
            ss_flags: 0,
            ss_size: stack.len(),
        };
        assert_eq!(libc::sigaltstack(&alternate, std::ptr::null_mut()), 0);
        for signal in [libc::SIGSEGV, libc::SIGBUS] {
            let mut action: libc::sigaction = std::mem::zeroed();
            assert_eq!(libc::sigaction(signal, std::ptr::null(), &mut action), 0);
            if action.sa_sigaction != libc::SIG_DFL && action.sa_sigaction != libc::SIG_IGN {
                action.sa_flags |= libc::SA_ONSTACK;
                assert_eq!(libc::sigaction(signal, &action, std::ptr::null_mut()), 0);
            }
        }
    }
}

/// A fresh database and app, serving up to `INPUTS_PER_DATABASE` inputs; returns the input
/// it could not serve when a token could not be renewed, for the next database.
async fn serve(
    queue: &mut tokio::sync::mpsc::Receiver<Job>,
    mut pending: Option<Job>,
) -> Option<Job> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("confab.db").display()
    );
    let mut config = Config::for_database(url);
    config.http.workers = Some(1);
    config.blobs.dir = dir.path().join("blobs");
    config.limits.register_per_minute = 100_000;
    config.limits.login_per_minute = 100_000;
    let db = confab::db::connect_and_migrate(&config.database)
        .await
        .expect("migrating the fuzz database");
    confab::seed::demo(&db).await.expect("seeding demo data");
    let state = AppState::new(db.clone(), config).expect("state");
    let schema = confab::graphql::build_schema(state.clone(), None);
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(schema))
            .app_data(web::Data::new(state.for_worker(1)))
            .configure(confab::http::routes),
    )
    .await;
    let mut tokens = [
        sign_in(&app, "bob").await.expect("bob signs in"),
        sign_in(&app, "ann").await.expect("ann signs in"),
    ];
    for _ in 0..INPUTS_PER_DATABASE {
        let job = match pending.take() {
            Some(job) => job,
            None => queue.recv().await?,
        };
        let request = Request::decode(&job.data);
        let bearer = match request.token {
            Token::None => None,
            Token::Unknown => Some(UNKNOWN_TOKEN.to_owned()),
            Token::User | Token::Admin => {
                let (slot, login) = match request.token {
                    Token::Admin => (1, "ann"),
                    _ => (0, "bob"),
                };
                let valid = confab::service::session::resolve_token(&state, &tokens[slot])
                    .await
                    .is_ok_and(|viewer| viewer.is_some());
                if !valid {
                    match sign_in(&app, login).await {
                        Some(token) => tokens[slot] = token,
                        None => {
                            pending = Some(job);
                            break;
                        }
                    }
                }
                Some(tokens[slot].clone())
            }
        };
        let Some(http_request) = request.build(bearer.as_deref()) else {
            let _ = job.answer.send(());
            continue;
        };
        let response = match test::try_call_service(&app, http_request).await {
            Ok(response) => response,
            Err(err) => {
                ServiceResponse::from_err(err, test::TestRequest::default().to_http_request())
            }
        };
        let answer = Answer {
            status: response.status(),
            content_type: response
                .headers()
                .get(header::CONTENT_TYPE)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
            body: actix_web::body::to_bytes(response.into_body())
                .await
                .map_or_else(|_| b"<an unreadable body>".to_vec(), |b| b.to_vec()),
        };
        if std::env::var_os("CONFAB_FUZZ_PRINT").is_some() {
            eprintln!(
                "{:?} {:?}: {} {}",
                request.mode,
                request.token,
                answer.status,
                String::from_utf8_lossy(&answer.body[..answer.body.len().min(300)])
            );
        }
        check(&request, &answer);
        let _ = job.answer.send(());
    }
    drop(app);
    let _ = db.close().await;
    pending
}

/// Signs `login` in with the demo password through the endpoint; None when it cannot (locked
/// out, password changed, account deleted).
async fn sign_in<S>(app: &S, login: &str) -> Option<String>
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let body = serde_json::json!({
        "query": "mutation($l: String!, $p: String!) { login(input: {login: $l, password: $p}) { token } }",
        "variables": { "l": login, "p": confab::seed::DEMO_PASSWORD },
    });
    let req = test::TestRequest::post()
        .uri("/graphql")
        .set_json(body)
        .peer_addr("127.0.0.1:40000".parse().expect("address"))
        .to_request();
    let answer: Value = test::call_and_read_body_json(app, req).await;
    let token = answer
        .pointer("/data/login/token")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if token.is_none() {
        eprintln!("{login} could not sign in: {answer}");
    }
    token
}

fuzz_target!(|data: &[u8]| {
    let (answer, answered) = mpsc::sync_channel(1);
    server()
        .blocking_send(Job {
            data: data.to_vec(),
            answer,
        })
        .expect("the server thread is running");
    answered.recv().expect("the server thread answers");
});
