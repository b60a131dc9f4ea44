//! Live updates: the events services publish after their writes commit, the topics they go
//! to, and the [`Broker`] that fans them out to subscribers.
//!
//! Two backends: [`local::LocalBroker`] (tokio broadcast channels, one process) and
//! [`redis::RedisBroker`] (Redis pub/sub in front of a local broker, so a client on one
//! instance sees what was written through another). Presence lives in [`online`]. Between
//! processes an event travels as a [`wire::Envelope`], never as entity models.

pub mod local;
pub mod online;
pub mod redis;
pub mod redis_link;
pub mod wire;

use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use entity::{call_sessions, calls, messages, notifications, room_members, rooms, users};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

/// How many events a subscriber may fall behind before it is dropped as a slow consumer.
pub const SUBSCRIBER_BUFFER: usize = 256;

/// The buffer of a [`Topic::Session`] channel. It carries only `SessionRevoked`, read by the
/// session's sockets at once (a socket that lags skips to the newest event, which is the
/// revocation), and every open session holds one: a channel's ring is allocated whole, used
/// or not, so [`SUBSCRIBER_BUFFER`] slots were kilobytes per signed-in socket.
pub const SESSION_BUFFER: usize = 4;

/// Which of a member's receipt markers moved. Its serde form is part of [`wire::Envelope`];
/// the default is `Read`, the only marker releases before delivery receipts moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptMarker {
    /// The message reached one of the member's devices.
    Delivered,
    /// The member read up to the message (which implies delivery).
    #[default]
    Read,
}

/// Where an event goes. Its serde form is part of [`wire::Envelope`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Topic {
    /// Everything members of a room see.
    Room(Uuid),
    /// What concerns one user: notifications, new rooms, unread counts.
    User(Uuid),
    /// A user's presence changes.
    Presence(Uuid),
    /// A session's life; revoking it closes its sockets.
    Session(Uuid),
    /// Sessions revoked and users changed, for every instance's cache of signed-in viewers.
    Auth,
    /// A room's call: participants joining, leaving, changing state, the call ending.
    Call(Uuid),
    /// Signals addressed to one call session.
    CallSession(Uuid),
}

impl Topic {
    /// Every [`Topic::kind`], for gauges that must report zeros too.
    pub const KINDS: [&'static str; 7] = [
        "room",
        "user",
        "presence",
        "session",
        "auth",
        "call",
        "call_session",
    ];

    /// What sort of topic this is: a bounded metric label.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Room(_) => "room",
            Self::User(_) => "user",
            Self::Presence(_) => "presence",
            Self::Session(_) => "session",
            Self::Auth => "auth",
            Self::Call(_) => "call",
            Self::CallSession(_) => "call_session",
        }
    }

    /// The buffer of this topic's channel in each process.
    pub fn buffer(&self) -> usize {
        match self {
            Self::Session(_) => SESSION_BUFFER,
            _ => SUBSCRIBER_BUFFER,
        }
    }

    /// The channel name (`room:<id>` ...), also the Redis channel suffix.
    pub fn key(&self) -> String {
        match self {
            Self::Room(id) => format!("room:{id}"),
            Self::User(id) => format!("user:{id}"),
            Self::Presence(id) => format!("presence:{id}"),
            Self::Session(id) => format!("session:{id}"),
            Self::Auth => "auth".to_owned(),
            Self::Call(id) => format!("call:{id}"),
            Self::CallSession(id) => format!("call-session:{id}"),
        }
    }
}

