//! One subscriber socket: `graphql-transport-ws` handshake, a `roomEvents` subscription, and
//! the latency of every message the bench sent, from the send time the body carries.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use awc::ws::{Frame, Message};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::json;

use crate::layout::Plan;

const SUBSCRIPTION: &str = "subscription($room: UUID!) { roomEvents(roomId: $room) { __typename \
    ... on MessageAdded { message { id body createdAt sender { id username } } } } }";

/// What the coordinator and the socket tasks share across threads.
pub struct Shared {
    pub epoch: Instant,
    pub acked: AtomicUsize,
    pub failed: AtomicUsize,
    pub subscribed: AtomicUsize,
    pub warmed: AtomicUsize,
    pub deliveries: AtomicUsize,
    pub connect_slots: tokio::sync::Semaphore,
}

impl Shared {
    pub fn micros(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }

    pub fn delivered(&self) -> usize {
        self.deliveries.load(Ordering::Relaxed)
    }
}

/// What one socket saw.
#[derive(Default)]
pub struct SocketResult {
    /// Per measured round: how many copies of that round's message arrived.
    pub got: Vec<u16>,
    /// (round, latency µs, receive time µs since the epoch) per measured delivery.
    pub deliveries: Vec<(u16, u32, u64)>,
    pub failure: Option<String>,
    pub closed_early: bool,
    pub errors: usize,
}

#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    #[serde(default, borrow)]
    payload: Option<Payload<'a>>,
}

#[derive(Deserialize)]
struct Payload<'a> {
    #[serde(default, borrow)]
    data: Option<Data<'a>>,
}

#[derive(Deserialize)]
struct Data<'a> {
    #[serde(rename = "roomEvents", borrow)]
    room_events: Option<RoomEventJson<'a>>,
}

#[derive(Deserialize)]
struct RoomEventJson<'a> {
    #[serde(default, borrow)]
    message: Option<MessageJson<'a>>,
}

#[derive(Deserialize)]
struct MessageJson<'a> {
    body: &'a str,
}

/// A message body the bench sent: a warm-up, or measured round `round` sent at `sent` µs.
enum Body {
    Warmup,
    Measured { round: usize, sent: u64 },
}

fn parse_body(body: &str) -> Option<Body> {
    let mut words = body.split(' ');
    match words.next()? {
        "warmup" => Some(Body::Warmup),
        "fanout" => Some(Body::Measured {
            round: words.next()?.parse().ok()?,
            sent: words.next()?.parse().ok()?,
        }),
        _ => None,
    }
}

/// Holds one subscriber socket until told to stop.
pub async fn subscriber(
    ws_url: Arc<str>,
    room: Arc<str>,
    plan: Plan,
    rounds: usize,
    shared: Arc<Shared>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> SocketResult {
    let mut result = SocketResult {
        got: vec![0; rounds],
        deliveries: Vec::with_capacity(rounds),
        ..SocketResult::default()
    };
    // Held only while the handshake is in flight.
    let mut permit = shared.connect_slots.acquire().await.ok();
    let mut client = awc::Client::builder().timeout(Duration::from_secs(60));
    if let Some(source) = plan.source {
        client = client.local_address(source);
    }
    let client = client.finish();
    let connected = client
        .ws(&*ws_url)
        .protocols(["graphql-transport-ws"])
        .connect()
        .await;
    let mut framed = match connected {
        Ok((_, framed)) => framed,
        Err(err) => {
            shared.failed.fetch_add(1, Ordering::Relaxed);
            result.failure = Some(format!("handshake: {err}"));
            return result;
        }
    };
    let init = json!({ "type": "connection_init",
        "payload": { "Authorization": format!("Bearer bench-token-{}", plan.user) } });
    if let Err(err) = framed.send(Message::Text(init.to_string().into())).await {
        shared.failed.fetch_add(1, Ordering::Relaxed);
        result.failure = Some(format!("connection_init: {err}"));
        return result;
    }
    let mut acked = false;
    let mut warmed = false;
    loop {
        let frame = tokio::select! {
            frame = framed.next() => frame,
            _ = stop.changed() => break,
            () = tokio::time::sleep(Duration::from_secs(60)), if !acked => {
                result.failure = Some("no connection_ack within 60 s".to_owned());
                shared.failed.fetch_add(1, Ordering::Relaxed);
                break;
            }
        };
        let text = match frame {
            Some(Ok(Frame::Text(text))) => text,
            Some(Ok(Frame::Ping(bytes))) => {
                let _ = framed.send(Message::Pong(bytes)).await;
                continue;
            }
            Some(Ok(Frame::Close(reason))) => {
                result.closed_early = true;
                if !acked {
                    shared.failed.fetch_add(1, Ordering::Relaxed);
                    result.failure = Some(format!("closed before ack: {reason:?}"));
                }
                return result;
            }
            Some(Ok(_)) => continue,
            Some(Err(err)) => {
                result.closed_early = true;
                if !acked {
                    shared.failed.fetch_add(1, Ordering::Relaxed);
                    result.failure = Some(format!("protocol error before ack: {err}"));
                }
                return result;
            }
            None => {
                result.closed_early = true;
                if !acked {
                    shared.failed.fetch_add(1, Ordering::Relaxed);
                    result.failure = Some("closed before ack".to_owned());
                }
                return result;
            }
        };
        let received_at = shared.micros();
        let Ok(message) = serde_json::from_slice::<Incoming<'_>>(&text) else {
            result.errors += 1;
            if result.failure.is_none() {
                result.failure = Some(String::from_utf8_lossy(&text).into_owned());
            }
            continue;
        };
        match message.kind {
            "connection_ack" if !acked => {
                acked = true;
                permit.take();
                shared.acked.fetch_add(1, Ordering::Relaxed);
                let subscribe = json!({ "id": "1", "type": "subscribe", "payload": {
                    "query": SUBSCRIPTION, "variables": { "room": &*room } } });
                if framed
                    .send(Message::Text(subscribe.to_string().into()))
                    .await
                    .is_err()
                {
                    result.closed_early = true;
                    return result;
                }
                shared.subscribed.fetch_add(1, Ordering::Relaxed);
            }
            "next" => {
                let body = message
                    .payload
                    .and_then(|p| p.data)
                    .and_then(|d| d.room_events)
                    .and_then(|e| e.message)
                    .map(|m| m.body);
                match body.and_then(parse_body) {
                    // Each socket counts once, however many warm-ups it sees.
                    Some(Body::Warmup) if !warmed => {
                        warmed = true;
                        shared.warmed.fetch_add(1, Ordering::Relaxed);
                    }
                    Some(Body::Measured { round, sent }) if round < rounds => {
                        result.got[round] = result.got[round].saturating_add(1);
                        let latency = received_at.saturating_sub(sent).min(u32::MAX as u64);
                        result
                            .deliveries
                            .push((round as u16, latency as u32, received_at));
                        shared.deliveries.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {}
                }
            }
            "ping" => {
                let _ = framed
                    .send(Message::Text(r#"{"type":"pong"}"#.into()))
                    .await;
            }
            "pong" => {}
            _ => {
                result.errors += 1;
                if result.failure.is_none() {
                    result.failure = Some(String::from_utf8_lossy(&text).into_owned());
                }
            }
        }
    }
    let _ = framed.send(Message::Close(None)).await;
    result
}
