//! GraphQL over WebSocket on `/graphql`: `graphql-transport-ws` and the legacy `graphql-ws`,
//! chosen by the `Sec-WebSocket-Protocol` header.
//!
//! A handshake whose `Origin` is another site's is refused with 403 unless `--cors-origins`
//! allows it (`super::cors`); one without `Origin` (not a browser) goes ahead.
//!
//! The protocol itself is async-graphql's; this module owns the socket around it:
//! - auth from the `connection_init` payload (`{"Authorization": "Bearer ..."}`), or without
//!   a token there from the handshake's session cookie (`--cookie-sessions`, a page of
//!   Confab's own origin or a listed one: see `cookie_token`); a missing or
//!   bad token closes the socket with 4401 and the reason `missing`, `expired`, `revoked` or
//!   `invalid`, as does revoking the session later (`revoked`); a ban
//!   (`banUser`) revokes the user's sessions and closes their sockets with 4403 "banned";
//! - no `connection_init` within [`INIT_TIMEOUT`] closes with 4408;
//! - a message past `--max-ws-message-bytes` closes with 1009 (message too big);
//! - a client that does not read (a send blocked for [`SEND_TIMEOUT`], or a subscription that
//!   fell a full buffer behind) is closed with 1008 "slow consumer", so it cannot grow memory;
//! - presence: the user is online while the socket is open; the server pings every socket
//!   (`--ws-ping-secs`) and closes one silent for two periods with 1001 ([`heartbeat`]);
//! - a process that stops closes its sockets with 1012 "service restart" after draining
//!   (`super::drain`): the client should reconnect, to another process behind the balancer;
//!   so does one whose Redis subscription comes back after an outage (reason "events
//!   interrupted", spread over [`realtime::RESUME_SPREAD`]): what other processes published
//!   meanwhile never reached it, and a client reconnecting with `roomEvents(after:)` catches up;
//! - graphql-transport-ws's close codes (PROTOCOL.md of graphql-ws), checked in [`Gate::admit`]
//!   before async-graphql sees a message: a message that is not JSON, of an unknown type or of
//!   the wrong shape closes with 4400; `subscribe` before `connection_init` with 4401; a second
//!   `connection_init` with 4429; a `subscribe` whose id is still running with 4409 "Subscriber
//!   for <id> already exists". The legacy protocol keeps async-graphql's behaviour.

use std::ops::ControlFlow;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, Session};
use async_graphql::Data;
use async_graphql::http::{WebSocket, WebSocketProtocols, WsMessage};
use futures_util::StreamExt;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_stream::wrappers::ReceiverStream;

use crate::auth::{self, ClientInfo, Viewer};
use crate::graphql::subscription::ConnectionControl;
use crate::graphql::{Pipeline, loaders};
use crate::http::cors::Origins;
use crate::http::drain::{Drain, SERVICE_RESTART};
use crate::realtime::{self, Event, Topic};
use crate::service;
use crate::state::AppState;

mod cookie;
mod gate;
mod heartbeat;

use cookie::cookie_token;
use gate::{Admit, Gate, finished};
use heartbeat::{Beat, Heartbeat};

pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// The peer answered no ping for two periods (`--ws-ping-secs`).
const GOING_AWAY: u16 = 1001;
const BAD_REQUEST: u16 = 4400;
const UNAUTHORIZED: u16 = 4401;
/// The user was banned (`banUser`): their sessions are revoked and sockets closed with this.
const BANNED: u16 = 4403;
const INIT_TIMED_OUT: u16 = 4408;
const SUBSCRIBER_EXISTS: u16 = 4409;
const TOO_MANY: u16 = 4429;
const TOO_MANY_SOCKETS: &str = "too many open sockets for this user";

