//! Cross-process fan-out through Redis pub/sub.
//!
//! Every instance publishes its events to Redis (`confab:<topic>`) and subscribes to
//! `confab:*`, delivering what arrives to its own subscribers through a [`LocalBroker`]; so an
//! event reaches subscribers once, in publish order, whichever instance they are on. Both links
//! reconnect on their own. While Redis is unreachable, events are delivered locally only.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};

use super::local::LocalBroker;
use super::{Broker, Event, Topic};

const CHANNEL_PREFIX: &str = "confab:";
/// Events waiting to be published; beyond this they are delivered locally only.
const OUTBOX: usize = 10_000;
const RETRY_MIN: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(5);

#[derive(Serialize, Deserialize)]
struct Envelope {
    topic: Topic,
    event: Event,
    /// When the event was published, in microseconds since the Unix epoch (wall clock, so
    /// comparable across instances); 0 when unknown.
    #[serde(default)]
    published_at_us: i64,
}

fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// Records how long an event took from `publish` on any instance to delivery to this
/// instance's subscribers (`confab_broker_delivery_lag_seconds`).
fn record_lag(published_at_us: i64) {
    if published_at_us > 0 {
        let lag = (now_us() - published_at_us).max(0) as f64 / 1e6;
        metrics::histogram!("confab_broker_delivery_lag_seconds").record(lag);
    }
}

pub struct RedisBroker {
    local: Arc<LocalBroker>,
    outbox: mpsc::Sender<Envelope>,
    up: Arc<AtomicBool>,
}

impl RedisBroker {
    /// Starts the publish and subscribe links to `url`; they keep retrying while Redis is down.
    pub fn start(url: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let local = Arc::new(LocalBroker::default());
        let up = Arc::new(AtomicBool::new(false));
        let (outbox, inbox) = mpsc::channel(OUTBOX);
        tokio::spawn(publish_loop(client.clone(), inbox, local.clone()));
        tokio::spawn(subscribe_loop(client, local.clone(), up.clone()));
        Ok(Self { local, outbox, up })
    }
}

impl Broker for RedisBroker {
    fn publish(&self, topic: Topic, event: Event) {
        let envelope = Envelope {
            topic,
            event,
            published_at_us: now_us(),
        };
        if let Err(err) = self.outbox.try_send(envelope) {
            let envelope = match err {
                mpsc::error::TrySendError::Full(e) | mpsc::error::TrySendError::Closed(e) => e,
            };
            tracing::warn!("redis outbox full: delivering locally only");
            self.local.deliver(envelope.topic, Arc::new(envelope.event));
        }
    }

    fn subscribe(&self, topic: Topic) -> broadcast::Receiver<Arc<Event>> {
        self.local.subscribe(topic)
    }

    fn link_up(&self) -> Option<bool> {
        Some(self.up.load(Ordering::Relaxed))
    }

    fn local_subscribers(&self, topic: Topic) -> usize {
        self.local.local_subscribers(topic)
    }
}

async fn publish_loop(
    client: redis::Client,
    mut inbox: mpsc::Receiver<Envelope>,
    local: Arc<LocalBroker>,
) {
    let mut connection: Option<redis::aio::ConnectionManager> = None;
    while let Some(envelope) = inbox.recv().await {
        if connection.is_none() {
            connection = client.get_connection_manager().await.ok();
        }
        let payload = match serde_json::to_string(&envelope) {
            Ok(payload) => payload,
            Err(err) => {
                tracing::error!(error = %err, "event not serializable");
                continue;
            }
        };
        let channel = format!("{CHANNEL_PREFIX}{}", envelope.topic.key());
        let sent = match connection.as_mut() {
            Some(conn) => conn.publish::<_, _, i64>(channel, payload).await.is_ok(),
            None => false,
        };
        if !sent {
            // Redis is away: this instance's subscribers still get the event.
            connection = None;
            local.deliver(envelope.topic, Arc::new(envelope.event));
        }
    }
}

async fn subscribe_loop(client: redis::Client, local: Arc<LocalBroker>, up: Arc<AtomicBool>) {
    let mut backoff = RETRY_MIN;
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => {
                if pubsub
                    .psubscribe(format!("{CHANNEL_PREFIX}*"))
                    .await
                    .is_ok()
                {
                    up.store(true, Ordering::Relaxed);
                    backoff = RETRY_MIN;
                    tracing::info!("redis subscription up");
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        let Ok(payload) = message.get_payload::<String>() else {
                            continue;
                        };
                        match serde_json::from_str::<Envelope>(&payload) {
                            Ok(envelope) => {
                                record_lag(envelope.published_at_us);
                                local.deliver(envelope.topic, Arc::new(envelope.event));
                            }
                            Err(err) => tracing::warn!(error = %err, "unreadable event from redis"),
                        }
                    }
                }
                up.store(false, Ordering::Relaxed);
                tracing::warn!("redis subscription lost; reconnecting");
            }
            Err(err) => tracing::debug!(error = %err, "redis unreachable"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(RETRY_MAX);
    }
}
