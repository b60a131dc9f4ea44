//! Calls: voice and video in a room. For now the ICE servers a client's `RTCPeerConnection`
//! needs, with time-limited TURN credentials ([`ice`]).

pub mod ice;

pub use ice::{IceServer, ice_servers};
