//! `POST /graphql` (and `GET /graphql?query=...` for queries) and the GraphiQL page at `/`.
//!
//! The viewer is resolved here once per request from `Authorization: Bearer <token>`; a missing
//! or invalid token makes an anonymous request, so `me` is null and protected fields answer
//! UNAUTHENTICATED.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, Responder as _, web};
use async_graphql::parser::types::OperationType;
use async_graphql_actix_web::{GraphQLRequest, GraphQLResponse};
use uuid::Uuid;

use crate::auth::{self, ClientInfo};
use crate::graphql::{AppSchema, RequestId, loaders};
use crate::state::AppState;

/// Executes one GraphQL request sent with POST (JSON or multipart). A body that cannot be
/// read (malformed JSON, an upload past the size limit) still gets a GraphQL error with a code.
pub async fn execute(
    schema: web::Data<AppSchema>,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Result<GraphQLRequest, actix_web::Error>,
) -> GraphQLResponse {
    match body {
        Ok(body) => run(&schema, &state, &req, body.into_inner()).await,
        Err(err) => {
            let text = err.to_string();
            let message = if text.contains("size limit")
                || text.contains("too large")
                || text.contains("exceeded")
            {
                format!("request too large: {text}")
            } else {
                format!("malformed request: {text}")
            };
            coded_error(&message, "BAD_USER_INPUT", None)
        }
    }
}

/// `GET /graphql`: a WebSocket upgrade, or a query in the query string. GET carries queries
/// only, so following a link cannot change anything.
pub async fn get(
    schema: web::Data<AppSchema>,
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
    let response = match async_graphql::http::parse_query_string(req.query_string()) {
        Ok(mut request) => {
            if is_mutation(&mut request) {
                coded_error("mutations must be sent with POST", "BAD_USER_INPUT", None)
            } else {
                run(&schema, &state, &req, request).await
            }
        }
        Err(err) => coded_error(&format!("malformed request: {err}"), "BAD_USER_INPUT", None),
    };
    Ok(response.respond_to(&req).map_into_boxed_body())
}

fn is_mutation(request: &mut async_graphql::Request) -> bool {
    // An unparsable document is left for execution to report.
    request.parsed_query().is_ok_and(|doc| {
        doc.operations
            .iter()
            .any(|(_, op)| op.node.ty == OperationType::Mutation)
    })
}

fn coded_error(message: &str, code: &str, request_id: Option<Uuid>) -> GraphQLResponse {
    let mut error = async_graphql::ServerError::new(message, None);
    let ext = error.extensions.get_or_insert_with(Default::default);
    ext.set("code", code);
    if let Some(id) = request_id {
        ext.set("requestId", id.to_string());
    }
    async_graphql::Response::from_errors(vec![error]).into()
}

async fn run(
    schema: &AppSchema,
    state: &AppState,
    req: &HttpRequest,
    mut request: async_graphql::Request,
) -> GraphQLResponse {
    let request_id = Uuid::now_v7();
    request = request.data(RequestId(request_id)).data(client_info(req));
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
                return coded_error("internal error", "INTERNAL", Some(request_id));
            }
        }
    }
    request = request.data(loaders::for_request(state.clone(), viewer_id));
    schema.execute(request).await.into()
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
