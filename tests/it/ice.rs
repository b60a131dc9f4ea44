//! `iceServers`: STUN and TURN URLs from the settings, TURN ones with credentials made the way
//! coturn's `use-auth-secret` checks them. The credentials are recomputed here with a
//! hand-written HMAC, then tried on a real coturn (Debian's `coturn` package): its own client
//! allocates a relay with them, and fails with a tampered or an expired one.

use std::io::Read as _;
use std::net::{TcpListener, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use confab::config::Config;
use serde_json::json;
use sha1::{Digest as _, Sha1};

use crate::util::{TestApp, first_error};

const ICE: &str = "{ iceServers { urls username credential expiresAt } }";
const SECRET: &str = "ice-test-secret";

/// base64(HMAC-SHA1(secret, username)), with HMAC written out by its definition (RFC 2104) so
/// that the test does not check Confab's HMAC with the library Confab uses.
fn turn_password(secret: &str, username: &str) -> String {
    STANDARD.encode(hmac_sha1(secret.as_bytes(), username.as_bytes()))
}

fn hmac_sha1(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut key = key.to_vec();
    if key.len() > 64 {
        key = Sha1::digest(&key).to_vec();
    }
    key.resize(64, 0);
    let pad = |byte: u8| key.iter().map(|k| k ^ byte).collect::<Vec<u8>>();
    let inner = Sha1::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha1::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

#[test]
fn the_hand_written_hmac_is_hmac() {
    // RFC 2202, HMAC-SHA1 test cases 2 and 6 (a key longer than the block).
    let hmac = |key: &[u8], message: &str| hex::encode(hmac_sha1(key, message.as_bytes()));
    assert_eq!(
        hmac(b"Jefe", "what do ya want for nothing?"),
        "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
    );
    assert_eq!(
        hmac(
            &[0xaa; 80],
            "Test Using Larger Than Block-Size Key - Hash Key First"
        ),
        "aa4ae5e15272d00e95705637ce8a3b55ed402112"
    );
}

fn with_ice(urls: &[&str], secret: Option<&str>, ttl: u64) -> impl FnOnce(&mut Config) {
    let urls: Vec<String> = urls.iter().map(|u| (*u).to_owned()).collect();
    let secret = secret.map(str::to_owned);
    move |config: &mut Config| {
        config.calls.ice_urls = urls;
        config.calls.turn_secret = secret;
        config.calls.turn_credential_ttl_secs = ttl;
    }
}

const URLS: [&str; 3] = [
    "stun:turn.example.com:3478",
    "turn:turn.example.com:3478?transport=udp",
    "turns:turn.example.com:5349?transport=tcp",
];

/// Anonymous callers are refused; a signed-in one gets the STUN URLs in one entry and the TURN
/// URLs with one credential in another, made for them, expiring after the TTL.
async fn credentials_as_configured(app: &TestApp) {
    let anonymous = app.gql(None, ICE, json!({})).await;
    assert_eq!(first_error(&anonymous).0, "UNAUTHENTICATED", "{anonymous}");

    let ann = app.user("ann").await;
    let before = Utc::now().timestamp();
    let servers = ann.ok(ICE, json!({})).await["iceServers"].clone();
    let after = Utc::now().timestamp();
    assert_eq!(
        servers[0],
        json!({ "urls": [URLS[0]], "username": null, "credential": null, "expiresAt": null })
    );
    let turn = &servers[1];
    assert_eq!(turn["urls"], json!([URLS[1], URLS[2]]));
    assert_eq!(servers.as_array().unwrap().len(), 2);

    let username = turn["username"].as_str().unwrap();
    let (expiry, user) = username.split_once(':').unwrap();
    assert_eq!(user, ann.id);
    let expiry: i64 = expiry.parse().unwrap();
    assert!(
        (before + 600..=after + 600).contains(&expiry),
        "expiry {expiry} not now + 600 s ({before}..{after})"
    );
    let expires_at: DateTime<Utc> = turn["expiresAt"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires_at.timestamp(), expiry);
    assert_eq!(
        turn["credential"].as_str().unwrap(),
        turn_password(SECRET, username)
    );

    // Another user's credential names them and is theirs alone.
    let bob = app.user("bob").await;
    let theirs = bob.ok(ICE, json!({})).await["iceServers"][1].clone();
    assert!(theirs["username"].as_str().unwrap().ends_with(&bob.id));
    assert_ne!(theirs["credential"], turn["credential"]);
}

#[actix_web::test]
async fn credentials_sqlite() {
    let app = TestApp::sqlite_with(with_ice(&URLS, Some(SECRET), 600)).await;
    credentials_as_configured(&app).await;
    app.stop().await;
}

#[actix_web::test]
async fn credentials_postgres() {
    if let Some(app) = TestApp::postgres_with(with_ice(&URLS, Some(SECRET), 600)).await {
        credentials_as_configured(&app).await;
        app.stop().await;
    }
}

/// With no URLs configured the list is empty; a `Config` built in code with TURN URLs but no
/// secret (the command line refuses that) hands out only the STUN ones.
#[actix_web::test]
async fn nothing_configured_and_no_secret() {
    let app = TestApp::sqlite().await;
    let ann = app.user("ann").await;
    assert_eq!(ann.ok(ICE, json!({})).await["iceServers"], json!([]));
    app.stop().await;

    let app = TestApp::sqlite_with(with_ice(&URLS, None, 600)).await;
    let ann = app.user("ann").await;
    let servers = ann.ok(ICE, json!({})).await["iceServers"].clone();
    assert_eq!(
        servers,
        json!([{ "urls": [URLS[0]], "username": null, "credential": null, "expiresAt": null }])
    );
    app.stop().await;
}

/// The binary refuses a URL of an unknown scheme and TURN URLs without a secret, and never
/// prints the secret.
#[test]
fn settings_are_checked_and_the_secret_hidden() {
    let confab = |env: &[(&str, &str)]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_confab"));
        command.arg("config");
        for (key, _) in std::env::vars() {
            if key.starts_with("CONFAB_") {
                command.env_remove(key);
            }
        }
        command.envs(env.iter().copied());
        let output = command.output().expect("run confab config");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned()
                + &String::from_utf8_lossy(&output.stderr),
        )
    };
    let (ok, text) = confab(&[("CONFAB_ICE_URLS", "stun:h:3478,http://h")]);
    assert!(!ok && text.contains("unknown scheme `http:`"), "{text}");
    let (ok, text) = confab(&[("CONFAB_ICE_URLS", "stun:h:3478,turn:h:3478")]);
    assert!(!ok && text.contains("--turn-secret"), "{text}");
    let (ok, text) = confab(&[
        ("CONFAB_ICE_URLS", "stun:h:3478, turn:h:3478?transport=udp"),
        ("CONFAB_TURN_SECRET", "do-not-print-me"),
    ]);
    assert!(ok, "{text}");
    assert!(text.contains("turn:h:3478?transport=udp"), "{text}");
    assert!(!text.contains("do-not-print-me"), "{text}");
}

