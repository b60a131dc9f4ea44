//! What an event looks like between processes (Redis pub/sub): an [`Envelope`] with a version
//! around a [`WireEvent`], whose payloads ([`User`], [`Message`], [`Member`], [`Room`],
//! [`Notification`]) are structs made for the wire, never entity models.
//!
//! Why not the models: a column added to a table would change the wire format under a rolling
//! deploy, and a secret column (a password hash, a TOTP secret) would travel to every instance
//! unless each publisher remembered to blank it. Here every conversion names every field (a
//! struct literal or a destructuring pattern, never `..`), so adding a column to an entity is a
//! compile error in this module until someone decides whether it goes on the wire.
//!
//! Compatibility: fields may be added to a payload within a version (readers ignore fields
//! they do not know; give a new field `#[serde(default)]` so that readers of this release
//! accept messages from the previous one). Renaming or removing a field, or changing its
//! meaning, needs a new [`WIRE_VERSION`]; subscribers skip envelopes of a version they do not
//! know and count them (`confab_events_skipped_total{reason="version"}`). A new event type
//! reaches older readers as one they cannot decode (skipped, counted as `reason="decode"`).
//! [`Topic`]'s serde form is part of the envelope too.

mod call;
mod event;
mod message;
mod notification;
mod room;
mod user;

use serde::{Deserialize, Serialize};

pub use call::{Call, CallSession};
pub use event::WireEvent;
pub use message::Message;
pub use notification::Notification;
pub use room::{Member, Room};
pub use user::User;

use super::{Event, Topic};

/// The version of [`Envelope`] this build writes, and the only one it reads.
pub const WIRE_VERSION: u32 = 1;

/// One event on its way to other instances.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    /// [`WIRE_VERSION`] of the writer.
    pub v: u32,
    pub topic: Topic,
    /// When the event was published, in microseconds since the Unix epoch (wall clock, so
    /// comparable across instances); 0 when unknown.
    #[serde(default)]
    pub published_at_us: i64,
    pub event: WireEvent,
}

impl Envelope {
    pub fn new(topic: Topic, event: &Event, published_at_us: i64) -> Self {
        Self {
            v: WIRE_VERSION,
            topic,
            published_at_us,
            event: WireEvent::from(event),
        }
    }

    /// Reads a message written by any instance: first its version alone, then (if it is
    /// ours) the rest.
    pub fn decode(bytes: &[u8]) -> Result<Self, Unreadable> {
        /// Only the version, so that an envelope of another version is recognised as such
        /// whatever else it holds.
        #[derive(Deserialize)]
        struct Head {
            v: u32,
        }
        let head: Head = serde_json::from_slice(bytes).map_err(Unreadable::Malformed)?;
        if head.v != WIRE_VERSION {
            return Err(Unreadable::Version(head.v));
        }
        serde_json::from_slice(bytes).map_err(Unreadable::Malformed)
    }
}

/// Why a message from another instance was not delivered.
#[derive(Debug)]
pub enum Unreadable {
    /// An envelope version this build does not read (a newer or older release).
    Version(u32),
    /// Not an envelope of our version: not JSON, no version, a missing field, an unknown
    /// event type.
    Malformed(serde_json::Error),
}

impl Unreadable {
    /// The `reason` label of `confab_events_skipped_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Version(_) => "version",
            Self::Malformed(_) => "decode",
        }
    }
}
