//! `GET /blobs/{id}`: a blob's bytes, to its uploaders and to members of rooms where it is
//! attached, with the sniffed Content-Type and an ETag (the content hash) for caching.
//! Anyone else, and any id that does not exist, gets the same 404. The bytes go out with
//! `headers::BLOB_CSP` (a sandbox), `nosniff`, and `Content-Disposition: attachment` unless
//! they are an image (`inline`): other types allowed by `--blob-mime-types`, and opaque MLS
//! uploads, are downloads.

use actix_web::http::header::{self, CacheControl, CacheDirective, ETag, EntityTag};
use actix_web::{HttpRequest, HttpResponse, web};

use super::headers::BLOB_CSP;
use crate::auth;
use crate::service;
use crate::state::AppState;

pub async fn get(
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(auth::bearer);
    let viewer = match token {
        Some(token) => crate::service::session::resolve_token(&state, token)
            .await
            .ok()
            .flatten(),
        None => None,
    };
    let Some(viewer) = viewer else {
        return HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
            .finish();
    };
    let blob = match service::blob::get(&state, viewer.id(), &id).await {
        Ok(Some(blob)) => blob,
        Ok(None) => return HttpResponse::NotFound().finish(),
        Err(err) => {
            tracing::error!(error = ?err, "reading blob");
            return HttpResponse::InternalServerError().finish();
        }
    };
    let tag = EntityTag::new_strong(blob.id.clone());
    let cache = CacheControl(vec![
        CacheDirective::Private,
        CacheDirective::MaxAge(31_536_000),
        CacheDirective::Extension("immutable".to_owned(), None),
    ]);
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().trim_matches('"') == blob.id));
    if fresh {
        return HttpResponse::NotModified()
            .insert_header(ETag(tag))
            .insert_header(cache)
            .finish();
    }
    let store = state.blobs.clone();
    let key = blob.id.clone();
    // Images may be shown inline; anything else (a type allowed by `--blob-mime-types`, or
    // opaque MLS bytes) is a download, never rendered by the browser.
    let disposition = if service::blob::is_image(&blob.mime_type) {
        "inline"
    } else {
        "attachment"
    };
    match tokio::task::spawn_blocking(move || store.get(&key)).await {
        Ok(Ok(Some(bytes))) => HttpResponse::Ok()
            .content_type(blob.mime_type.as_str())
            .insert_header(ETag(tag))
            .insert_header(cache)
            .insert_header((header::CONTENT_SECURITY_POLICY, BLOB_CSP))
            .insert_header((header::CONTENT_DISPOSITION, disposition))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .body(bytes),
        Ok(Ok(None)) => HttpResponse::NotFound().finish(),
        other => {
            tracing::error!(?other, "blob bytes unreadable");
            HttpResponse::InternalServerError().finish()
        }
    }
}
