//! `POST /graphql` (and `GET /graphql?query=...` for queries) by the GraphQL-over-HTTP spec
//! (<https://graphql.github.io/graphql-over-http/draft/>), checked by the `graphql-http` server
//! audit (`scripts/graphql-http-audit`).
//!
//! - The answer's media type follows `Accept`: `application/graphql-response+json` or
//!   `application/json` (also for `*/*`, `application/*` and no `Accept` at all, the spec's
//!   legacy rule); when the client takes neither, 406.
//! - A POST says `Content-Type: application/json` (utf-8) or `multipart/form-data` (uploads);
//!   anything else, or none, is 415. A body that is not a GraphQL request (malformed JSON, no
//!   `query`, a parameter of the wrong type) is 400; one past its limit 413.
//! - A request error (the document does not parse or validate, the operation is unknown, a
//!   variable does not coerce, a limit refuses it: `data` null and no error with a `path`) has no
//!   `data` entry. Under `application/graphql-response+json` it is 400 (500 when INTERNAL);
//!   under `application/json` 200, as the spec says for that legacy type.
//! - A mutation over GET is 405 with `Allow: POST`, also one named by a persisted query's hash
//!   (the pipeline tells, once it has the document, before anything runs).
//! - Every refusal is a GraphQL error with an `extensions.code`.
//!
//! The viewer is resolved here once per request from `Authorization: Bearer <token>`, or
//! without one from the session cookie (`--cookie-sessions`; [`cookie`] has its CSRF checks);
//! a missing or invalid token makes an anonymous request, so `me` is null and protected fields answer
//! UNAUTHENTICATED, with `extensions.reason` saying why: `missing` (no token), `expired`,
//! `revoked` or `invalid`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::{BatchRequest, Response};
use futures_util::StreamExt;
use uuid::Uuid;

use crate::auth::{self, ClientInfo};
use crate::graphql::{Pipeline, loaders};
use crate::state::AppState;

mod answer;
mod body;
mod cookie;
mod media;
mod spool;

use answer::{Answer, coded_response, not_acceptable, respond};
use body::{BodyKind, get_request, parse_json};
use media::Media;

/// File parts one multipart request may carry.
pub const MAX_FILES: usize = 10;

/// Executes a GraphQL request sent with POST: JSON (one operation or a batch) or a multipart
/// upload. The body is read only up to its limit (`--max-body-bytes`; uploads
/// `--blob-max-bytes` + 1 MiB). Answers of a kilobyte or more are gzipped for clients that
/// accept it.
pub async fn execute(
    schema: web::Data<Pipeline>,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let Some(media) = Media::negotiate(&req) else {
        return not_acceptable(&req);
    };
    let answer = post(&schema, &state, &req, payload).await;
    respond(&req, media, answer)
}

/// `GET /graphql`: a WebSocket upgrade, or a query in the query string. GET carries queries
/// only, so following a link cannot change anything: a mutation is 405.
pub async fn get(
    schema: web::Data<Pipeline>,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> actix_web::Result<HttpResponse> {
    let upgrade = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if upgrade {
        return super::ws::upgrade(req, payload, schema, state).await;
    }
    let Some(media) = Media::negotiate(&req) else {
        return Ok(not_acceptable(&req));
    };
    let answer = match get_request(req.query_string()) {
        Ok(request) => match prepare(&state, &req, request).await {
            Err(response) => Answer::Single(response),
            Ok((request, request_id, refused)) => {
                match schema.run_unless_mutation(request, request_id).await {
                    Some(response) => Answer::Single(explain(response, refused)),
                    None => {
                        let mut response = respond(
                            &req,
                            media,
                            Answer::refused(
                                StatusCode::METHOD_NOT_ALLOWED,
                                "mutations must be sent with POST",
                            ),
                        );
                        response
                            .headers_mut()
                            .insert(header::ALLOW, HeaderValue::from_static("POST"));
                        return Ok(response);
                    }
                }
            }
        },
        Err(message) => Answer::refused(StatusCode::BAD_REQUEST, &message),
    };
    Ok(respond(&req, media, answer))
}

async fn post(
    schema: &Pipeline,
    state: &AppState,
    req: &HttpRequest,
    mut payload: web::Payload,
) -> Answer {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let Some(kind) = content_type.and_then(BodyKind::of) else {
        return Answer::refused(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the request as Content-Type: application/json (multipart/form-data for uploads)",
        );
    };
    if let BodyKind::Multipart = kind {
        let content_type = content_type.unwrap_or_default();
        return match spool::receive(state, content_type, payload).await {
            Ok(batch) => run_batch(schema, state, req, batch).await,
            Err((status, message)) => Answer::refused(status, &message),
        };
    }
    let limit = state.config.limits.body_bytes;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else {
            return Answer::refused(
                StatusCode::BAD_REQUEST,
                "the request body could not be read",
            );
        };
        if body.len() + chunk.len() > limit {
            return Answer::refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("request body too large: the limit is {limit} bytes"),
            );
        }
        body.extend_from_slice(&chunk);
    }
    match parse_json(&body) {
        Ok(batch) => run_batch(schema, state, req, batch).await,
        Err(message) => Answer::refused(StatusCode::BAD_REQUEST, &message),
    }
}

