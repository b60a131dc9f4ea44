//! The client side: GraphQL over HTTP, and one `graphql-transport-ws` socket per call session
//! that joins the call, holds the session with `callEvents(roomId, sessionId)` and times every
//! signal it receives.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use awc::ws::{Frame, Message};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};

const JOIN: &str = "mutation($room: UUID!) { joinCall(roomId: $room) { sessionId } }";
const CALL_EVENTS: &str = "subscription($room: UUID!, $session: UUID) { \
    callEvents(roomId: $room, sessionId: $session) { __typename \
    ... on Signal { fromSessionId kind payload } } }";

/// Microseconds since the Unix epoch: senders stamp payloads with it, receivers subtract.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Runs one GraphQL request as seeded user `user`; the answer's `data`, or an error naming
/// `what` for an HTTP or GraphQL error.
pub async fn graphql(
    http: &awc::Client,
    url: &str,
    user: usize,
    what: &str,
    body: &Value,
) -> anyhow::Result<Value> {
    let mut response = http
        .post(url)
        .insert_header(("Authorization", format!("Bearer bench-token-{user}")))
        .send_json(body)
        .await
        .map_err(|err| anyhow::anyhow!("{what}: {err}"))?;
    let bytes = response
        .body()
        .await
        .map_err(|err| anyhow::anyhow!("{what}: reading the answer: {err}"))?;
    let mut answer: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{what}: the answer is not JSON"))?;
    if !response.status().is_success() || answer.get("errors").is_some() {
        bail!("{what} as user {user}: {} {answer}", response.status());
    }
    Ok(answer["data"].take())
}

/// One call session: the call's room, its user, and its place in the session table.
#[derive(Clone)]
pub struct Plan {
    pub index: usize,
    pub user: usize,
    pub room: Arc<str>,
}

/// What the coordinator and the session tasks share across threads.
pub struct Shared {
    pub acked: AtomicUsize,
    pub failed: AtomicUsize,
    /// Sessions joined and subscribed: their first event arrived.
    pub ready: AtomicUsize,
    pub delivered: AtomicUsize,
    pub connect_slots: tokio::sync::Semaphore,
    /// Session id by plan index, once joined.
    pub sessions: Mutex<Vec<Option<String>>>,
}

/// What one socket saw.
#[derive(Default)]
pub struct SocketResult {
    /// (signal number, latency µs) per signal received.
    pub received: Vec<(u32, u32)>,
    /// Signals addressed to another session that arrived here.
    pub misrouted: usize,
    pub failure: Option<String>,
    /// The subscription or socket ended before the bench stopped it.
    pub ended_early: bool,
    pub errors: usize,
}

#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    #[serde(default)]
    payload: Option<Payload>,
}

#[derive(Deserialize)]
struct Payload {
    #[serde(default)]
    data: Option<Data>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "callEvents")]
    call_events: Option<CallEvent>,
}

#[derive(Deserialize)]
struct CallEvent {
    #[serde(default)]
    payload: Option<SignalPayload>,
}

/// The bench's own fields of a signal payload (the fake SDP is skipped).
#[derive(Deserialize)]
struct SignalPayload {
    /// Send time, µs since the epoch.
    t: u64,
    /// Signal number.
    n: u32,
    /// Plan index of the addressed session.
    to: usize,
}

