//! [`WireEvent`]: [`Event`] with wire payloads, and the conversions both ways.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use std::sync::Arc;

use super::{Call, CallSession, Member, Message, Notification, Room, User};
use crate::realtime::{Event, ReceiptMarker};

/// [`Event`], variant for variant, with wire payloads.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum WireEvent {
    MessageAdded {
        message: Message,
        sender: Option<Box<User>>,
    },
    MessageEdited {
        message: Message,
    },
    MessageDeleted {
        message: Message,
    },
    ReactionChanged {
        message: Message,
        user_id: Uuid,
        emoji: String,
        added: bool,
    },
    ReceiptUpdated {
        room_id: Uuid,
        user_id: Uuid,
        message_id: Uuid,
        /// Absent from releases before delivery receipts, which only moved read markers.
        #[serde(default)]
        marker: ReceiptMarker,
    },
    MemberJoined {
        member: Member,
    },
    MemberLeft {
        room_id: Uuid,
        user_id: Uuid,
    },
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
        notification: Notification,
    },
    RoomAdded {
        room: Room,
    },
    ContactRequested {
        from_user_id: Uuid,
    },
    UnreadChanged {
        room_id: Uuid,
        unread_count: i64,
        /// Absent from releases before room-list previews (and when reading moved the count).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_message: Option<Box<Message>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_sender: Option<Box<User>>,
    },
    PresenceChanged {
        user_id: Uuid,
        status: String,
        last_seen_at: Option<DateTime<FixedOffset>>,
        #[serde(default)]
        context: Option<String>,
    },
    SessionRevoked {
        session_id: Uuid,
    },
    ViewerChanged {
        user_id: Uuid,
        session_id: Option<Uuid>,
    },
    CallJoined {
        room_id: Uuid,
        participant: CallSession,
    },
    CallLeft {
        room_id: Uuid,
        participant: CallSession,
        reason: String,
    },
    CallUpdated {
        room_id: Uuid,
        participant: CallSession,
    },
    CallEnded {
        call: Call,
    },
    CallSignal {
        from_session_id: Uuid,
        to_session_id: Uuid,
        kind: String,
        payload: serde_json::Value,
    },
}

impl From<&Event> for WireEvent {
    fn from(event: &Event) -> Self {
        match event {
            Event::MessageAdded { message, sender } => Self::MessageAdded {
                message: message.into(),
                sender: sender.as_deref().map(|user| Box::new(user.into())),
            },
            Event::MessageEdited { message } => Self::MessageEdited {
                message: message.into(),
            },
            Event::MessageDeleted { message } => Self::MessageDeleted {
                message: message.into(),
            },
            Event::ReactionChanged {
                message,
                user_id,
                emoji,
                added,
            } => Self::ReactionChanged {
                message: message.into(),
                user_id: *user_id,
                emoji: emoji.clone(),
                added: *added,
            },
            Event::ReceiptUpdated {
                room_id,
                user_id,
                message_id,
                marker,
            } => Self::ReceiptUpdated {
                room_id: *room_id,
                user_id: *user_id,
                message_id: *message_id,
                marker: *marker,
            },
            Event::MemberJoined { member } => Self::MemberJoined {
                member: member.into(),
            },
            Event::MemberLeft { room_id, user_id } => Self::MemberLeft {
                room_id: *room_id,
                user_id: *user_id,
            },
            Event::RoomDeleted { room_id } => Self::RoomDeleted { room_id: *room_id },
            Event::Typing {
                room_id,
                user_id,
                typing,
                expires_at,
            } => Self::Typing {
                room_id: *room_id,
                user_id: *user_id,
                typing: *typing,
                expires_at: *expires_at,
            },
            Event::NotificationAdded { notification } => Self::NotificationAdded {
                notification: notification.into(),
            },
            Event::RoomAdded { room } => Self::RoomAdded { room: room.into() },
            Event::ContactRequested { from_user_id } => Self::ContactRequested {
                from_user_id: *from_user_id,
            },
            Event::UnreadChanged {
                room_id,
                unread_count,
                last_message,
                last_sender,
            } => Self::UnreadChanged {
                room_id: *room_id,
                unread_count: *unread_count,
                last_message: last_message.as_deref().map(|m| Box::new(m.into())),
                last_sender: last_sender.as_deref().map(|user| Box::new(user.into())),
            },
            Event::PresenceChanged {
                user_id,
                status,
                last_seen_at,
                context,
            } => Self::PresenceChanged {
                user_id: *user_id,
                status: status.clone(),
                last_seen_at: *last_seen_at,
                context: context.clone(),
            },
            Event::SessionRevoked { session_id } => Self::SessionRevoked {
                session_id: *session_id,
            },
            Event::ViewerChanged {
                user_id,
                session_id,
            } => Self::ViewerChanged {
                user_id: *user_id,
                session_id: *session_id,
            },
            Event::CallJoined {
                room_id,
                participant,
            } => Self::CallJoined {
                room_id: *room_id,
                participant: participant.into(),
            },
            Event::CallLeft {
                room_id,
                participant,
                reason,
            } => Self::CallLeft {
                room_id: *room_id,
                participant: participant.into(),
                reason: reason.clone(),
            },
            Event::CallUpdated {
                room_id,
                participant,
            } => Self::CallUpdated {
                room_id: *room_id,
                participant: participant.into(),
            },
            Event::CallEnded { call } => Self::CallEnded { call: call.into() },
            Event::CallSignal {
                from_session_id,
                to_session_id,
                kind,
                payload,
            } => Self::CallSignal {
                from_session_id: *from_session_id,
                to_session_id: *to_session_id,
                kind: kind.clone(),
                payload: payload.as_ref().clone(),
            },
        }
    }
}

