//! GraphQL output and input types. They wrap entity models: the API shape is not the table shape.

pub mod blob;
pub mod call;
pub mod call_event;
pub mod call_history;
pub mod contact;
pub mod cursor;
pub mod event;
pub mod ice;
pub mod member_history;
mod message;
pub mod mls;
pub mod oidc;
mod reaction;
pub mod receipt;
pub mod room;
pub mod room_history;
pub mod room_preview;
mod user;

pub use message::{Message, MessageKind};
pub use reaction::ReactionGroup;
pub use room::{MemberRole, Room, RoomKind, RoomMember};
pub use user::{AuthPayload, Session, User, UserRole, UserStatus};

use chrono::{DateTime, FixedOffset, Utc};

/// Database timestamps come back with an offset; the API speaks UTC.
pub fn utc(at: DateTime<FixedOffset>) -> DateTime<Utc> {
    at.to_utc()
}
