//! Uploads a person manages: the filename kept (sanitised) and shown on attachments,
//! `myUploads` paged, `deleteUpload` (CONFLICT while a message carries it; the bytes go once
//! no one else holds them), and non-image types served as downloads.

use serde_json::{Value, json};

use crate::on_both_backends;
use crate::util::{TestApp, first_error};

const UPLOAD: &str = "mutation($file: Upload!, $room: UUID, $opaque: Boolean = false) { \
    uploadBlob(file: $file, roomId: $room, opaque: $opaque) { \
    id size mimeType width height filename uploadedAt room { id } uploadedBy { username } } }";
const MINE: &str = "query($first: Int, $after: String) { myUploads(first: $first, after: $after) { \
    edges { cursor node { id size mimeType width height createdAt uploadedAt filename } } \
    pageInfo { hasNextPage endCursor } } }";
const DELETE: &str = "mutation($id: String!) { deleteUpload(id: $id) }";
const SEND: &str = "mutation($i: SendMessageInput!) { sendMessage(input: $i) { id attachments { filename blob { id filename } } } }";

on_both_backends!(uploads_keep_names_list_and_delete);

/// A PNG header of the given size followed by `tail`: enough for sniffing and dimensions.
pub fn png(width: u32, height: u32, tail: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
    bytes.extend_from_slice(b"IHDR");
    bytes.extend_from_slice(&width.to_be_bytes());
    bytes.extend_from_slice(&height.to_be_bytes());
    bytes.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    bytes.extend_from_slice(tail);
    bytes
}

