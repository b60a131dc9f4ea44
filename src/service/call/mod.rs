//! Calls: voice and video in a room. The ICE servers a client's `RTCPeerConnection` needs,
//! with time-limited TURN credentials ([`ice`]); call sessions: joining, leaving, heartbeats
//! and media state ([`session`]), held alive by a subscription ([`live`]); and signalling
//! between sessions ([`signal`]).

pub mod history;
pub mod ice;
pub mod live;
pub mod preview;
pub mod session;
pub mod signal;

pub use ice::{IceServer, ice_servers};
