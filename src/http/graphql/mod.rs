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
//! The viewer is resolved here once per request from `Authorization: Bearer <token>`; a missing
//! or invalid token makes an anonymous request, so `me` is null and protected fields answer
//! UNAUTHENTICATED.

use std::collections::{BTreeMap, HashMap};

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::http::MultipartOptions;
use async_graphql::{BatchRequest, BatchResponse, Response, ServerError, Value, Variables};
use flate2::Compression;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::compress;
use crate::auth::{self, ClientInfo};
use crate::graphql::{Pipeline, loaders};
use crate::state::AppState;

mod media;

use media::Media;

/// File parts one multipart request may carry.
pub const MAX_FILES: usize = 10;

/// What a request comes to, before it is written out.
enum Answer {
    /// One operation's response.
    Single(Response),
    /// A batch's responses, in order.
    Batch(Vec<Response>),
    /// Refused before any operation ran, with this status and error.
    Refused(StatusCode, Response),
}

impl Answer {
    fn refused(status: StatusCode, message: &str) -> Answer {
        Answer::Refused(status, coded_response(message, "BAD_USER_INPUT", None))
    }
}

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
            Ok((request, request_id)) => {
                match schema.run_unless_mutation(request, request_id).await {
                    Some(response) => Answer::Single(response),
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

/// What the body's `Content-Type` says it holds.
enum BodyKind {
    Json,
    Multipart,
}

impl BodyKind {
    /// `application/json` (utf-8, the default) or `multipart/form-data`; `None` for anything else.
    fn of(content_type: &str) -> Option<BodyKind> {
        let mime: actix_web::mime::Mime = content_type.parse().ok()?;
        match (mime.type_().as_str(), mime.subtype().as_str()) {
            ("application", "json") => {
                let utf8 = mime
                    .get_param(actix_web::mime::CHARSET)
                    .is_none_or(|charset| charset.as_str().eq_ignore_ascii_case("utf-8"));
                utf8.then_some(BodyKind::Json)
            }
            ("multipart", "form-data") => Some(BodyKind::Multipart),
            _ => None,
        }
    }
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
    let limit = match kind {
        BodyKind::Multipart => state.config.blobs.max_bytes + 1024 * 1024,
        BodyKind::Json => state.config.limits.body_bytes,
    };
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
    let body = body.freeze();
    let batch = match kind {
        BodyKind::Json => parse_json(&body),
        BodyKind::Multipart => {
            let content_type = content_type.unwrap_or_default();
            match count_files(content_type, body.clone()).await {
                Ok(files) if files > MAX_FILES => Err(format!(
                    "a request may carry at most {MAX_FILES} files, not {files}"
                )),
                Ok(_) => {
                    let options = MultipartOptions::default()
                        .max_file_size(state.config.blobs.max_bytes)
                        .max_num_files(MAX_FILES);
                    let reader = futures_util::io::Cursor::new(body);
                    async_graphql::http::receive_batch_body(Some(content_type), reader, options)
                        .await
                        .map_err(|err| format!("malformed request: {err}"))
                }
                Err(err) => Err(format!("malformed request: {err}")),
            }
        }
    };
    let batch = match batch {
        Ok(batch) => batch,
        Err(message) => return Answer::refused(StatusCode::BAD_REQUEST, &message),
    };
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

/// The file parts of a multipart body (the parts with a file name), counted with the parser
/// async-graphql uses, before any of them is written anywhere. (async-graphql's
/// `MultipartOptions::max_num_files` only sizes the stream limit: it counts nothing.)
async fn count_files(content_type: &str, body: web::Bytes) -> Result<usize, multer::Error> {
    let boundary = multer::parse_boundary(content_type)?;
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut files = 0;
    while let Some(field) = multipart.next_field().await? {
        if field.file_name().is_some() {
            files += 1;
            if files > MAX_FILES {
                break;
            }
        }
    }
    Ok(files)
}

/// A GET's parameters: `query`, `operationName`, and `variables` and `extensions` as JSON.
/// (async-graphql's `parse_query_string` reads `operation_name`, not the spec's
/// `operationName`.)
fn get_request(query_string: &str) -> Result<async_graphql::Request, String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct GetParams {
        query: Option<String>,
        operation_name: Option<String>,
        variables: Option<String>,
        extensions: Option<String>,
    }
    let malformed = |err: &dyn std::fmt::Display| format!("malformed request: {err}");
    let params = web::Query::<GetParams>::from_query(query_string)
        .map_err(|err| malformed(&err))?
        .into_inner();
    let variables = match params.variables.as_deref() {
        Some(json) => serde_json::from_str(json).map_err(|err| malformed(&err))?,
        None => Variables::default(),
    };
    let extensions = match params.extensions.as_deref() {
        Some(json) => serde_json::from_str(json).map_err(|err| malformed(&err))?,
        None => None,
    };
    Params {
        query: params.query,
        operation_name: params.operation_name,
        variables,
        extensions,
    }
    .into_request()
}

/// The parameters of a GraphQL-over-HTTP request, typed strictly: a parameter of another type
/// makes the request malformed (400) rather than something else.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Params {
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    operation_name: Option<String>,
    #[serde(default)]
    variables: Variables,
    #[serde(default)]
    extensions: Option<HashMap<String, Value>>,
}

impl Params {
    fn into_request(self) -> Result<async_graphql::Request, String> {
        let mut request =
            async_graphql::Request::new(self.query.unwrap_or_default()).variables(self.variables);
        request.operation_name = self.operation_name;
        request.extensions = async_graphql::Extensions(self.extensions.unwrap_or_default());
        if lacks_query(&request) {
            return Err("the request has no query".to_owned());
        }
        Ok(request)
    }
}

/// No document: neither a `query` nor a persisted query's hash in its place.
fn lacks_query(request: &async_graphql::Request) -> bool {
    request.query.is_empty() && !request.extensions.contains_key("persistedQuery")
}

/// A JSON body: one request (an object) or a batch (a non-empty array of them).
fn parse_json(body: &[u8]) -> Result<BatchRequest, String> {
    let malformed = |err: serde_json::Error| format!("malformed request: {err}");
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err("the request body is empty".to_owned());
    }
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        let batch: Vec<Params> = serde_json::from_slice(body).map_err(malformed)?;
        if batch.is_empty() {
            return Err("a batch holds at least one operation".to_owned());
        }
        let requests = batch
            .into_iter()
            .map(Params::into_request)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(BatchRequest::Batch(requests))
    } else {
        let params: Params = serde_json::from_slice(body).map_err(malformed)?;
        Ok(BatchRequest::Single(params.into_request()?))
    }
}