/// Uploads `bytes` named `filename` with the GraphQL multipart request spec, with `variables`
/// besides the file; returns the whole response.
pub async fn upload(
    app: &TestApp,
    token: &str,
    variables: Value,
    filename: &str,
    bytes: &[u8],
) -> Value {
    let mut variables = variables;
    variables["file"] = Value::Null;
    let boundary = format!("confab-test-{}", uuid::Uuid::now_v7().simple());
    let operations = json!({ "query": UPLOAD, "variables": variables }).to_string();
    let mut body = Vec::new();
    for (name, value) in [
        ("operations", operations.as_str()),
        ("map", r#"{"0":["variables.file"]}"#),
    ] {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let mut response = awc::Client::default()
        .post(format!("{}/graphql", app.base))
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

/// The uploaded blob, failing on an error.
pub async fn uploaded(app: &TestApp, token: &str, vars: Value, name: &str, bytes: &[u8]) -> Value {
    let body = upload(app, token, vars, name, bytes).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["uploadBlob"].clone()
}

async fn uploads_keep_names_list_and_delete(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let cat = png(3, 2, b"cat");
    let dog = png(5, 4, b"dog");

    // The name loses its path; the rest is kept and shown.
    let first = uploaded(app, &ann, json!({}), "C:\\\\fakepath\\\\My Cat.png", &cat).await;
    assert_eq!(first["filename"], "My Cat.png", "{first}");
    assert_eq!(first["uploadedBy"]["username"], "ann");
    assert!(first["uploadedAt"].is_string() && first["room"].is_null());
    let cat_id = first["id"].as_str().unwrap().to_owned();
    let second = uploaded(app, &ann, json!({}), "../../dog.png", &dog).await;
    assert_eq!(second["filename"], "dog.png");
    let dog_id = second["id"].as_str().unwrap().to_owned();

    // Newest first, a page at a time.
    let page = app.ok(Some(&ann), MINE, json!({ "first": 1 })).await;
    let edges = page["myUploads"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 1);
    let node = &edges[0]["node"];
    assert_eq!(node["id"], dog_id.as_str());
    assert_eq!(
        (
            &node["size"],
            &node["mimeType"],
            &node["width"],
            &node["height"]
        ),
        (&json!(dog.len()), &json!("image/png"), &json!(5), &json!(4))
    );
    assert!(node["createdAt"].is_string() && node["uploadedAt"].is_string());
    assert_eq!(page["myUploads"]["pageInfo"]["hasNextPage"], true);
    let after = page["myUploads"]["pageInfo"]["endCursor"].clone();
    let rest = app
        .ok(Some(&ann), MINE, json!({ "first": 5, "after": after }))
        .await;
    let rest_edges = rest["myUploads"]["edges"].as_array().unwrap();
    assert_eq!(rest_edges.len(), 1);
    assert_eq!(rest_edges[0]["node"]["filename"], "My Cat.png");
    assert_eq!(rest["myUploads"]["pageInfo"]["hasNextPage"], false);
    for (vars, field) in [
        (json!({ "after": "nope" }), "after"),
        (json!({ "first": 101 }), "first"),
    ] {
        let bad = app.gql(Some(&ann), MINE, vars).await;
        let (code, _, got) = first_error(&bad);
        assert_eq!(
            (code.as_str(), got.as_deref()),
            ("BAD_USER_INPUT", Some(field))
        );
    }
    let theirs = app.ok(Some(&bob), MINE, json!({})).await;
    assert_eq!(theirs["myUploads"]["edges"], json!([]));

    // An attachment carries the sender's name for the file.
    let room = app.create_room(&ann, "pets", &[&bob_id]).await;
    let sent = app
        .ok(
            Some(&ann),
            SEND,
            json!({ "i": { "roomId": room, "body": "", "attachmentBlobIds": [dog_id] } }),
        )
        .await;
    let attachment = &sent["sendMessage"]["attachments"][0];
    assert_eq!(attachment["filename"], "dog.png", "{sent}");
    assert_eq!(attachment["blob"]["filename"], "dog.png");
    let message_id = sent["sendMessage"]["id"].clone();

    // While a message carries it, it stays; a stranger's or unknown upload is NOT_FOUND.
    let busy = app.gql(Some(&ann), DELETE, json!({ "id": dog_id })).await;
    assert_eq!(first_error(&busy).0, "CONFLICT", "{busy}");
    for (token, id) in [
        (&bob, cat_id.as_str()),
        (&ann, "0".repeat(64).as_str()),
        (&ann, "x"),
    ] {
        let missing = app.gql(Some(token), DELETE, json!({ "id": id })).await;
        assert_eq!(first_error(&missing).0, "NOT_FOUND", "{missing}");
    }

    // Bob uploads the same bytes: ann's delete removes her upload, not the bytes.
    uploaded(app, &bob, json!({}), "kitty.png", &cat).await;
    let deleted = app.ok(Some(&ann), DELETE, json!({ "id": cat_id })).await;
    assert_eq!(deleted["deleteUpload"], false, "bob still has the bytes");
    assert_eq!(app.count("blobs").await, 2);
    let path = format!("/blobs/{cat_id}");
    assert_eq!(app.fetch(&path, Some(&ann), &[]).await.0, 404);
    assert_eq!(app.fetch(&path, Some(&bob), &[]).await.0, 200);
    let used = app.ok(Some(&ann), "{ storageUsed }", json!({})).await;
    assert_eq!(used["storageUsed"], dog.len());
    let mine = app.ok(Some(&ann), MINE, json!({})).await;
    assert_eq!(mine["myUploads"]["edges"].as_array().unwrap().len(), 1);
    let named = app
        .ok(
            Some(&bob),
            "query($id: String!) { blob(id: $id) { filename } }",
            json!({ "id": cat_id }),
        )
        .await;
    assert_eq!(named["blob"]["filename"], "kitty.png");

    // The last uploader's delete frees the blob and its bytes.
    let freed = app.ok(Some(&bob), DELETE, json!({ "id": cat_id })).await;
    assert_eq!(freed["deleteUpload"], true);
    assert_eq!(app.count("blobs").await, 1);
    assert_eq!(app.fetch(&path, Some(&bob), &[]).await.0, 404);
    // Uploaded again, the bytes are stored again.
    uploaded(app, &bob, json!({}), "kitty.png", &cat).await;
    assert_eq!(app.fetch(&path, Some(&bob), &[]).await.0, 200);

    // Once the message is deleted, the upload can go, and with it the bytes.
    app.ok(
        Some(&ann),
        "mutation($id: UUID!) { deleteMessage(id: $id) { id } }",
        json!({ "id": message_id }),
    )
    .await;
    let gone = app.ok(Some(&ann), DELETE, json!({ "id": dog_id })).await;
    assert_eq!(gone["deleteUpload"], true);
    assert_eq!(app.count("blobs").await, 1);
    assert_eq!(app.count("attachments").await, 0);
}

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n";

async fn non_images_are_downloads(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let report = uploaded(app, &ann, json!({}), "report.pdf", PDF).await;
    assert_eq!(report["mimeType"], "application/pdf", "{report}");
    assert_eq!(report["filename"], "report.pdf");
    assert!(report["width"].is_null());
    let (status, headers, bytes) = app
        .fetch(
            &format!("/blobs/{}", report["id"].as_str().unwrap()),
            Some(&ann),
            &[],
        )
        .await;
    assert_eq!((status, bytes.as_slice()), (200, PDF));
    assert_eq!(headers.get("content-disposition").unwrap(), "attachment");
    assert_eq!(headers.get("x-content-type-options").unwrap(), "nosniff");
    assert_eq!(headers.get("content-type").unwrap(), "application/pdf");

    let image = uploaded(app, &ann, json!({}), "a.png", &png(1, 1, b"i")).await;
    let (_, headers, _) = app
        .fetch(
            &format!("/blobs/{}", image["id"].as_str().unwrap()),
            Some(&ann),
            &[],
        )
        .await;
    assert_eq!(headers.get("content-disposition").unwrap(), "inline");
    assert_eq!(headers.get("x-content-type-options").unwrap(), "nosniff");
}

fn with_pdf(config: &mut confab::config::Config) {
    config.blobs.mime_types.push("application/pdf".to_owned());
}

#[actix_web::test]
async fn non_images_are_downloads_sqlite() {
    let app = TestApp::sqlite_with(with_pdf).await;
    non_images_are_downloads(&app).await;
    app.stop().await;
}

#[actix_web::test]
async fn non_images_are_downloads_postgres() {
    if let Some(app) = TestApp::postgres_with(with_pdf).await {
        non_images_are_downloads(&app).await;
        app.stop().await;
    }
}

/// Without the setting, a PDF is refused.
#[actix_web::test]
async fn non_images_are_refused_by_default() {
    let app = TestApp::sqlite().await;
    let (ann, _) = app.register("ann").await;
    let refused = upload(&app, &ann, json!({}), "report.pdf", PDF).await;
    let (code, _, field) = first_error(&refused);
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("file"))
    );
    app.stop().await;
}
