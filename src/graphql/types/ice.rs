//! ICE servers for calls: what a client passes to `new RTCPeerConnection({ iceServers })`.

use async_graphql::SimpleObject;
use chrono::{DateTime, Utc};

use crate::service::call;

/// A STUN or TURN server entry, shaped like WebRTC's `RTCIceServer`: pass the list to
/// `RTCPeerConnection` as `iceServers` (`expiresAt` is extra; browsers ignore it).
#[derive(SimpleObject)]
pub struct IceServer {
    /// `stun:`, `stuns:`, `turn:` or `turns:` URLs sharing this entry's credential.
    pub urls: Vec<String>,
    /// The TURN username, `<expiry unix seconds>:<user id>`; null for STUN.
    pub username: Option<String>,
    /// The TURN password for `username`; null for STUN.
    pub credential: Option<String>,
    /// When the TURN credential stops working (ask `iceServers` again before then); null for
    /// STUN.
    pub expires_at: Option<DateTime<Utc>>,
}

impl From<call::IceServer> for IceServer {
    fn from(server: call::IceServer) -> Self {
        Self {
            urls: server.urls,
            username: server.username,
            credential: server.credential,
            expires_at: server.expires_at,
        }
    }
}
