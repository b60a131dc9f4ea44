//! MLS key packages and connection statistics.

use async_graphql::{Enum, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::key_packages;
use uuid::Uuid;

use super::utc;
use crate::service::mls;

/// An MLS key package: what a client needs to add its owner to a group.
pub struct KeyPackage(pub key_packages::Model);

/// An MLS key package: what a client needs to add its owner to a group.
#[Object]
impl KeyPackage {
    /// Stable id.
    async fn id(&self) -> Uuid {
        self.0.id
    }

    /// Whose package it is.
    async fn owner_id(&self) -> Uuid {
        self.0.owner_id
    }

    /// The MLS cipher suite number.
    async fn cipher_suite(&self) -> i32 {
        self.0.cipher_suite
    }

    /// The package bytes, base64.
    async fn key_data(&self) -> String {
        mls::encode(&self.0.key_data)
    }

    /// sha256 of the bytes, hex.
    async fn key_hash(&self) -> &str {
        &self.0.key_hash
    }

    /// When it was published.
    async fn created_at(&self) -> DateTime<Utc> {
        utc(self.0.created_at)
    }

    /// After this it is no longer handed out.
    async fn expires_at(&self) -> DateTime<Utc> {
        utc(self.0.expires_at)
    }
}

/// A connection event of a voice/video client.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum ConnectionEvent {
    /// Joined the call.
    Connected,
    /// Left the call.
    Disconnected,
    /// Came back after a drop.
    Reconnected,
    /// A periodic quality sample.
    Quality,
}

impl ConnectionEvent {
    pub fn as_db(self) -> &'static str {
        match self {
            Self::Connected => "connected",
            Self::Disconnected => "disconnected",
            Self::Reconnected => "reconnected",
            Self::Quality => "quality",
        }
    }

    pub fn from_db(value: &str) -> Self {
        match value {
            "connected" => Self::Connected,
            "disconnected" => Self::Disconnected,
            "reconnected" => Self::Reconnected,
            _ => Self::Quality,
        }
    }
}

/// How many events of one kind.
#[derive(SimpleObject)]
pub struct ConnectionEventCount {
    /// The kind.
    pub event: ConnectionEvent,
    /// How many in the window.
    pub count: i64,
}

/// Connection quality over a window.
#[derive(SimpleObject)]
pub struct ConnectionStats {
    /// Start of the window.
    pub since: Option<DateTime<Utc>>,
    /// Events in the window.
    pub total: i64,
    /// Distinct users who logged events.
    pub users: i64,
    /// Counts per event kind.
    pub by_event: Vec<ConnectionEventCount>,
    /// Mean round-trip time, ms.
    pub avg_rtt_ms: Option<f64>,
    /// 95th percentile round-trip time (nearest rank), ms.
    pub p95_rtt_ms: Option<f64>,
    /// Mean jitter, ms.
    pub avg_jitter_ms: Option<f64>,
    /// Mean packet loss, a fraction 0..1.
    pub avg_packet_loss: Option<f64>,
}
