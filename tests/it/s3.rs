//! Blobs in S3-compatible object storage (`--blob-store s3`), against a real S3 API server:
//! moto (PyPI `moto[server]`) started by each test on a free port, with a bucket of its own.
//! Uploads, downloads, dedup, authorization, ETag/304, presigned redirects, an upload cut off
//! midway, the store going down (STORAGE_UNAVAILABLE, 503, `/readyz`), and export, deleteUpload
//! and maintenance freeing objects. Each case on SQLite and PostgreSQL.

use std::io::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::util::{TestApp, first_error, python_module};

const UPLOAD: &str =
    "mutation($file: Upload!) { uploadBlob(file: $file) { id size mimeType width height url } }";

/// A moto S3 server on a free port with one bucket; killed when dropped.
struct Moto {
    port: u16,
    bucket: String,
    child: Option<Child>,
}

impl Moto {
    async fn start() -> Option<Self> {
        if !python_module("moto.server", "pip install 'moto[server]'") {
            return None;
        }
        let port = crate::util::free_port();
        let mut child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto");
        // Generous: importing moto took longer than 30 s under the full parallel suite on two
        // cores. A moto that exits (its port taken meanwhile) fails at once.
        let deadline = Instant::now() + Duration::from_secs(120);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("moto exited on port {port}: {status}");
            }
            assert!(Instant::now() < deadline, "moto did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let moto = Self {
            port,
            bucket: format!("confab-{}", Uuid::now_v7().simple()),
            child: Some(child),
        };
        let response = awc::Client::default()
            .put(format!("{}/{}", moto.endpoint(), moto.bucket))
            .send()
            .await
            .expect("create the bucket");
        assert_eq!(response.status().as_u16(), 200, "bucket not created");
        Some(moto)
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Points `config` at this bucket.
    fn configure(&self, config: &mut confab::config::Config) {
        config.blobs.backend = confab::config::BlobBackend::S3;
        config.blobs.s3.endpoint = Some(self.endpoint());
        config.blobs.s3.bucket = Some(self.bucket.clone());
        config.blobs.s3.region = Some("us-east-1".to_owned());
        config.blobs.s3.path_style = true;
        config.blobs.s3.access_key_id = Some("confab-test".to_owned());
        config.blobs.s3.secret_access_key = Some("confab-test-secret".to_owned());
    }

    /// The keys in the bucket, as S3's ListObjectsV2 lists them.
    async fn keys(&self) -> Vec<String> {
        let xml = self.get(&format!("/{}?list-type=2", self.bucket)).await;
        xml.split("<Key>")
            .skip(1)
            .filter_map(|rest| rest.split("</Key>").next())
            .map(str::to_owned)
            .collect()
    }

    /// Multipart uploads started and neither completed nor aborted.
    async fn open_uploads(&self) -> usize {
        let xml = self.get(&format!("/{}?uploads", self.bucket)).await;
        xml.matches("<Upload>").count()
    }

    async fn get(&self, path: &str) -> String {
        let mut response = awc::Client::default()
            .get(format!("{}{path}", self.endpoint()))
            .send()
            .await
            .expect("ask moto");
        let body = response.body().limit(1 << 20).await.expect("moto's answer");
        String::from_utf8_lossy(&body).into_owned()
    }

