//! Cross-process fan-out through Redis pub/sub.
//!
//! Every instance publishes its events to Redis (`confab:<topic>`) and subscribes to
//! `confab:*`, delivering what arrives to its own subscribers through a [`LocalBroker`]; so an
//! event reaches subscribers once, in publish order, whichever instance they are on. Both links
//! reconnect on their own. While Redis is unreachable, events are delivered locally only, at
//! once. What a process may have missed is never left silent: when its subscription comes back,
//! or another process says some of its events reached only its own subscribers (the resync
//! notice, sent as soon as that process can publish again), [`Broker::resumptions`] changes,
//! and the process's sockets are closed so that their clients catch up from the database.
//!
//! Events travel as [`Envelope`]s (see [`super::wire`]). A message this build cannot read, of
//! another wire version or not decodable, is skipped and counted in
//! `confab_events_skipped_total{reason}`; it never ends the subscription.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use redis::AsyncCommands;
use tokio::sync::{broadcast, mpsc, watch};

use super::local::LocalBroker;
use super::wire::{Envelope, Unreadable};
use super::{Broker, Event, Topic};

const CHANNEL_PREFIX: &str = "confab:";
/// A publisher's notice that events it wrote while Redis did not take them reached only its
/// own subscribers: every instance treats it as its own link coming back. (Releases before it
/// skip it as undecodable.)
const RESYNC_CHANNEL: &str = "confab:resync";
/// Events waiting to be published; beyond this they are delivered locally only (and the other
/// instances are sent the resync notice).
const OUTBOX: usize = 10_000;
const RETRY_MIN: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(5);
/// Longest a publish (or the connection before it) may take; past it, the event is delivered
/// locally. A Redis that is down refuses at once; this bounds one that does not answer, and is
/// long enough that a busy process, slow to poll the answer, does not give up on a live link.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(3);
/// After a failed publish, how long events go straight to local subscribers before Redis is
/// tried again.
const PUBLISH_REST: Duration = Duration::from_secs(1);

const SKIPPED: &str = "confab_events_skipped_total";
const RESUMED: &str = "confab_broker_resumptions_total";

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
    /// Set when an event skipped a full outbox (delivered locally only): the publish link then
    /// owes the other instances a notice, as for a failed publish.
    overflowed: Arc<AtomicBool>,
    up: Arc<AtomicBool>,
    resumed: watch::Sender<u64>,
}

impl RedisBroker {
    /// Starts the publish and subscribe links to `url`; they keep retrying while Redis is down.
    pub fn start(url: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        metrics::describe_counter!(
            SKIPPED,
            "Events from Redis not delivered: of an unknown wire version, or not decodable"
        );
        metrics::describe_counter!(
            RESUMED,
            "Times this process's sockets were closed to catch up: its Redis subscription came \
             back after an outage (cause link), or another process's publishes had failed (peer)"
        );
        for cause in ["link", "peer"] {
            metrics::counter!(RESUMED, "cause" => cause).increment(0);
        }
        // Listed from the start, so that a rate over them has a zero to start from.
        for reason in ["version", "decode"] {
            metrics::counter!(SKIPPED, "reason" => reason).increment(0);
        }
        let local = Arc::new(LocalBroker::default());
        let up = Arc::new(AtomicBool::new(false));
        let (outbox, inbox) = mpsc::channel(OUTBOX);
        let resumed = watch::Sender::new(0);
        let overflowed = Arc::new(AtomicBool::new(false));
        let link = PublishLink {
            client: client.clone(),
            connection: None,
            resting_until: None,
            owed_notice: false,
            overflowed: overflowed.clone(),
        };
        tokio::spawn(publish_loop(link, inbox, local.clone()));
        tokio::spawn(subscribe_loop(
            client,
            local.clone(),
            up.clone(),
            resumed.clone(),
        ));
        Ok(Self {
            local,
            outbox,
            overflowed,
            up,
            resumed,
        })
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
            self.overflowed.store(true, Ordering::Relaxed);
            self.local.deliver(outgoing.topic, Arc::new(outgoing.event));
        }
    }

    fn subscribe(&self, topic: Topic) -> broadcast::Receiver<Arc<Event>> {
        self.local.subscribe(topic)
    }

    fn link_up(&self) -> Option<bool> {
        Some(self.up.load(Ordering::Relaxed))
    }

    fn resumptions(&self) -> Option<watch::Receiver<u64>> {
        Some(self.resumed.subscribe())
    }

    fn subscribers_by_kind(&self) -> [(&'static str, usize); Topic::KINDS.len()] {
        self.local.subscribers_by_kind()
    }

    fn local_subscribers(&self, topic: Topic) -> usize {
        self.local.local_subscribers(topic)
    }
}