/// Whether a response is a request error: nothing executed (`data` null) and no error belongs
/// to a field (has a `path`). Such a response has no `data` entry.
fn is_request_error(response: &Response) -> bool {
    response.data == Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| error.path.is_empty())
}

/// The status of a request error under `application/graphql-response+json`.
fn request_error_status(response: &Response) -> StatusCode {
    let internal = response.errors.iter().any(|error| {
        error
            .extensions
            .as_ref()
            .and_then(|ext| ext.get("code"))
            .is_some_and(|code| *code == Value::from("INTERNAL"))
    });
    if internal {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::BAD_REQUEST
    }
}

/// A response as the spec writes it: `data` only when execution started.
#[derive(Serialize)]
struct Body<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a Value>,
    #[serde(skip_serializing_if = "<[ServerError]>::is_empty")]
    errors: &'a [ServerError],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    extensions: &'a BTreeMap<String, Value>,
}

impl<'a> From<&'a Response> for Body<'a> {
    fn from(response: &'a Response) -> Self {
        Body {
            data: (!is_request_error(response)).then_some(&response.data),
            errors: &response.errors,
            extensions: &response.extensions,
        }
    }
}

/// The answer written out in `media`, gzipped when the client takes it (see `compress`). At
/// the fast level (nginx's default too) the benchmark's nested answer goes from 114 KB to 21
/// KB in 0.10 ms; level 3 would make 15 KB in 0.26 ms, level 6 14 KB in 0.40 ms.
fn respond(req: &HttpRequest, media: Media, answer: Answer) -> HttpResponse {
    let (status, body, batch) = match answer {
        Answer::Single(response) => {
            let status = if media == Media::GraphqlResponse && is_request_error(&response) {
                request_error_status(&response)
            } else {
                StatusCode::OK
            };
            let body = serde_json::to_vec(&Body::from(&response));
            (status, body, Some(BatchResponse::Single(response)))
        }
        Answer::Batch(responses) => {
            let bodies: Vec<Body<'_>> = responses.iter().map(Body::from).collect();
            let body = serde_json::to_vec(&bodies);
            (StatusCode::OK, body, Some(BatchResponse::Batch(responses)))
        }
        Answer::Refused(status, response) => {
            (status, serde_json::to_vec(&Body::from(&response)), None)
        }
    };
    let Ok(body) = body else {
        tracing::error!("an answer could not be written as JSON");
        return HttpResponse::InternalServerError()
            .insert_header((header::CONTENT_TYPE, media.content_type()))
            .body(r#"{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}"#);
    };
    let mut builder = HttpResponse::build(status);
    builder.insert_header((header::CONTENT_TYPE, media.content_type()));
    if let Some(batch) = &batch {
        // A batch is as cacheable as its least cacheable answer.
        if batch.is_ok()
            && let Some(value) = batch.cache_control().value()
        {
            builder.insert_header((header::CACHE_CONTROL, value));
        }
        for (name, value) in batch.http_headers_iter() {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_str().as_bytes()),
                HeaderValue::from_bytes(value.as_bytes()),
            ) {
                builder.append_header((name, value));
            }
        }
    }
    compress::gzip(
        builder.body(body),
        compress::accepts_gzip(req),
        Compression::fast(),
    )
}

