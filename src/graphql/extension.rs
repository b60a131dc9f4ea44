//! Every request gets an id and a tracing span; every error leaves with an `extensions.code`.
//!
//! Errors raised by services already carry a code. What async-graphql raises itself (syntax,
//! validation, depth and complexity limits, input coercion such as a malformed UUID) is the
//! client's doing, so it is labelled BAD_USER_INPUT. INTERNAL errors get the request id, which
//! is also on the log line that holds the details.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextRequest,
};
use async_graphql::{Response, Value};
use tracing::Instrument;
use uuid::Uuid;

/// The id of one GraphQL request, as logged and as returned with INTERNAL errors.
#[derive(Debug, Clone, Copy)]
pub struct RequestId(pub Uuid);

pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequestScope::default())
    }
}

/// One per request: remembers the operation name for the metrics.
#[derive(Default)]
struct RequestScope {
    operation: std::sync::Mutex<Option<String>>,
}

#[async_graphql::async_trait::async_trait]
impl Extension for RequestScope {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        if let Ok(mut slot) = self.operation.lock() {
            *slot = Some(crate::telemetry::operation_label(operation_name));
        }
        crate::telemetry::record_operation(&tracing::Span::current(), operation_name);
        next.run(ctx, operation_name).await
    }

    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let started = std::time::Instant::now();
        let request_id = ctx
            .data_opt::<RequestId>()
            .map_or_else(Uuid::now_v7, |id| id.0);
        let span = crate::telemetry::operation_span(request_id);
        let mut response = next.run(ctx).instrument(span).await;
        for error in &mut response.errors {
            let ext = error.extensions.get_or_insert_with(Default::default);
            match ext.get("code") {
                None => ext.set("code", "BAD_USER_INPUT"),
                Some(Value::String(code)) if code == "INTERNAL" => {
                    ext.set("requestId", request_id.to_string())
                }
                Some(_) => {}
            }
        }
        let outcome = match response.errors.first().and_then(|e| e.extensions.as_ref()) {
            None => "ok".to_owned(),
            Some(ext) => match ext.get("code") {
                Some(Value::String(code)) => code.clone(),
                _ => "error".to_owned(),
            },
        };
        let operation = self
            .operation
            .lock()
            .ok()
            .and_then(|mut slot| slot.take())
            .unwrap_or_else(|| "unparsed".to_owned());
        crate::telemetry::operation(operation, &outcome, started.elapsed());
        response
    }
}