/// Joins the call and holds the session until told to stop.
pub async fn session(
    ws_url: Arc<str>,
    graphql_url: Arc<str>,
    http: awc::Client,
    plan: Plan,
    shared: Arc<Shared>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> SocketResult {
    let mut result = SocketResult::default();
    let fail = |result: &mut SocketResult, why: String| {
        shared.failed.fetch_add(1, Ordering::Relaxed);
        result.failure = Some(why);
    };
    // Held until the subscription is live.
    let mut permit = shared.connect_slots.acquire().await.ok();
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(60))
        .finish();
    let connected = client
        .ws(&*ws_url)
        .protocols(["graphql-transport-ws"])
        .connect()
        .await;
    let mut framed = match connected {
        Ok((_, framed)) => framed,
        Err(err) => {
            fail(&mut result, format!("handshake: {err}"));
            return result;
        }
    };
    let init = json!({ "type": "connection_init",
        "payload": { "Authorization": format!("Bearer bench-token-{}", plan.user) } });
    if let Err(err) = framed.send(Message::Text(init.to_string().into())).await {
        fail(&mut result, format!("connection_init: {err}"));
        return result;
    }
    let mut acked = false;
    let mut ready = false;
    loop {
        let frame = tokio::select! {
            frame = framed.next() => frame,
            _ = stop.changed() => break,
            () = tokio::time::sleep(Duration::from_secs(120)), if !ready => {
                fail(&mut result, "not subscribed within 120 s".to_owned());
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
                result.ended_early = true;
                if !ready {
                    fail(&mut result, format!("closed before subscribed: {reason:?}"));
                }
                return result;
            }
            Some(Ok(_)) => continue,
            Some(Err(err)) => {
                result.ended_early = true;
                if !ready {
                    fail(
                        &mut result,
                        format!("protocol error before subscribed: {err}"),
                    );
                }
                return result;
            }
            None => {
                result.ended_early = true;
                if !ready {
                    fail(&mut result, "closed before subscribed".to_owned());
                }
                return result;
            }
        };
        let received_at = now_us();
        let Ok(message) = serde_json::from_slice::<Incoming<'_>>(&text) else {
            result.errors += 1;
            result
                .failure
                .get_or_insert_with(|| String::from_utf8_lossy(&text).into_owned());
            continue;
        };
        match message.kind {
            "connection_ack" if !acked => {
                acked = true;
                shared.acked.fetch_add(1, Ordering::Relaxed);
                let what = format!("joinCall (session {})", plan.index);
                let body = json!({ "query": JOIN, "variables": { "room": &*plan.room } });
                let joined = graphql(&http, &graphql_url, plan.user, &what, &body).await;
                let session_id = match joined {
                    Ok(data) => match data["joinCall"]["sessionId"].as_str() {
                        Some(id) => id.to_owned(),
                        None => {
                            fail(&mut result, format!("{what}: no sessionId in {data}"));
                            break;
                        }
                    },
                    Err(err) => {
                        fail(&mut result, format!("{err:#}"));
                        break;
                    }
                };
                let subscribe = json!({ "id": "1", "type": "subscribe", "payload": {
                    "query": CALL_EVENTS,
                    "variables": { "room": &*plan.room, "session": &session_id } } });
                if let Ok(mut sessions) = shared.sessions.lock() {
                    sessions[plan.index] = Some(session_id);
                }
                if let Err(err) = framed
                    .send(Message::Text(subscribe.to_string().into()))
                    .await
                {
                    fail(&mut result, format!("subscribe: {err}"));
                    return result;
                }
            }
            "next" => {
                if !ready {
                    // The snapshot's first ParticipantJoined: the subscription is registered.
                    ready = true;
                    permit.take();
                    shared.ready.fetch_add(1, Ordering::Relaxed);
                }
                let signal = message
                    .payload
                    .and_then(|p| p.data)
                    .and_then(|d| d.call_events)
                    .and_then(|e| e.payload);
                if let Some(signal) = signal {
                    if signal.to != plan.index {
                        result.misrouted += 1;
                    }
                    let latency = received_at
                        .saturating_sub(signal.t)
                        .min(u64::from(u32::MAX));
                    result.received.push((signal.n, latency as u32));
                    shared.delivered.fetch_add(1, Ordering::Relaxed);
                }
            }
            "complete" => {
                result.ended_early = true;
                if !ready {
                    fail(&mut result, "subscription completed at once".to_owned());
                }
                break;
            }
            "ping" => {
                let _ = framed
                    .send(Message::Text(r#"{"type":"pong"}"#.into()))
                    .await;
            }
            "pong" => {}
            _ => {
                result.errors += 1;
                let text = String::from_utf8_lossy(&text).into_owned();
                if !ready {
                    fail(&mut result, text);
                    break;
                }
                result.failure.get_or_insert(text);
            }
        }
    }
    let _ = framed.send(Message::Close(None)).await;
    result
}

/// A fake SDP offer of about `bytes` bytes.
pub fn fake_sdp(bytes: usize) -> String {
    let mut sdp = String::from(
        "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
         a=group:BUNDLE 0\r\na=msid-semantic: WMS\r\n\
         m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\nc=IN IP4 0.0.0.0\r\n\
         a=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:Zt6b\r\na=ice-pwd:8Cq2LQ7ZbHnd0hG4ZsXhRk0P\r\n\
         a=fingerprint:sha-256 6B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:\
         1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08\r\na=setup:actpass\r\na=mid:0\r\na=sendrecv\r\n\
         a=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n",
    );
    let mut k = 0;
    while sdp.len() < bytes {
        sdp.push_str(&format!(
            "a=candidate:{k} 1 udp 2122260223 192.168.1.{} {} typ host generation 0\r\n",
            k % 250 + 1,
            50_000 + k
        ));
        k += 1;
    }
    sdp.truncate(bytes);
    sdp
}

/// Seeded user `u`'s id, as `confab seed --bench` makes it.
pub fn user_id(u: usize) -> String {
    format!("00000000-0000-4000-8000-{u:012x}")
}
