//! Calls: voice and video in a room. The ICE servers a client's `RTCPeerConnection` needs,
//! with time-limited TURN credentials ([`ice`]), and call sessions: joining, leaving,
//! heartbeats and media state ([`session`]).

pub mod history;
pub mod ice;
pub mod preview;
pub mod session;

pub use ice::{IceServer, ice_servers};