/// Upgrades `GET /graphql` to a WebSocket and serves it until either side closes.
pub async fn upgrade(
    req: HttpRequest,
    body: web::Payload,
    schema: web::Data<Pipeline>,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    // A page of another origin opens sockets only where `--cors-origins` allows it (embedders
    // that serve `routes` without `server` get the same-origin rule).
    if !Origins::of(&req).websocket_allowed(req.head()) {
        return Ok(HttpResponse::Forbidden()
            .content_type("text/plain; charset=utf-8")
            .body("this page's origin may not open a WebSocket here (see --cors-origins)"));
    }
    let cookie = cookie_token(&req, &state);
    let protocol = req
        .headers()
        .get_all(actix_web::http::header::SEC_WEBSOCKET_PROTOCOL)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|name| WebSocketProtocols::from_str(name.trim()).ok())
        .unwrap_or(WebSocketProtocols::GraphQLWS);
    let (response, session, messages) =
        actix_ws::handle_with_protocols(&req, body, &["graphql-transport-ws", "graphql-ws"])?;
    let limit = state.config.limits.ws_message_bytes;
    let messages = messages
        .max_frame_size(limit)
        .aggregate_continuations()
        .max_continuation_size(limit);
    let schema = schema.get_ref().clone();
    let state = state.get_ref().clone();
    // Operations on the socket (a `login` over it, say) see the handshake's address and
    // user agent, as HTTP requests see theirs: rate limits and the sign-in guard key on it.
    let client = super::graphql::client_info(&req);
    let drain = req
        .app_data::<web::Data<Drain>>()
        .map(|drain| drain.get_ref().clone())
        .unwrap_or_default();
    let closer = session.clone();
    let resumed = state.broker.resumptions();
    let serving = serve(schema, state, protocol, client, cookie, session, messages);
    actix_web::rt::spawn(until_drained(serving, drain, resumed, closer));
    Ok(response)
}

/// Runs the socket; when the process drains first, or its Redis link comes back after an
/// outage ([`realtime::resumed`]), closes it with 1012 and lets `serving` finish (it sees the
/// socket end and cleans up: presence, subscriptions).
async fn until_drained(
    serving: impl Future<Output = ()>,
    drain: Drain,
    resumed: Option<watch::Receiver<u64>>,
    session: Session,
) {
    tokio::pin!(serving);
    let description = tokio::select! {
        () = &mut serving => return,
        () = drain.sockets_closing() => "service restart: reconnect",
        () = realtime::resumed(resumed) => "events interrupted: reconnect",
    };
    let reason = CloseReason {
        code: CloseCode::from(SERVICE_RESTART),
        description: Some(description.to_owned()),
    };
    let _ = session.close(Some(reason)).await;
    serving.await;
}

