//! Background machinery the server state owns: group commit of messages, the unread-count
//! feed, rate limiting, call session liveness, mail delivery and periodic housekeeping.
//! Services hand work to these; none of them knows about services.

pub mod call_liveness;
pub mod mail;
pub mod maintenance;
pub mod message_writer;
pub mod ratelimit;
pub mod unread;