/// The in-process event back; users come back as [`crate::realtime::public_user`] would leave them.
impl From<WireEvent> for Event {
    fn from(event: WireEvent) -> Self {
        match event {
            WireEvent::MessageAdded { message, sender } => Self::MessageAdded {
                message: message.into(),
                sender: sender.map(|user| Arc::new((*user).into())),
            },
            WireEvent::MessageEdited { message } => Self::MessageEdited {
                message: message.into(),
            },
            WireEvent::MessageDeleted { message } => Self::MessageDeleted {
                message: message.into(),
            },
            WireEvent::ReactionChanged {
                message,
                user_id,
                emoji,
                added,
            } => Self::ReactionChanged {
                message: message.into(),
                user_id,
                emoji,
                added,
            },
            WireEvent::ReceiptUpdated {
                room_id,
                user_id,
                message_id,
                marker,
            } => Self::ReceiptUpdated {
                room_id,
                user_id,
                message_id,
                marker,
            },
            WireEvent::MemberJoined { member } => Self::MemberJoined {
                member: member.into(),
            },
            WireEvent::MemberLeft { room_id, user_id } => Self::MemberLeft { room_id, user_id },
            WireEvent::RoomDeleted { room_id } => Self::RoomDeleted { room_id },
            WireEvent::Typing {
                room_id,
                user_id,
                typing,
                expires_at,
            } => Self::Typing {
                room_id,
                user_id,
                typing,
                expires_at,
            },
            WireEvent::NotificationAdded { notification } => Self::NotificationAdded {
                notification: notification.into(),
            },
            WireEvent::RoomAdded { room } => Self::RoomAdded { room: room.into() },
            WireEvent::ContactRequested { from_user_id } => Self::ContactRequested { from_user_id },
            WireEvent::UnreadChanged {
                room_id,
                unread_count,
                last_message,
                last_sender,
            } => Self::UnreadChanged {
                room_id,
                unread_count,
                last_message: last_message.map(|m| Box::new((*m).into())),
                last_sender: last_sender.map(|user| Arc::new((*user).into())),
            },
            WireEvent::PresenceChanged {
                user_id,
                status,
                last_seen_at,
                context,
            } => Self::PresenceChanged {
                user_id,
                status,
                last_seen_at,
                context,
            },
            WireEvent::SessionRevoked { session_id } => Self::SessionRevoked { session_id },
            WireEvent::ViewerChanged {
                user_id,
                session_id,
            } => Self::ViewerChanged {
                user_id,
                session_id,
            },
            WireEvent::CallJoined {
                room_id,
                participant,
            } => Self::CallJoined {
                room_id,
                participant: participant.into(),
            },
            WireEvent::CallLeft {
                room_id,
                participant,
                reason,
            } => Self::CallLeft {
                room_id,
                participant: participant.into(),
                reason,
            },
            WireEvent::CallUpdated {
                room_id,
                participant,
            } => Self::CallUpdated {
                room_id,
                participant: participant.into(),
            },
            WireEvent::CallEnded { call } => Self::CallEnded { call: call.into() },
            WireEvent::CallSignal {
                from_session_id,
                to_session_id,
                kind,
                payload,
            } => Self::CallSignal {
                from_session_id,
                to_session_id,
                kind,
                payload: Arc::new(payload),
            },
        }
    }
}