/// 406: the client takes neither JSON media type. Said in JSON all the same.
fn not_acceptable(req: &HttpRequest) -> HttpResponse {
    respond(
        req,
        Media::Json,
        Answer::refused(
            StatusCode::NOT_ACCEPTABLE,
            "the answer is application/graphql-response+json or application/json: accept one",
        ),
    )
}

fn coded_response(message: &str, code: &str, request_id: Option<Uuid>) -> Response {
    let mut error = ServerError::new(message, None);
    let ext = error.extensions.get_or_insert_with(Default::default);
    ext.set("code", code);
    if let Some(id) = request_id {
        ext.set("requestId", id.to_string());
    }
    Response::from_errors(vec![error])
}

/// Runs one operation of a POST.
async fn run(
    schema: &Pipeline,
    state: &AppState,
    req: &HttpRequest,
    request: async_graphql::Request,
) -> Response {
    match prepare(state, req, request).await {
        Ok((request, request_id)) => schema.run(request, request_id).await,
        Err(response) => response,
    }
}

/// The request with what resolvers need (the client, the viewer from the bearer token, the
/// loaders), and its id; an INTERNAL response when the token could not be looked up.
async fn prepare(
    state: &AppState,
    req: &HttpRequest,
    mut request: async_graphql::Request,
) -> Result<(async_graphql::Request, Uuid), Response> {
    let request_id = Uuid::now_v7();
    request = request.data(client_info(req));
    let mut viewer_id = None;
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(auth::bearer);
    if let Some(token) = token {
        match auth::resolve_token(state, token).await {
            Ok(Some(viewer)) => {
                viewer_id = Some(viewer.id());
                request = request.data(viewer);
            }
            Ok(None) => {}
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
    Ok((request, request_id))
}

fn client_info(req: &HttpRequest) -> ClientInfo {
    ClientInfo {
        ip: req.peer_addr().map(|addr| addr.ip().to_string()),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned),
    }
}
