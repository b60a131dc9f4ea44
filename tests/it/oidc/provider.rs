//! The local OpenID provider (tests/oidc/provider.mjs, the `oidc-provider` npm package) and a
//! cookie-keeping HTTP client that signs in at it the way a browser does: its login form,
//! then its consent form, then the redirect back with `code` and `state`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The redirect URI the tests register at the provider and allow in Confab. Nothing listens
/// there: the test reads the redirect's `Location` instead of following it.
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/oidc/callback";

/// Whether `npm ci` has run in tests/oidc; under CI (whose .ci/run runs it) it must have.
pub fn installed() -> bool {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc/node_modules/oidc-provider");
    let found = dir.is_dir()
        && Command::new("node")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the OpenID Connect tests: node and `npm ci` in tests/oidc are needed"
        );
        eprintln!("node or tests/oidc/node_modules missing (cd tests/oidc && npm ci): skipping");
    }
    found
}

/// How long one start may stay silent, and how many starts there are before the test fails.
const START_WAIT: Duration = Duration::from_secs(45);
const START_ATTEMPTS: u32 = 3;

/// A running provider; killed when dropped.
pub struct Provider {
    pub issuer: String,
    child: Child,
}

impl Provider {
    /// Starts the provider on a free port for client `confab`/`secret` and [`REDIRECT_URI`].
    ///
    /// It normally answers in under a second. Twice, under the full parallel suite, a start
    /// printed nothing for over 120 s while the same test on the other backend, and every
    /// later start, went through; so a start silent for [`START_WAIT`] is killed, its stderr
    /// shown, and tried again, up to [`START_ATTEMPTS`] times.
    pub fn start() -> Self {
        let mut failures = Vec::new();
        for attempt in 1..=START_ATTEMPTS {
            match Self::try_start() {
                Ok(provider) => return provider,
                Err(failure) => {
                    eprintln!("OpenID provider start {attempt} of {START_ATTEMPTS}: {failure}");
                    failures.push(failure);
                }
            }
        }
        panic!("the OpenID provider did not start: {failures:#?}")
    }

    fn try_start() -> Result<Self, String> {
        // Its stderr, shown when it does not start.
        let log = tempfile::NamedTempFile::new().expect("provider log");
        let mut child = Command::new("node")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/oidc/provider.mjs"
            ))
            .args([
                "--port",
                "0",
                "--client-id",
                "confab",
                "--client-secret",
                "secret",
            ])
            .args(["--redirect-uri", REDIRECT_URI])
            .stdout(Stdio::piped())
            .stderr(log.reopen().expect("provider log"))
            .spawn()
            .expect("start node tests/oidc/provider.mjs");
        let stdout = child.stdout.take().expect("provider stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            // Keep reading: the provider logs to stdout, and a closed pipe would kill it.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = rx.recv_timeout(START_WAIT);
        let issuer = line
            .as_deref()
            .ok()
            .and_then(|line| line.trim().strip_prefix("ready "))
            .map(str::to_owned);
        match issuer {
            Some(issuer) => Ok(Self { issuer, child }),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                let stderr = std::fs::read_to_string(log.path()).unwrap_or_default();
                Err(format!("first line {line:?}; stderr: {stderr}"))
            }
        }
    }

    /// The `[[oidc]]` table for this provider, named `local`.
    pub fn config_toml(&self) -> String {
        format!(
            "[[oidc]]\nname = \"local\"\ndisplay-name = \"Local ID\"\nissuer = \"{}\"\n\
             client-id = \"confab\"\nclient-secret = \"secret\"\nredirect-uris = [\"{REDIRECT_URI}\"]\n",
            self.issuer
        )
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the provider's redirect carried.
pub struct Callback {
    pub code: String,
    pub state: String,
}

/// A browser at the provider: follows redirects by hand and keeps the provider's cookies.
pub struct Browser {
    client: awc::Client,
    cookies: BTreeMap<String, String>,
}

impl Browser {
    pub fn new() -> Self {
        Self {
            client: awc::Client::builder().disable_redirects().finish(),
            cookies: BTreeMap::new(),
        }
    }

    /// Opens `authorization_url`, signs in as `login` (any password), consents, and returns
    /// the `code` and `state` of the redirect to [`REDIRECT_URI`].
    pub async fn sign_in(&mut self, authorization_url: &str, login: &str) -> Callback {
        let mut url = url::Url::parse(authorization_url).expect("authorization URL");
        let mut form: Option<Vec<(&str, &str)>> = None;
        for _ in 0..20 {
            let (status, location, body) = self.request(&url, form.take()).await;
            if let Some(location) = location {
                let next = url.join(&location).expect("redirect location");
                if next.as_str().starts_with(REDIRECT_URI) {
                    let query: BTreeMap<String, String> = next.query_pairs().into_owned().collect();
                    assert!(!query.contains_key("error"), "provider error: {next}");
                    return Callback {
                        code: query.get("code").expect("code").clone(),
                        state: query.get("state").expect("state").clone(),
                    };
                }
                url = next;
                continue;
            }
            assert_eq!(status, 200, "provider page {url}: {body}");
            // The login form, then the consent form: both post `prompt` to the same action.
            let action = between(&body, "action=\"", "\"").expect("a form on the page");
            url = url
                .join(&action.replace("&amp;", "&"))
                .expect("form action");
            form = Some(if body.contains("name=\"prompt\" value=\"login\"") {
                vec![("prompt", "login"), ("login", login), ("password", "any")]
            } else {
                vec![("prompt", "consent")]
            });
        }
        panic!("no redirect back from the provider");
    }

    async fn request(
        &mut self,
        url: &url::Url,
        form: Option<Vec<(&str, &str)>>,
    ) -> (u16, Option<String>, String) {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let request = match form {
            Some(_) => self.client.post(url.as_str()),
            None => self.client.get(url.as_str()),
        }
        .insert_header(("Cookie", cookie));
        let mut response = match form {
            Some(form) => request.send_form(&form).await,
            None => request.send().await,
        }
        .unwrap_or_else(|err| panic!("provider request {url}: {err:?}"));
        for value in response.headers().get_all("set-cookie") {
            let pair = value
                .to_str()
                .unwrap_or_default()
                .split(';')
                .next()
                .unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() {
                    self.cookies.remove(name.trim());
                } else {
                    self.cookies
                        .insert(name.trim().to_owned(), value.to_owned());
                }
            }
        }
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.body().limit(1 << 20).await.expect("provider body");
        (
            response.status().as_u16(),
            location,
            String::from_utf8_lossy(&body).into_owned(),
        )
    }
}

fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(text[from..to].to_owned())
}