/// Runs the operations of a POST, one after the other.
async fn run_batch(
    schema: &Pipeline,
    state: &AppState,
    req: &HttpRequest,
    batch: BatchRequest,
) -> Answer {
    match batch {
        BatchRequest::Single(request) => Answer::Single(run(schema, state, req, request).await),
        BatchRequest::Batch(requests) => {
            if requests.len() > state.config.limits.batch {
                return Answer::refused(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "a batch may hold at most {} operations",
                        state.config.limits.batch
                    ),
                );
            }
            let mut responses = Vec::with_capacity(requests.len());
            for request in requests {
                responses.push(run(schema, state, req, request).await);
            }
            Answer::Batch(responses)
        }
    }
}

/// Runs one operation of a POST.
async fn run(
    schema: &Pipeline,
    state: &AppState,
    req: &HttpRequest,
    request: async_graphql::Request,
) -> Response {
    match prepare(state, req, request).await {
        Ok((request, request_id, refused)) => {
            explain(schema.run(request, request_id).await, refused)
        }
        Err(response) => response,
    }
}

/// Says in each "sign in first" error (`extensions.reason: "missing"`) why the request's
/// token was refused, when it sent one: `expired`, `revoked` or `invalid`.
fn explain(mut response: Response, refused: Option<&'static str>) -> Response {
    let Some(reason) = refused else {
        return response;
    };
    let missing = async_graphql::Value::String("missing".to_owned());
    for error in &mut response.errors {
        if let Some(ext) = error.extensions.as_mut()
            && ext.get("reason") == Some(&missing)
        {
            ext.set("reason", reason);
        }
    }
    response
}

/// The request with what resolvers need (the client, the viewer from the bearer token, the
/// loaders), its id, and why its token was refused if it was (for [`explain`]); an INTERNAL
/// response when the token could not be looked up.
async fn prepare(
    state: &AppState,
    req: &HttpRequest,
    mut request: async_graphql::Request,
) -> Result<(async_graphql::Request, Uuid, Option<&'static str>), Response> {
    let request_id = Uuid::now_v7();
    request = request.data(client_info(req));
    let mut viewer_id = None;
    let mut refused = None;
    let authorization = req.headers().get(header::AUTHORIZATION);
    let mut token = authorization
        .and_then(|value| value.to_str().ok())
        .and_then(auth::bearer);
    if authorization.is_some() && token.is_none() {
        refused = Some("invalid");
    }
    let (cookie, cookie_token) = cookie::inspect(state, req);
    if authorization.is_none()
        && let Some(cookie_token) = cookie_token.as_deref()
    {
        if let Some(why) = cookie.refused {
            let mut response = coded_response(why, "FORBIDDEN", None);
            for error in &mut response.errors {
                if let Some(ext) = error.extensions.as_mut() {
                    ext.set("reason", "csrf");
                }
            }
            return Err(response);
        }
        token = Some(cookie_token);
    }
    request = request.data(cookie);
    if let Some(token) = token {
        match crate::service::session::resolve_token(state, token).await {
            Ok(Some(viewer)) => {
                viewer_id = Some(viewer.id());
                request = request.data(viewer);
            }
            Ok(None) => {
                refused = Some(
                    crate::service::session::refusal(state, token)
                        .await
                        .unwrap_or_else(|err| {
                            tracing::warn!(%request_id, error = ?err, "why a token was refused");
                            "invalid"
                        }),
                );
            }
            Err(err) => {
                tracing::error!(%request_id, error = ?err, "resolving bearer token");
                return Err(coded_response(
                    "internal error",
                    "INTERNAL",
                    Some(request_id),
                ));
            }
        }
    }
    request = request.data(loaders::for_request(state.clone(), viewer_id));
    Ok((request, request_id, refused))
}

/// The client's address (the TCP peer, or behind `--trusted-proxies` the address they
/// forwarded: `super::forwarded`) and user agent; WebSocket operations get the handshake's.
pub(super) fn client_info(req: &HttpRequest) -> ClientInfo {
    let trusted = req
        .app_data::<web::Data<AppState>>()
        .map_or(&[][..], |state| &state.config.http.trusted_proxies[..]);
    ClientInfo {
        ip: super::forwarded::client_ip(req, trusted).map(|ip| ip.to_string()),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned),
    }
}
