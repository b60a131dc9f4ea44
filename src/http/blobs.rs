//! `GET /blobs/{id}`: a blob's bytes, to its uploaders and to members of rooms where it is
//! attached (signed in by the bearer token, or by the session cookie with `--cookie-sessions`),
//! with the sniffed Content-Type and an ETag (the content hash) for caching.
//! Anyone else, and any id that does not exist, gets the same 404. The bytes go out with
//! `headers::BLOB_CSP` (a sandbox), `nosniff`, and `Content-Disposition: attachment` unless
//! they are an image (`inline`): other types allowed by `--blob-mime-types`, and opaque MLS
//! uploads, are downloads. The bytes stream from the store (`--blob-store`); when it does not
//! answer, 503 with `Retry-After`. With `--blob-redirect` (S3), an allowed reader is sent
//! (307) to a presigned URL of the object valid for five minutes instead, and the store serves
//! the bytes with the Content-Type and Content-Disposition stored with them.

use std::time::Duration;

use actix_web::body::SizedStream;
use actix_web::http::header::{self, CacheControl, CacheDirective, ETag, EntityTag};
use actix_web::{HttpRequest, HttpResponse, web};

use super::headers::BLOB_CSP;
use crate::auth;
use crate::service;
use crate::state::AppState;

/// How long a presigned URL of `--blob-redirect` works.
const REDIRECT_TTL: Duration = Duration::from_secs(300);

pub async fn get(
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let token = match req.headers().get(header::AUTHORIZATION) {
        Some(value) => value.to_str().ok().and_then(auth::bearer),
        // A browser with a cookie session (an <img>, a download): reading changes nothing,
        // and SameSite=Lax keeps the cookie off other sites' embeds.
        None if state.config.auth.cookie_sessions => req
            .headers()
            .get_all(header::COOKIE)
            .filter_map(|value| value.to_str().ok())
            .find_map(auth::cookie::token),
        None => None,
    };
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
    let disposition = service::blob::disposition(&blob.mime_type);
    if state.config.blobs.redirect {
        return match state.blobs.presigned(&blob.id, REDIRECT_TTL).await {
            Some(Ok(url)) => HttpResponse::TemporaryRedirect()
                .insert_header((header::LOCATION, url.as_str()))
                .insert_header(ETag(tag))
                // Cached for less than the URL lives.
                .insert_header(CacheControl(vec![
                    CacheDirective::Private,
                    CacheDirective::MaxAge(REDIRECT_TTL.as_secs() as u32 / 2),
                ]))
                .finish(),
            Some(Err(err)) => unavailable(&err),
            None => HttpResponse::InternalServerError().finish(),
        };
    }
    match state.blobs.get(&blob.id).await {
        Ok(Some(reading)) => HttpResponse::Ok()
            .content_type(blob.mime_type.as_str())
            .insert_header(ETag(tag))
            .insert_header(cache)
            .insert_header((header::CONTENT_SECURITY_POLICY, BLOB_CSP))
            .insert_header((header::CONTENT_DISPOSITION, disposition))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .body(SizedStream::new(reading.size, reading.stream)),
        Ok(None) => {
            tracing::error!(blob = %blob.id, "a blob row without its bytes");
            HttpResponse::NotFound().finish()
        }
        Err(err) => unavailable(&err),
    }
}

/// 503: the store did not answer (`--blob-store`); the reader may try again shortly.
fn unavailable(err: &crate::blobstore::StoreError) -> HttpResponse {
    tracing::warn!(error = %err, "blob store unavailable");
    HttpResponse::ServiceUnavailable()
        .insert_header((header::RETRY_AFTER, "5"))
        .finish()
}