    /// Stops the server: the store is down.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A server whose blobs go to `moto`, on SQLite or (when configured) PostgreSQL.
async fn app(
    moto: &Moto,
    postgres: bool,
    tweak: impl FnOnce(&mut confab::config::Config),
) -> Option<TestApp> {
    let tweak = |c: &mut confab::config::Config| {
        moto.configure(c);
        tweak(c);
    };
    if postgres {
        TestApp::postgres_with(tweak).await
    } else {
        Some(TestApp::sqlite_with(tweak).await)
    }
}

macro_rules! on_both_backends_with_moto {
    ($($name:ident),* $(,)?) => { $(
        mod $name {
            #[actix_web::test]
            async fn sqlite() {
                if let Some(moto) = super::Moto::start().await {
                    super::$name(moto, false).await;
                }
            }

            #[actix_web::test]
            async fn postgres() {
                if let Some(moto) = super::Moto::start().await {
                    super::$name(moto, true).await;
                }
            }
        }
    )* };
}

on_both_backends_with_moto!(
    uploads_are_stored_served_and_deduped,
    redirects_go_to_a_working_presigned_url,
    an_interrupted_upload_leaves_nothing,
    a_store_that_is_down_is_reported,
    export_delete_and_maintenance_free_objects
);

/// A PNG header of the given size followed by `tail`: enough for sniffing and dimensions.
fn png(width: u32, height: u32, tail: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
    bytes.extend_from_slice(b"IHDR");
    bytes.extend_from_slice(&width.to_be_bytes());
    bytes.extend_from_slice(&height.to_be_bytes());
    bytes.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    bytes.extend_from_slice(tail);
    bytes
}

fn key_of(id: &str) -> String {
    format!("{}/{id}", &id[..2])
}

async fn uploads_are_stored_served_and_deduped(moto: Moto, postgres: bool) {
    let Some(app) = app(&moto, postgres, |c| c.blobs.max_bytes = 12 << 20).await else {
        return;
    };
    let (ann, _) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let (cat, _) = app.register("cat").await;
    let image = png(3, 2, b"pixels");
    let body = app.upload(&ann, UPLOAD, &image, "image/png").await;
    let blob = body["data"]["uploadBlob"].clone();
    let id = blob["id"].as_str().expect("an id").to_owned();
    assert_eq!(id, hex::encode(Sha256::digest(&image)), "{body}");
    assert_eq!(
        (blob["width"].clone(), blob["height"].clone()),
        (json!(3), json!(2))
    );
    assert_eq!(moto.keys().await, vec![key_of(&id)]);

    // The same bytes by someone else: the same blob, one object.
    let again = app.upload(&bob, UPLOAD, &image, "image/png").await;
    assert_eq!(again["data"]["uploadBlob"]["id"], id.as_str(), "{again}");
    assert_eq!(moto.keys().await, vec![key_of(&id)]);
    assert_eq!(app.count("blobs").await, 1);

    // Served from the bucket to its uploader, with the content hash as ETag.
    let path = format!("/blobs/{id}");
    let (status, headers, bytes) = app.fetch(&path, Some(&ann), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, image);
    assert_eq!(headers.get("etag").unwrap(), &format!("\"{id}\""));
    assert_eq!(headers.get("content-type").unwrap(), "image/png");
    assert_eq!(
        headers.get("content-length").unwrap(),
        &image.len().to_string()
    );
    assert!(
        headers
            .get("cache-control")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let etag = format!("\"{id}\"");
    let (status, _, bytes) = app
        .fetch(&path, Some(&ann), &[("If-None-Match", &etag)])
        .await;
    assert_eq!((status, bytes.len()), (304, 0));
    // Authorization holds: a stranger and no token get nothing.
    assert_eq!(app.fetch(&path, Some(&cat), &[]).await.0, 404);
    assert_eq!(app.fetch(&path, None, &[]).await.0, 401);

    // Bigger than one part: a multipart upload, streamed back whole.
    let big = png(640, 480, &vec![7u8; 11 << 20]);
    let body = app.upload(&ann, UPLOAD, &big, "image/png").await;
    let big_id = body["data"]["uploadBlob"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    assert_eq!(big_id, hex::encode(Sha256::digest(&big)));
    assert_eq!(body["data"]["uploadBlob"]["width"], 640);
    let (status, _, bytes) = app
        .fetch(&format!("/blobs/{big_id}"), Some(&ann), &[])
        .await;
    assert_eq!(status, 200);
    assert_eq!(hex::encode(Sha256::digest(&bytes)), big_id);
    assert_eq!(moto.open_uploads().await, 0);
    let mut keys = moto.keys().await;
    keys.sort();
    let mut expected = vec![key_of(&id), key_of(&big_id)];
    expected.sort();
    assert_eq!(keys, expected);

    // Attached to a message, its size is read from the object's first bytes.
    let room = app.create_room(&ann, "pics", &[&bob_id]).await;
    let data = app
        .ok(
            Some(&ann),
            "mutation($r: ID!, $b: [String!]!) { sendMessage(input: { roomId: $r, body: \"look\", attachmentBlobIds: $b }) { attachments { metadata } } }",
            json!({ "r": room, "b": [big_id] }),
        )
        .await;
    let metadata = &data["sendMessage"]["attachments"][0]["metadata"];
    assert_eq!(
        (metadata["width"].clone(), metadata["height"].clone()),
        (json!(640), json!(480))
    );
    app.stop().await;
}

async fn redirects_go_to_a_working_presigned_url(moto: Moto, postgres: bool) {
    let Some(app) = app(&moto, postgres, |c| c.blobs.redirect = true).await else {
        return;
    };
    let (ann, _) = app.register("ann").await;
    let (cat, _) = app.register("cat").await;
    let image = png(5, 4, b"redirected");
    let body = app.upload(&ann, UPLOAD, &image, "image/png").await;
    let id = body["data"]["uploadBlob"]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let path = format!("/blobs/{id}");
    let response = awc::Client::builder()
        .disable_redirects()
        .finish()
        .get(format!("{}{path}", app.base))
        .insert_header(("Authorization", format!("Bearer {ann}")))
        .send()
        .await
        .expect("GET the blob");
    assert_eq!(response.status().as_u16(), 307);
    let headers = response.headers();
    let location = headers
        .get("location")
        .expect("a Location")
        .to_str()
        .unwrap()
        .to_owned();
    assert!(location.starts_with(&moto.endpoint()), "{location}");
    assert!(location.contains("X-Amz-Signature="), "{location}");
    // The URL works without any credentials of Confab's, with the type stored on the object.
    let mut response = awc::Client::default()
        .get(&location)
        .send()
        .await
        .expect("fetch the presigned URL");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers().get("content-type").unwrap(), "image/png");
    assert_eq!(
        response.headers().get("content-disposition").unwrap(),
        "inline"
    );
    assert_eq!(response.body().await.expect("bytes").to_vec(), image);
    // Authorization comes first: no redirect for a stranger; 304 still answers a cached copy.
    assert_eq!(app.fetch(&path, Some(&cat), &[]).await.0, 404);
    let etag = format!("\"{id}\"");
    let (status, _, _) = app
        .fetch(&path, Some(&ann), &[("If-None-Match", &etag)])
        .await;
    assert_eq!(status, 304);
    app.stop().await;
}

async fn an_interrupted_upload_leaves_nothing(moto: Moto, postgres: bool) {
    let Some(app) = app(&moto, postgres, |c| c.blobs.max_bytes = 12 << 20).await else {
        return;
    };
    let (ann, _) = app.register("ann").await;
    let image = png(8, 8, &vec![1u8; 8 << 20]);
    let boundary = "confab-cut";
    let operations = json!({ "query": UPLOAD, "variables": { "file": null } }).to_string();
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{operations}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n{{\"0\":[\"variables.file\"]}}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"cut.png\"\r\nContent-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&image);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let address = app.base.trim_start_matches("http://").to_owned();
    // Half the body, then the connection goes away.
    let sent = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&address).expect("connect");
        let head = format!(
            "POST /graphql HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {ann}\r\n\
             Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).expect("headers");
        stream
            .write_all(&body[..body.len() / 2])
            .expect("half the body");
        stream.flush().expect("flush");
        stream.shutdown(std::net::Shutdown::Both).expect("hang up");
    });
    sent.await.expect("sender");
    // The server has seen the hang-up once it answers the next request on its one worker.
    let (ann2, _) = app.register("ann2").await;
    assert_eq!(app.count("blobs").await, 0);
    assert_eq!(app.count("blob_uploads").await, 0);
    assert!(moto.keys().await.is_empty());
    assert_eq!(moto.open_uploads().await, 0);
    // And the same file sent whole is stored as usual.
    let whole = app.upload(&ann2, UPLOAD, &image, "image/png").await;
    let id = whole["data"]["uploadBlob"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{whole}"))
        .to_owned();
    assert_eq!(moto.keys().await, vec![key_of(&id)]);
    app.stop().await;
}

async fn a_store_that_is_down_is_reported(mut moto: Moto, postgres: bool) {
    let Some(app) = app(&moto, postgres, |_| {}).await else {
        return;
    };
    let (ann, _) = app.register("ann").await;
    let (status, ready) = app.get("/readyz").await;
    let ready: Value = serde_json::from_str(&ready).unwrap();
    assert_eq!(
        (status, ready["blobs"].clone()),
        (200, json!("ok")),
        "{ready}"
    );
    let image = png(2, 2, b"before");
    let body = app.upload(&ann, UPLOAD, &image, "image/png").await;
    let id = body["data"]["uploadBlob"]["id"]
        .as_str()
        .expect("an id")
        .to_owned();

    moto.kill();
    let body = app
        .upload(&ann, UPLOAD, &png(2, 2, b"after"), "image/png")
        .await;
    let (code, message, _) = first_error(&body);
    assert_eq!(code, "STORAGE_UNAVAILABLE", "{body}");
    assert!(!message.contains("127.0.0.1"), "{message}");
    assert_eq!(app.count("blobs").await, 1, "no row for bytes not stored");
    let (status, headers, _) = app.fetch(&format!("/blobs/{id}"), Some(&ann), &[]).await;
    assert_eq!(status, 503);
    assert!(headers.get("retry-after").is_some());
    let (status, ready) = app.get("/readyz").await;
    let ready: Value = serde_json::from_str(&ready).unwrap();
    assert_eq!(status, 503, "{ready}");
    assert_eq!(ready["blobs"], "down");
    assert_eq!(ready["database"], "ok");
    app.stop().await;
}

async fn export_delete_and_maintenance_free_objects(moto: Moto, postgres: bool) {
    let mut blob_config = None;
    let Some(app) = app(&moto, postgres, |c| blob_config = Some(c.blobs.clone())).await else {
        return;
    };
    let (ann, _) = app.register("ann").await;
    let (bob, _) = app.register("bob").await;

    // An export is an object in the bucket its owner can download.
    let data = app
        .ok(Some(&ann), "mutation { exportMyData { id } }", json!({}))
        .await;
    let export = data["exportMyData"]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    assert!(moto.keys().await.contains(&key_of(&export)));
    let (status, headers, bytes) = app
        .fetch(&format!("/blobs/{export}"), Some(&ann), &[])
        .await;
    assert_eq!(status, 200);
    assert_eq!(headers.get("content-disposition").unwrap(), "attachment");
    let archive: Value = serde_json::from_slice(&bytes).expect("a JSON archive");
    assert_eq!(archive["format"], "confab-export");

    // deleteUpload removes the object once nothing holds it.
    let data = app
        .ok(
            Some(&ann),
            "mutation($b: String!) { deleteUpload(id: $b) }",
            json!({ "b": export }),
        )
        .await;
    assert_eq!(data["deleteUpload"], true);
    assert!(!moto.keys().await.contains(&key_of(&export)));

    // A deleted account's uploads go with maintenance, objects too.
    let image = png(4, 4, b"bob's");
    let body = app.upload(&bob, UPLOAD, &image, "image/png").await;
    let id = body["data"]["uploadBlob"]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    assert_eq!(moto.keys().await, vec![key_of(&id)]);
    app.ok(
        Some(&bob),
        "mutation($p: String!) { deleteAccount(password: $p) }",
        json!({ "p": "password-bob" }),
    )
    .await;
    let blobs = confab::blobstore::BlobStore::from_config(&blob_config.expect("config"))
        .expect("the S3 store");
    let turn = std::sync::Arc::new(tokio::sync::Mutex::new(()));
    let freed = confab::workers::maintenance::deleted_uploads(&app.db, &turn, &blobs, 0).await;
    assert_eq!(freed, 1);
    assert_eq!(app.count("blobs").await, 0);
    assert!(moto.keys().await.is_empty());
    app.stop().await;
}