/// Publishes what `publish` queued, in order. An event Redis does not take goes to this
/// instance's subscribers directly (see [`PublishLink`]), and the other instances are told
/// as soon as Redis takes messages again: the resync notice.
async fn publish_loop(
    mut link: PublishLink,
    mut inbox: mpsc::Receiver<Outgoing>,
    local: Arc<LocalBroker>,
) {
    loop {
        let next = if link.owed_notice {
            // Owed even if nothing else is published: try again every rest.
            tokio::select! {
                next = inbox.recv() => next,
                () = tokio::time::sleep(PUBLISH_REST) => {
                    link.notice().await;
                    continue;
                }
            }
        } else {
            inbox.recv().await
        };
        let Some(outgoing) = next else { break };
        let envelope = Envelope::new(outgoing.topic, &outgoing.event, outgoing.published_at_us);
        let payload = match serde_json::to_string(&envelope) {
            Ok(payload) => payload,
            Err(err) => {
                tracing::error!(error = %err, "event not serializable");
                continue;
            }
        };
        let channel = format!("{CHANNEL_PREFIX}{}", outgoing.topic.key());
        if !link.publish(channel, payload).await {
            // Redis is away: this instance's subscribers still get the event.
            local.deliver(outgoing.topic, Arc::new(outgoing.event));
        }
    }
}

/// The publishing connection. A publish that Redis does not take within [`PUBLISH_TIMEOUT`]
/// fails, and for [`PUBLISH_REST`] after a failure every publish fails at once (no wait on a
/// dead link): while Redis is away, a process's own subscribers hear what it wrote without
/// delay. The other instances never hear those events, so the link owes them a notice
/// ([`RESYNC_CHANNEL`]), sent before anything else once Redis answers again; it makes every
/// instance close its sockets for their clients to catch up.
struct PublishLink {
    client: redis::Client,
    connection: Option<redis::aio::MultiplexedConnection>,
    resting_until: Option<Instant>,
    owed_notice: bool,
    /// [`RedisBroker::overflowed`].
    overflowed: Arc<AtomicBool>,
}

impl PublishLink {
    /// Publishes `payload` on `channel` (the notice first, if one is owed); false when Redis did
    /// not take it.
    async fn publish(&mut self, channel: String, payload: String) -> bool {
        if self.overflowed.swap(false, Ordering::Relaxed) {
            self.owed_notice = true;
        }
        let sent = (!self.owed_notice || self.notice().await) && self.send(channel, payload).await;
        if !sent && !self.owed_notice {
            tracing::warn!("redis publish failed; delivering locally until it is back");
            self.owed_notice = true;
        }
        sent
    }

    /// Sends the resync notice; true once it is sent.
    async fn notice(&mut self) -> bool {
        if self.send(RESYNC_CHANNEL.to_owned(), "{}".to_owned()).await {
            tracing::warn!("redis publish back: told the other instances to catch up");
            self.owed_notice = false;
        }
        !self.owed_notice
    }

    async fn send(&mut self, channel: String, payload: String) -> bool {
        if self
            .resting_until
            .is_some_and(|until| Instant::now() < until)
        {
            return false;
        }
        if self.connection.is_none() {
            let connect = self.client.get_multiplexed_async_connection();
            self.connection = tokio::time::timeout(PUBLISH_TIMEOUT, connect)
                .await
                .ok()
                .and_then(Result::ok);
        }
        let sent = match self.connection.as_mut() {
            Some(conn) => matches!(
                tokio::time::timeout(PUBLISH_TIMEOUT, conn.publish::<_, _, i64>(channel, payload))
                    .await,
                Ok(Ok(_))
            ),
            None => false,
        };
        if sent {
            self.resting_until = None;
        } else {
            self.connection = None;
            self.resting_until = Some(Instant::now() + PUBLISH_REST);
        }
        sent
    }
}

/// Holds the pattern subscription, reconnecting with backoff. Every time it is up again after
/// a failed attempt or a lost link (not the first time, when no socket can have missed
/// anything), `resumed` changes.
async fn subscribe_loop(
    client: redis::Client,
    local: Arc<LocalBroker>,
    up: Arc<AtomicBool>,
    resumed: watch::Sender<u64>,
) {
    let mut backoff = RETRY_MIN;
    let mut interrupted = false;
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
                    if interrupted {
                        tracing::warn!("redis subscription back: sockets will catch up");
                        resume(&resumed, "link");
                    } else {
                        tracing::info!("redis subscription up");
                    }
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        if message.get_channel_name() == RESYNC_CHANNEL {
                            tracing::warn!(
                                "an instance's events did not all cross Redis: sockets will catch up"
                            );
                            resume(&resumed, "peer");
                        } else {
                            receive(&local, message.get_payload_bytes());
                        }
                    }
                }
                up.store(false, Ordering::Relaxed);
                tracing::warn!("redis subscription lost; reconnecting");
            }
            Err(err) => tracing::debug!(error = %err, "redis unreachable"),
        }
        interrupted = true;
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(RETRY_MAX);
    }
}

/// Tells this instance's sockets and caches that events may have been missed: `cause` is
/// `link` (this instance's subscription was down) or `peer` (another's publishes failed).
fn resume(resumed: &watch::Sender<u64>, cause: &'static str) {
    metrics::counter!(RESUMED, "cause" => cause).increment(1);
    resumed.send_modify(|n| *n += 1);
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
