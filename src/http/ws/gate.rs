//! The gate every client message passes before async-graphql's protocol sees it: the
//! graphql-transport-ws rules (init first and once, known message types, unique operation ids)
//! and the per-socket operation count.

use std::collections::HashSet;

use async_graphql::http::WebSocketProtocols;

use super::{BAD_REQUEST, SUBSCRIBER_EXISTS, TOO_MANY, UNAUTHORIZED};

pub(super) enum Admit {
    Forward,
    /// Answer the client with this message instead of starting the operation.
    Refuse(String),
    /// Close the socket with this code and reason.
    Close(u16, String),
}

/// What the socket has seen of the client's messages: whether it sent `connection_init`, and
/// the operations it runs.
pub(super) struct Gate {
    protocol: WebSocketProtocols,
    /// Operations one socket may run at once.
    max: usize,
    pub(super) operations: HashSet<String>,
    initialised: bool,
}

impl Gate {
    pub(super) fn new(protocol: WebSocketProtocols, max: usize) -> Gate {
        Gate {
            protocol,
            max,
            operations: HashSet::new(),
            initialised: false,
        }
    }

    /// Sees every client message before async-graphql does. Counts the operations a client
    /// starts and stops, and refuses one past the limit with a RATE_LIMITED error for that
    /// operation id, leaving the socket and its other operations alone. Under
    /// graphql-transport-ws, also closes the socket as its PROTOCOL.md says.
    pub(super) fn admit(&mut self, text: &str) -> Admit {
        let message = serde_json::from_str::<serde_json::Value>(text);
        if self.protocol == WebSocketProtocols::GraphQLWS
            && let Some(close) = self.transport_violation(message.as_ref().ok())
        {
            return close;
        }
        let Ok(message) = message else {
            return Admit::Forward; // the legacy protocol answers malformed messages itself
        };
        let id = message["id"].as_str().unwrap_or_default().to_owned();
        match message["type"].as_str() {
            Some("subscribe" | "start") => {
                if self.operations.len() >= self.max && !self.operations.contains(&id) {
                    let max = self.max;
                    let error = serde_json::json!({
                        "message": format!("at most {max} operations may run on one socket"),
                        "extensions": { "code": "RATE_LIMITED" },
                    });
                    let payload = match self.protocol {
                        WebSocketProtocols::GraphQLWS => serde_json::json!([error]),
                        WebSocketProtocols::SubscriptionsTransportWS => error,
                    };
                    return Admit::Refuse(
                        serde_json::json!({ "id": id, "type": "error", "payload": payload })
                            .to_string(),
                    );
                }
                self.operations.insert(id);
            }
            Some("complete" | "stop") => {
                self.operations.remove(&id);
            }
            _ => {}
        }
        Admit::Forward
    }

    /// The close a graphql-transport-ws message calls for, if any: 4400 for a message that is
    /// not one of the protocol's (not JSON, an unknown type, a missing or mistyped field), 4429
    /// for a second `connection_init`, 4401 for `subscribe` before `connection_init`, 4409 for
    /// a `subscribe` whose id is still running.
    fn transport_violation(&mut self, message: Option<&serde_json::Value>) -> Option<Admit> {
        let bad = |reason: &str| Some(Admit::Close(BAD_REQUEST, reason.to_owned()));
        let Some(message) = message else {
            return bad("Invalid message received: not JSON");
        };
        let Some(kind) = message.get("type").and_then(serde_json::Value::as_str) else {
            return bad("Invalid message received: no type");
        };
        let payload = message.get("payload");
        let payload_is_map = payload.is_none_or(|p| p.is_object() || p.is_null());
        let id = message.get("id").and_then(serde_json::Value::as_str);
        match kind {
            "connection_init" => {
                if !payload_is_map {
                    return bad("Invalid message received: connection_init payload");
                }
                if self.initialised {
                    return Some(Admit::Close(
                        TOO_MANY,
                        "Too many initialisation requests".to_owned(),
                    ));
                }
                self.initialised = true;
                None
            }
            "ping" | "pong" => (!payload_is_map).then(|| {
                Admit::Close(
                    BAD_REQUEST,
                    format!("Invalid message received: {kind} payload"),
                )
            }),
            "subscribe" => {
                let Some(id) = id.filter(|id| !id.is_empty()) else {
                    return bad("Invalid message received: subscribe without an id");
                };
                if !payload.is_some_and(serde_json::Value::is_object) {
                    return bad("Invalid message received: subscribe without a payload");
                }
                if !self.initialised {
                    return Some(Admit::Close(UNAUTHORIZED, "Unauthorized".to_owned()));
                }
                if self.operations.contains(id) {
                    return Some(Admit::Close(
                        SUBSCRIBER_EXISTS,
                        close_reason(format!("Subscriber for {id} already exists")),
                    ));
                }
                None
            }
            "complete" => {
                if id.is_none() {
                    return bad("Invalid message received: complete without an id");
                }
                None
            }
            _ => bad("Invalid message received: unknown type"),
        }
    }

    /// The close code for one async-graphql chose: under graphql-transport-ws, a message it
    /// could not read (1002) is the protocol's 4400.
    pub(super) fn close_code(&self, code: u16, reason: String) -> (u16, String) {
        if self.protocol == WebSocketProtocols::GraphQLWS && code == 1002 {
            (
                BAD_REQUEST,
                close_reason(format!("Invalid message received: {reason}")),
            )
        } else {
            (code, reason)
        }
    }
}

/// A close frame's reason holds at most 123 bytes.
fn close_reason(mut reason: String) -> String {
    if reason.len() > 123 {
        let mut end = 120;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
        reason.push_str("...");
    }
    reason
}

/// Forgets operations the server finished (`complete`, or an `error` that ends them).
pub(super) fn finished(text: &str, operations: &mut HashSet<String>) {
    // Results are frequent, and async-graphql writes the type first: parse only the messages
    // that end an operation.
    if operations.is_empty()
        || !(text.starts_with(r#"{"type":"complete""#) || text.starts_with(r#"{"type":"error""#))
    {
        return;
    }
    if let Ok(message) = serde_json::from_str::<serde_json::Value>(text)
        && matches!(message["type"].as_str(), Some("complete" | "error"))
        && let Some(id) = message["id"].as_str()
    {
        operations.remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::finished;

    #[test]
    fn finished_forgets_only_operations_the_server_ended() {
        let mut operations: super::HashSet<String> =
            ["1".to_owned(), "2".to_owned(), "3".to_owned()].into();
        finished(
            r#"{"type":"next","id":"1","payload":{"data":{"type":"complete"}}}"#,
            &mut operations,
        );
        finished(r#"{"type":"data","id":"1","payload":{}}"#, &mut operations);
        assert_eq!(operations.len(), 3);
        finished(r#"{"type":"complete","id":"1"}"#, &mut operations);
        finished(r#"{"type":"error","id":"2","payload":[]}"#, &mut operations);
        assert_eq!(operations, ["3".to_owned()].into());
    }
}
