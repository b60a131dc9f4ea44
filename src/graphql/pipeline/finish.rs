//! The end of every operation's path: an `extensions.code` on every error, the request id on
//! INTERNAL ones, async-graphql's own errors worded for clients, and the operation's metrics.

use std::time::Instant;

use async_graphql::{Response, ServerError, Value};
use uuid::Uuid;

use crate::graphql::wording::{self, Source};

/// Gives every error a code, and INTERNAL ones the request id; words async-graphql's own
/// errors for clients (`wording`); with a metrics `label`, records the operation's outcome and
/// time.
pub(super) fn finish(
    mut response: Response,
    request_id: Uuid,
    label: Option<&str>,
    started: Instant,
    source: Option<&Source>,
) -> Response {
    for error in &mut response.errors {
        let code = match error.extensions.as_ref().and_then(|ext| ext.get("code")) {
            Some(Value::String(code)) => Some(code.clone()),
            Some(_) => Some(String::new()),
            None => None,
        };
        match code.as_deref() {
            None if error.path.is_empty() || is_input_error(&error.message) => {
                set(error, "code", "BAD_USER_INPUT");
            }
            None => {
                // A resolver failed without saying why in a code: ours to fix, not the
                // client's. The details go to the log, under this request's id.
                tracing::error!(
                    %request_id,
                    path = ?error.path,
                    error = %error.message,
                    "uncoded resolver error"
                );
                error.message = "internal error".to_owned();
                set(error, "code", "INTERNAL");
                set(error, "requestId", &request_id.to_string());
            }
            Some("INTERNAL") => set(error, "requestId", &request_id.to_string()),
            Some(_) => {}
        }
        wording::reword(error, source);
    }
    if let Some(label) = label {
        crate::telemetry::operation(label.to_owned(), &outcome(&response), started.elapsed());
    }
    response
}

fn set(error: &mut ServerError, key: &str, value: &str) {
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set(key, value);
}

/// Whether an error raised while resolving a field is async-graphql refusing an argument's
/// value (a malformed UUID, a wrong type, an input validator), which is the client's doing.
/// These messages are async-graphql's `InputValueError` and `Variable ... is not defined`.
fn is_input_error(message: &str) -> bool {
    message.starts_with("Failed to parse \"")
        || message.starts_with("Expected input type \"")
        || (message.starts_with("Variable ") && message.ends_with(" is not defined."))
}

/// The metrics outcome: `ok`, or the first error's code.
fn outcome(response: &Response) -> String {
    match response.errors.first().and_then(|e| e.extensions.as_ref()) {
        None => "ok".to_owned(),
        Some(ext) => match ext.get("code") {
            Some(Value::String(code)) => code.clone(),
            _ => "error".to_owned(),
        },
    }
}
