//! A GraphQL-over-WebSocket test client speaking either protocol through awc.

use std::time::Duration;

use actix_codec::Framed;
use awc::BoxedSocket;
use awc::ws::{Codec, Frame, Message};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};

use crate::util::TestApp;

pub const TRANSPORT: &str = "graphql-transport-ws";
pub const LEGACY: &str = "graphql-ws";

pub struct Ws {
    framed: Framed<BoxedSocket, Codec>,
    protocol: &'static str,
    /// The reason of the close frame, once one arrived.
    pub close_reason: Option<String>,
}

/// What arrived: a protocol message, or the socket closing with a code.
#[derive(Debug)]
pub enum Got {
    Message(Value),
    Closed(Option<u16>),
    Nothing,
}

impl Ws {
    /// Opens a socket to `base` (http://host:port) and sends `connection_init` with `token`.
    pub async fn connect_to(base: &str, protocol: &'static str, token: Option<&str>) -> Ws {
        let mut ws = Self::open_to(base, protocol).await;
        let payload = match token {
            Some(token) => json!({ "Authorization": format!("Bearer {token}") }),
            None => json!({}),
        };
        ws.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        ws
    }

    /// Opens a socket to `base` (http://host:port) and sends nothing.
    pub async fn open_to(base: &str, protocol: &'static str) -> Ws {
        let url = format!("{}/graphql", base.replacen("http", "ws", 1));
        let (_, framed) = awc::Client::new()
            .ws(url)
            .protocols([protocol])
            .connect()
            .await
            .expect("websocket handshake");
        Self::from_framed(framed, protocol)
    }

    pub fn from_framed(framed: Framed<BoxedSocket, Codec>, protocol: &'static str) -> Ws {
        Ws {
            framed,
            protocol,
            close_reason: None,
        }
    }

    /// Sends a text frame as it is (for malformed messages).
    pub async fn send_text(&mut self, text: &str) {
        self.framed
            .send(Message::Text(text.to_owned().into()))
            .await
            .expect("send frame");
    }

    pub async fn connect(app: &TestApp, protocol: &'static str, token: Option<&str>) -> Ws {
        Self::connect_to(&app.base, protocol, token).await
    }

    /// Connects and waits for `connection_ack`.
    pub async fn ready(app: &TestApp, protocol: &'static str, token: &str) -> Ws {
        let mut ws = Self::connect(app, protocol, Some(token)).await;
        match ws.recv().await {
            Got::Message(m) if m["type"] == "connection_ack" => ws,
            other => panic!("expected connection_ack, got {other:?}"),
        }
    }

    pub async fn send(&mut self, message: Value) {
        self.framed
            .send(Message::Text(message.to_string().into()))
            .await
            .expect("send frame");
    }

    /// The next protocol message (keep-alives skipped), within five seconds.
    pub async fn recv(&mut self) -> Got {
        self.recv_within(Duration::from_secs(5)).await
    }

    pub async fn recv_within(&mut self, limit: Duration) -> Got {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let frame = match tokio::time::timeout_at(deadline, self.framed.next()).await {
                Err(_) => return Got::Nothing,
                Ok(None) => return Got::Closed(None),
                Ok(Some(Err(_))) => return Got::Closed(None),
                Ok(Some(Ok(frame))) => frame,
            };
            match frame {
                Frame::Text(bytes) => {
                    let value: Value = serde_json::from_slice(&bytes).expect("JSON message");
                    if value["type"] == "ka" || value["type"] == "ping" || value["type"] == "pong" {
                        continue;
                    }
                    return Got::Message(value);
                }
                Frame::Close(reason) => {
                    self.close_reason = reason.as_ref().and_then(|r| r.description.clone());
                    return Got::Closed(reason.map(|r| r.code.into()));
                }
                _ => continue,
            }
        }
    }

    /// Reads for `period`, answering every ping frame with a pong, as a browser does: the pings
    /// seen, or the close code if the socket closed meanwhile.
    pub async fn answer_pings(&mut self, period: Duration) -> Result<usize, Option<u16>> {
        let deadline = tokio::time::Instant::now() + period;
        let mut pings = 0;
        loop {
            match tokio::time::timeout_at(deadline, self.framed.next()).await {
                Err(_) => return Ok(pings),
                Ok(Some(Ok(Frame::Ping(bytes)))) => {
                    pings += 1;
                    self.framed
                        .send(Message::Pong(bytes))
                        .await
                        .expect("send pong");
                }
                Ok(Some(Ok(Frame::Close(reason)))) => return Err(reason.map(|r| r.code.into())),
                Ok(None | Some(Err(_))) => return Err(None),
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// Starts operation `id` (`subscribe` or legacy `start`).
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        let kind = if self.protocol == TRANSPORT {
            "subscribe"
        } else {
            "start"
        };
        self.send(json!({ "id": id, "type": kind, "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The next result of operation `id` (`next` or legacy `data`): its `payload`.
    pub async fn next(&mut self, id: &str) -> Value {
        match self.recv().await {
            Got::Message(m) if m["id"] == id && (m["type"] == "next" || m["type"] == "data") => {
                m["payload"].clone()
            }
            other => panic!("expected a result for {id}, got {other:?}"),
        }
    }

    /// Waits for the socket to close; returns the close code.
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            match self.recv_within(Duration::from_secs(15)).await {
                Got::Closed(code) => return code,
                Got::Nothing => panic!("socket stayed open"),
                Got::Message(_) => continue,
            }
        }
    }
}