/// Whether coturn's programs are installed; under CI (which installs them) they must be.
fn coturn_installed() -> bool {
    let found = ["turnserver", "turnutils_uclient"].iter().all(|program| {
        Command::new(program)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    });
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the coturn test: install the coturn package"
        );
        eprintln!(
            "turnserver or turnutils_uclient not installed (Debian: apt-get install coturn): \
             skipping the real-TURN test"
        );
    }
    found
}

/// A `turnserver` on 127.0.0.1 with `use-auth-secret`; killed when dropped.
struct Coturn {
    port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

impl Coturn {
    fn start(secret: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("turnserver.log")).expect("log file");
        let child = Command::new("turnserver")
            .arg("-n") // no configuration file: only these flags
            .args(["--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1"])
            .arg(format!("--listening-port={port}"))
            .arg("--use-auth-secret")
            .arg(format!("--static-auth-secret={secret}"))
            .arg("--realm=confab.test")
            // turnutils_uclient's peers are on 127.0.0.1 too.
            .arg("--allow-loopback-peers")
            .args(["--no-tls", "--no-dtls", "--no-cli", "--no-rfc5780"])
            .args(["--log-file=stdout", "--simple-log"])
            .arg(format!("--userdb={}", dir.path().join("turndb").display()))
            .arg(format!(
                "--pidfile={}",
                dir.path().join("turn.pid").display()
            ))
            .stdout(log)
            .stderr(Stdio::null())
            .spawn()
            .expect("start turnserver");
        let coturn = Self { port, child, dir };
        coturn.wait_until_it_answers();
        coturn
    }

