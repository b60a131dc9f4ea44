//! Reading a request: a GET's query string or a POST's JSON body, each into a GraphQL request
//! or a reason it is malformed (multipart uploads: `spool`).

use std::collections::HashMap;

use actix_web::web;
use async_graphql::{BatchRequest, Value, Variables};
use serde::Deserialize;

/// What the body's `Content-Type` says it holds.
pub(super) enum BodyKind {
    Json,
    Multipart,
}

impl BodyKind {
    /// `application/json` (utf-8, the default) or `multipart/form-data`; `None` for anything else.
    pub(super) fn of(content_type: &str) -> Option<BodyKind> {
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

/// A GET's parameters: `query`, `operationName`, and `variables` and `extensions` as JSON.
/// (async-graphql's `parse_query_string` reads `operation_name`, not the spec's
/// `operationName`.)
pub(super) fn get_request(query_string: &str) -> Result<async_graphql::Request, String> {
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
pub(super) struct Params {
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
    pub(super) fn into_request(self) -> Result<async_graphql::Request, String> {
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
pub(super) fn lacks_query(request: &async_graphql::Request) -> bool {
    request.query.is_empty() && !request.extensions.contains_key("persistedQuery")
}

/// A JSON body: one request (an object) or a batch (a non-empty array of them).
pub(super) fn parse_json(body: &[u8]) -> Result<BatchRequest, String> {
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