/// Something that happened, with the payload subscribers need to render it. In-process only:
/// between processes it travels as a [`wire::WireEvent`].
#[derive(Debug, Clone)]
pub enum Event {
    MessageAdded {
        message: messages::Model,
        sender: Option<Arc<users::Model>>,
    },
    MessageEdited {
        message: messages::Model,
    },
    MessageDeleted {
        message: messages::Model,
    },
    ReactionChanged {
        message: messages::Model,
        user_id: Uuid,
        emoji: String,
        added: bool,
    },
    ReceiptUpdated {
        room_id: Uuid,
        user_id: Uuid,
        message_id: Uuid,
        marker: ReceiptMarker,
    },
    MemberJoined {
        member: room_members::Model,
    },
    MemberLeft {
        room_id: Uuid,
        user_id: Uuid,
    },
    /// The room was deleted (`deleteRoom`, or its last member's account): published to the
    /// room and to each of its members.
    RoomDeleted {
        room_id: Uuid,
    },
    Typing {
        room_id: Uuid,
        user_id: Uuid,
        typing: bool,
        expires_at: DateTime<FixedOffset>,
    },
    NotificationAdded {
        notification: notifications::Model,
    },
    RoomAdded {
        room: rooms::Model,
    },
    ContactRequested {
        from_user_id: Uuid,
    },
    UnreadChanged {
        room_id: Uuid,
        unread_count: i64,
        /// The room's newest message that is not deleted, when messages changed (what a room
        /// list previews); none when reading moved the count.
        last_message: Option<Box<messages::Model>>,
        last_sender: Option<Arc<users::Model>>,
    },
    PresenceChanged {
        user_id: Uuid,
        status: String,
        last_seen_at: Option<DateTime<FixedOffset>>,
        /// The context the user shares with their presence, while they are visible.
        context: Option<String>,
    },
    SessionRevoked {
        session_id: Uuid,
    },
    /// One session (or, without `session_id`, every session of the user) must be resolved
    /// afresh: it was revoked, or the user's row changed.
    ViewerChanged {
        user_id: Uuid,
        session_id: Option<Uuid>,
    },
    /// A session joined the room's call (the first one started it).
    CallJoined {
        room_id: Uuid,
        participant: call_sessions::Model,
    },
    /// A session left the room's call; `reason` is a stored `CallLeaveReason` word.
    CallLeft {
        room_id: Uuid,
        participant: call_sessions::Model,
        reason: String,
    },
    /// A participant changed their media or connection state.
    CallUpdated {
        room_id: Uuid,
        participant: call_sessions::Model,
    },
    /// The last session left.
    CallEnded {
        call: calls::Model,
    },
    /// An opaque signal from one call session to another; `kind` is a `SignalKind` word.
    CallSignal {
        from_session_id: Uuid,
        to_session_id: Uuid,
        kind: String,
        payload: Arc<serde_json::Value>,
    },
}

/// Fan-out of events to subscribers of a topic.
///
/// `publish` never blocks and never fails the write that caused it: delivery is best effort
/// (a subscriber that needs completeness re-reads the room after reconnecting).
pub trait Broker: Send + Sync + 'static {
    fn publish(&self, topic: Topic, event: Event);
    fn subscribe(&self, topic: Topic) -> broadcast::Receiver<Arc<Event>>;
    /// Whether the cross-process link (if any) is up; `None` when there is none.
    fn link_up(&self) -> Option<bool> {
        None
    }
    /// Changes each time the cross-process link comes back after an outage: what other
    /// processes published meanwhile never reached this one's subscribers, so they must catch
    /// up from the database (sockets are closed with 1012, caches dropped). `None` when there
    /// is no such link.
    fn resumptions(&self) -> Option<watch::Receiver<u64>> {
        None
    }
    /// Live subscriptions in this process by [`Topic::kind`], every kind listed (for the
    /// `confab_broker_subscribers` gauge).
    fn subscribers_by_kind(&self) -> [(&'static str, usize); Topic::KINDS.len()];
    /// Subscribers of `topic` in this process. Test support: lets a test wait until a
    /// subscription is registered before it writes.
    #[doc(hidden)]
    fn local_subscribers(&self, topic: Topic) -> usize;
}

/// After the cross-process link comes back, each socket closes at a random moment within this,
/// so that the clients' catch-up reads do not all reach the database at once.
pub const RESUME_SPREAD: std::time::Duration = std::time::Duration::from_secs(2);

/// Resolves when [`Broker::resumptions`] next changes; never without a cross-process link, nor
/// once the broker is gone (the process is stopping).
pub async fn resumption(resumptions: &mut Option<watch::Receiver<u64>>) {
    if let Some(rx) = resumptions
        && rx.changed().await.is_ok()
    {
        return;
    }
    std::future::pending().await
}

/// Resolves at a random moment within [`RESUME_SPREAD`] after the next [`resumption`].
pub async fn resumed(mut resumptions: Option<watch::Receiver<u64>>) {
    resumption(&mut resumptions).await;
    let spread = RESUME_SPREAD.as_millis() as u64;
    tokio::time::sleep(std::time::Duration::from_millis(rand::random_range(
        0..=spread,
    )))
    .await;
}

/// The broker as shared by the server.
pub type SharedBroker = Arc<dyn Broker>;

/// [`crate::state::AppState::publish`] for tasks that hold the broker rather than the state.
pub fn publish_to(broker: &SharedBroker, topic: Topic, event: Event) {
    metrics::counter!("confab_events_published_total", "topic" => topic.kind()).increment(1);
    broker.publish(topic, event);
}

/// A user model fit to travel: no password hash or TOTP secret (nor when a code was last used).
pub fn public_user(mut user: users::Model) -> users::Model {
    user.password_hash = String::new();
    user.totp_secret = None;
    user.totp_last_step = None;
    user.banned_at = None;
    user.banned_until = None;
    user.ban_reason = None;
    user
}