async fn serve(
    schema: Pipeline,
    state: AppState,
    protocol: WebSocketProtocols,
    client: ClientInfo,
    cookie: Option<String>,
    session: Session,
    mut incoming: actix_ws::AggregatedMessageStream,
) {
    let _open = crate::telemetry::Live::new("confab_websocket_connections");
    let control = ConnectionControl::default();
    let (to_protocol, from_client) = mpsc::channel::<String>(32);
    let (signed_in, mut viewer_rx) = oneshot::channel::<Viewer>();
    let mut signed_in = Some(signed_in);
    let init_state = state.clone();
    let init_control = control.clone();
    // Why the init callback refused the connection, for the close: a plain slot, as every
    // socket holds it (a tokio channel allocates a block of 32 slots up front).
    let refused: Arc<OnceLock<(u16, &'static str)>> = Arc::default();
    let init_refused = Arc::clone(&refused);
    let mut protocol_out = WebSocket::new(schema, ReceiverStream::new(from_client), protocol)
        .on_connection_init(move |payload| {
            let state = init_state.clone();
            let control = init_control.clone();
            let signed_in = signed_in.take();
            let refused = Arc::clone(&init_refused);
            let client = client.clone();
            let cookie = cookie.clone();
            async move {
                match authenticate(&state, &payload, cookie.as_deref()).await {
                    Ok(viewer)
                        if state.presence.local_count(viewer.id())
                            >= state.config.limits.sockets_per_user =>
                    {
                        let _ = refused.set((TOO_MANY, TOO_MANY_SOCKETS));
                        Err(async_graphql::Error::new(TOO_MANY_SOCKETS))
                    }
                    Ok(viewer) => {
                        let mut data = Data::default();
                        data.insert(loaders::for_request(state.clone(), Some(viewer.id())));
                        data.insert(control);
                        data.insert(client);
                        data.insert(viewer.clone());
                        if let Some(tx) = signed_in {
                            let _ = tx.send(viewer);
                        }
                        Ok(data)
                    }
                    Err(reason) => {
                        let _ = refused.set((UNAUTHORIZED, reason));
                        Err(async_graphql::Error::new(
                            "unauthorized: send a valid Authorization token",
                        ))
                    }
                }
            }
        })
        .boxed();

    let mut session = Some(session);
    let mut gate = Gate::new(protocol, state.config.limits.subscriptions_per_socket);
    let mut viewer: Option<Viewer> = None;
    let mut revoked: Option<tokio::sync::broadcast::Receiver<std::sync::Arc<Event>>> = None;
    let deadline = tokio::time::sleep(INIT_TIMEOUT);
    tokio::pin!(deadline);
    let mut heartbeat = Heartbeat::new(state.config.limits.ws_ping_secs);
    let close: Option<(u16, String)> = loop {
        tokio::select! {
            frame = incoming.next() => match heartbeat.heard_then(frame) {
                Some(Ok(AggregatedMessage::Text(text))) => {
                    if let ControlFlow::Break(close) =
                        take_text(&mut gate, text.to_string(), &to_protocol, &mut session).await
                    {
                        break close;
                    }
                }
                Some(Ok(AggregatedMessage::Binary(bytes))) => match String::from_utf8(bytes.to_vec()) {
                    Ok(text) => {
                        if let ControlFlow::Break(close) =
                            take_text(&mut gate, text, &to_protocol, &mut session).await
                        {
                            break close;
                        }
                    }
                    Err(_) => break Some((1007, "frames must be UTF-8 JSON".to_owned())),
                },
                Some(Ok(AggregatedMessage::Ping(bytes))) => {
                    if let Some(s) = session.as_mut()
                        && s.pong(&bytes).await.is_err()
                    {
                        break None;
                    }
                }
                Some(Ok(AggregatedMessage::Pong(_))) => {}
                Some(Ok(AggregatedMessage::Close(_))) | None => break None,
                Some(Err(actix_ws::ProtocolError::Overflow)) => {
                    break Some((1009, "message too big".to_owned()));
                }
                Some(Err(_)) => break Some((1002, "protocol error".to_owned())),
            },
            out = protocol_out.next() => match out {
                Some(WsMessage::Text(text)) => {
                    finished(&text, &mut gate.operations);
                    let Some(s) = session.as_mut() else { break None };
                    match tokio::time::timeout(SEND_TIMEOUT, s.text(text)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => break None,
                        Err(_) => break Some((1008, "slow consumer".to_owned())),
                    }
                }
                Some(WsMessage::Close(code, reason)) => {
                    break Some(refusal(&refused).unwrap_or_else(|| gate.close_code(code, reason)));
                }
                None => {
                    break Some(refusal(&refused).unwrap_or((1000, String::new())));
                }
            },
            Ok(v) = &mut viewer_rx, if viewer.is_none() => {
                revoked = Some(state.broker.subscribe(Topic::Session(v.session_id)));
                // Boxed, as are the other rare awaits with database or Redis calls: a task is
                // as big as its biggest await, and every idle socket's task would carry them.
                Box::pin(went_online(&state, &v)).await;
                viewer = Some(v);
            }
            event = async { match revoked.as_mut() { Some(rx) => rx.recv().await.ok(), None => std::future::pending().await } } => {
                if let Some(event) = event
                    && matches!(*event, Event::SessionRevoked { .. })
                {
                    let banned = match viewer.as_ref() {
                        Some(v) => Box::pin(service::session::banned(&state, v.id())).await.unwrap_or(false),
                        None => false,
                    };
                    break Some(if banned {
                        (BANNED, "banned".to_owned())
                    } else {
                        (UNAUTHORIZED, "revoked".to_owned())
                    });
                }
            }
            () = control.slow.notified() => break Some((1008, "slow consumer".to_owned())),
            beat = heartbeat.due() => match beat {
                Beat::Silent => break Some((GOING_AWAY, "no answer to ping".to_owned())),
                Beat::Ping => {
                    let Some(s) = session.as_mut() else { break None };
                    if s.ping(b"").await.is_err() {
                        break None;
                    }
                }
            },
            () = &mut deadline, if viewer.is_none() => {
                break Some((INIT_TIMED_OUT, "connection initialisation timeout".to_owned()));
            }
        }
    };
    if let Some(s) = session.take() {
        let reason = close.map(|(code, description)| CloseReason {
            code: CloseCode::from(code),
            description: Some(description).filter(|d| !d.is_empty()),
        });
        let _ = s.close(reason).await;
    }
    if let Some(v) = viewer {
        Box::pin(went_offline(&state, &v)).await;
    }
}

/// Passes one client message through the gate: on to the protocol, answered here, or the
/// socket closed (`Break` with the close code, or `None` when the socket is gone).
async fn take_text(
    gate: &mut Gate,
    text: String,
    to_protocol: &mpsc::Sender<String>,
    session: &mut Option<Session>,
) -> ControlFlow<Option<(u16, String)>> {
    match gate.admit(&text) {
        Admit::Forward => {
            if to_protocol.send(text).await.is_err() {
                return ControlFlow::Break(None);
            }
        }
        Admit::Refuse(reply) => {
            let Some(s) = session.as_mut() else {
                return ControlFlow::Break(None);
            };
            if s.text(reply).await.is_err() {
                return ControlFlow::Break(None);
            }
        }
        Admit::Close(code, reason) => return ControlFlow::Break(Some((code, reason))),
    }
    ControlFlow::Continue(())
}

/// Why the init callback refused the connection, if it did: the close code to use.
fn refusal(refused: &OnceLock<(u16, &'static str)>) -> Option<(u16, String)> {
    refused
        .get()
        .map(|&(code, reason)| (code, reason.to_owned()))
}

/// The viewer named by the init payload's `Authorization` (or `authorization`) value, else by
/// the handshake's session cookie, or why there is none, the close reason: `missing`,
/// `expired`, `revoked` or `invalid` (as UNAUTHENTICATED's `extensions.reason` over HTTP).
async fn authenticate(
    state: &AppState,
    payload: &serde_json::Value,
    cookie: Option<&str>,
) -> Result<Viewer, &'static str> {
    let header = ["Authorization", "authorization"]
        .iter()
        .find_map(|key| payload.get(key).and_then(|v| v.as_str()));
    let token = match (header, cookie) {
        (Some(header), _) => auth::bearer(header).ok_or("invalid")?,
        (None, Some(cookie)) => cookie,
        (None, None) => return Err("missing"),
    };
    match crate::service::session::resolve_token(state, token).await {
        Ok(Some(viewer)) => Ok(viewer),
        Ok(None) => Err(crate::service::session::refusal(state, token)
            .await
            .unwrap_or("invalid")),
        Err(err) => {
            tracing::error!(error = ?err, "resolving a WebSocket token");
            Err("invalid")
        }
    }
}

async fn went_online(state: &AppState, viewer: &Viewer) {
    if state.presence.connect(viewer.id()).await {
        service::presence::announce(state, viewer.id(), true).await;
    }
}

async fn went_offline(state: &AppState, viewer: &Viewer) {
    if state.presence.disconnect(viewer.id()).await {
        service::presence::announce(state, viewer.id(), false).await;
    }
}