    /// Sends STUN Binding requests until one is answered (RFC 5389: a 20-byte header).
    fn wait_until_it_answers(&self) {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("udp socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let mut request = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
        request.extend_from_slice(b"confab-ice-1");
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut answer = [0u8; 512];
        while Instant::now() < deadline {
            let _ = socket.send_to(&request, ("127.0.0.1", self.port));
            if let Ok((n, _)) = socket.recv_from(&mut answer)
                && n >= 20
                && answer[..2] == [0x01, 0x01]
            {
                return;
            }
        }
        panic!(
            "turnserver did not answer on port {}:\n{}",
            self.port,
            self.log()
        );
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("turnserver.log")).unwrap_or_default()
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free on 127.0.0.1 for both UDP and TCP (turnserver listens on both).
fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("udp socket");
        let port = udp.local_addr().expect("address").port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// What one run of `turnutils_uclient` did.
struct Relay {
    success: bool,
    output: String,
}

impl Relay {
    /// Messages that came back through the relay (the client talks to itself through two
    /// allocations, `-y`), from its summary line `start_mclient: tot_send_msgs=N, tot_recv_msgs=M`.
    fn received(&self) -> u64 {
        self.output
            .lines()
            .filter_map(|line| line.split("tot_recv_msgs=").nth(1))
            .filter_map(|rest| {
                rest.split(|c: char| !c.is_ascii_digit())
                    .next()?
                    .parse()
                    .ok()
            })
            .max()
            .unwrap_or(0)
    }

    fn refused(&self) -> bool {
        !self.success && self.output.contains("Cannot complete Allocation")
    }
}

/// coturn's own test client: allocates relays on `port` with the long-term credential
/// (`username`, `credential`) and sends a message through them, over UDP.
fn uclient(port: u16, username: &str, credential: &str) -> Relay {
    let output_file = tempfile::tempfile().expect("temp file");
    let mut child = Command::new("turnutils_uclient")
        .args(["-y", "-c", "-n", "1", "-m", "1", "-l", "16"])
        .args(["-p", &port.to_string(), "-u", username, "-w", credential])
        .arg("127.0.0.1")
        .stdout(output_file.try_clone().expect("clone"))
        .stderr(output_file.try_clone().expect("clone"))
        .spawn()
        .expect("start turnutils_uclient");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for turnutils_uclient") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("turnutils_uclient ran for more than 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut output = String::new();
    let mut file = output_file;
    std::io::Seek::rewind(&mut file).expect("rewind");
    file.read_to_string(&mut output).expect("read output");
    Relay {
        success: status.success(),
        output,
    }
}

async fn uclient_async(port: u16, username: String, credential: String) -> Relay {
    tokio::task::spawn_blocking(move || uclient(port, &username, &credential))
        .await
        .expect("turnutils_uclient thread")
}

/// The credentials `iceServers` hands out allocate a relay on a real coturn configured with the
/// same secret; a tampered credential, a username with a later expiry and an expired (correctly
/// signed) username are all refused.
#[actix_web::test]
async fn credentials_work_on_a_real_coturn() {
    if !coturn_installed() {
        return;
    }
    let coturn = Coturn::start(SECRET);
    let url = format!("turn:127.0.0.1:{}?transport=udp", coturn.port);
    let app = TestApp::sqlite_with(with_ice(&[url.as_str()], Some(SECRET), 3600)).await;
    let ann = app.user("ann").await;
    let servers = ann.ok(ICE, json!({})).await["iceServers"].clone();
    app.stop().await;
    assert_eq!(servers[0]["urls"], json!([url]));
    let port: u16 = servers[0]["urls"][0]
        .as_str()
        .and_then(|url| url.strip_prefix("turn:127.0.0.1:"))
        .and_then(|rest| rest.split('?').next())
        .and_then(|port| port.parse().ok())
        .expect("the configured port");
    let username = servers[0]["username"].as_str().unwrap().to_owned();
    let credential = servers[0]["credential"].as_str().unwrap().to_owned();

    let relay = uclient_async(port, username.clone(), credential.clone()).await;
    assert!(
        relay.success && relay.received() > 0,
        "coturn refused Confab's credential or relayed nothing:\n{}\n--- turnserver:\n{}",
        relay.output,
        coturn.log()
    );

    let mut tampered = STANDARD.decode(&credential).unwrap();
    tampered[0] ^= 1;
    let relay = uclient_async(port, username.clone(), STANDARD.encode(tampered)).await;
    assert!(
        relay.refused(),
        "a tampered credential worked:\n{}",
        relay.output
    );

    let (expiry, user) = username.split_once(':').unwrap();
    let later = format!("{}:{user}", expiry.parse::<i64>().unwrap() + 3600);
    let relay = uclient_async(port, later, credential.clone()).await;
    assert!(relay.refused(), "a longer expiry worked:\n{}", relay.output);

    let expired = format!("{}:{user}", Utc::now().timestamp() - 60);
    let signed = turn_password(SECRET, &expired);
    let relay = uclient_async(port, expired.clone(), signed).await;
    assert!(
        relay.refused(),
        "an expired credential worked:\n{}",
        relay.output
    );
    // coturn does not derive a password for an expired username at all.
    assert!(
        coturn
            .log()
            .contains(&format!("Cannot find credentials of user <{expired}>")),
        "coturn's log does not say it refused the expired username:\n{}",
        coturn.log()
    );
}
