//! Cross-process fan-out through Redis pub/sub.
//!
//! Every instance publishes its events to Redis (`confab:<topic>`) and subscribes to
//! `confab:*`, delivering what arrives to its own subscribers through a [`LocalBroker`]; so an
//! event reaches subscribers once, in publish order, whichever instance they are on. Both links
//! reconnect on their own. While Redis is unreachable, events are delivered locally only.
//!
//! Events travel as [`Envelope`]s (see [`super::wire`]). A message this build cannot read, of
//! another wire version or not decodable, is skipped and counted in
//! `confab_events_skipped_total{reason}`; it never ends the subscription.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use redis::AsyncCommands;
use tokio::sync::{broadcast, mpsc};

use super::local::LocalBroker;
use super::wire::{Envelope, Unreadable};
use super::{Broker, Event, Topic};

const CHANNEL_PREFIX: &str = "confab:";
/// Events waiting to be published; beyond this they are delivered locally only.
const OUTBOX: usize = 10_000;
const RETRY_MIN: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(5);

const SKIPPED: &str = "confab_events_skipped_total";

/// An event waiting for the publish link; it becomes an [`Envelope`] there, off the request path.
struct Outgoing {
    topic: Topic,
    event: Event,
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
    outbox: mpsc::Sender<Outgoing>,
    up: Arc<AtomicBool>,
}

impl RedisBroker {
    /// Starts the publish and subscribe links to `url`; they keep retrying while Redis is down.
    pub fn start(url: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        metrics::describe_counter!(
            SKIPPED,
            "Events from Redis not delivered: of an unknown wire version, or not decodable"
        );
        // Listed from the start, so that a rate over them has a zero to start from.
        for reason in ["version", "decode"] {
            metrics::counter!(SKIPPED, "reason" => reason).increment(0);
        }
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
        let outgoing = Outgoing {
            topic,
            event,
            published_at_us: now_us(),
        };
        if let Err(err) = self.outbox.try_send(outgoing) {
            let outgoing = match err {
                mpsc::error::TrySendError::Full(o) | mpsc::error::TrySendError::Closed(o) => o,
            };
            tracing::warn!("redis outbox full: delivering locally only");
            self.local.deliver(outgoing.topic, Arc::new(outgoing.event));
        }
    }

    fn subscribe(&self, topic: Topic) -> broadcast::Receiver<Arc<Event>> {
        self.local.subscribe(topic)
    }

    fn link_up(&self) -> Option<bool> {
        Some(self.up.load(Ordering::Relaxed))
    }

    fn subscribers_by_kind(&self) -> [(&'static str, usize); Topic::KINDS.len()] {
        self.local.subscribers_by_kind()
    }

    fn local_subscribers(&self, topic: Topic) -> usize {
        self.local.local_subscribers(topic)
    }
}

async fn publish_loop(
    client: redis::Client,
    mut inbox: mpsc::Receiver<Outgoing>,
    local: Arc<LocalBroker>,
) {
    let mut connection: Option<redis::aio::ConnectionManager> = None;
    while let Some(outgoing) = inbox.recv().await {
        if connection.is_none() {
            connection = client.get_connection_manager().await.ok();
        }
        let envelope = Envelope::new(outgoing.topic, &outgoing.event, outgoing.published_at_us);
        let payload = match serde_json::to_string(&envelope) {
            Ok(payload) => payload,
            Err(err) => {
                tracing::error!(error = %err, "event not serializable");
                continue;
            }
        };
        let channel = format!("{CHANNEL_PREFIX}{}", outgoing.topic.key());
        let sent = match connection.as_mut() {
            Some(conn) => conn.publish::<_, _, i64>(channel, payload).await.is_ok(),
            None => false,
        };
        if !sent {
            // Redis is away: this instance's subscribers still get the event.
            connection = None;
            local.deliver(outgoing.topic, Arc::new(outgoing.event));
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
                        receive(&local, message.get_payload_bytes());
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

/// Delivers one message from Redis to this instance's subscribers, or skips and counts it.
fn receive(local: &LocalBroker, payload: &[u8]) {
    match Envelope::decode(payload) {
        Ok(envelope) => {
            record_lag(envelope.published_at_us);
            local.deliver(envelope.topic, Arc::new(envelope.event.into()));
        }
        Err(skip) => {
            match &skip {
                // Expected during a rolling deploy, for every event: a line each would drown
                // the log.
                Unreadable::Version(v) => tracing::debug!(v, "event of another wire version"),
                Unreadable::Malformed(err) => tracing::warn!(error = %err, "unreadable event"),
            }
            metrics::counter!(SKIPPED, "reason" => skip.reason()).increment(1);
        }
    }
}
