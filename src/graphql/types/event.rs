//! What subscriptions deliver: room events, the caller's own events, presence changes.

use crate::error::ApiError;
use async_graphql::{Context, Json, Object, Result, SimpleObject, Union};
use chrono::{DateTime, Utc};
use entity::notifications;
use uuid::Uuid;

use super::{Message, Room, RoomMember, User, UserStatus, utc};
use crate::graphql::fastpath::Fast;
use crate::graphql::load;
use crate::graphql::loaders::UserId;

/// Something that happened in a room.
#[derive(Union)]
pub enum RoomEvent {
    MessageAdded(MessageAdded),
    MessageEdited(MessageEdited),
    MessageDeleted(MessageDeleted),
    ReactionChanged(ReactionChanged),
    ReceiptUpdated(ReceiptUpdated),
    MemberJoined(MemberJoined),
    MemberLeft(MemberLeft),
    Typing(Typing),
    RoomDeleted(RoomDeleted),
}

/// Something that concerns the caller.
#[derive(Union)]
pub enum MyEvent {
    NotificationAdded(NotificationAdded),
    RoomAdded(RoomAdded),
    ContactRequested(ContactRequested),
    UnreadChanged(UnreadChanged),
    RoomDeleted(RoomDeleted),
}

/// A new message.
#[derive(SimpleObject)]
pub struct MessageAdded {
    /// The message, with its sender.
    pub message: Fast<Message>,
}

/// A message's body was edited.
#[derive(SimpleObject)]
pub struct MessageEdited {
    /// The message as it is now.
    pub message: Message,
}

/// A message was deleted (its body is gone).
#[derive(SimpleObject)]
pub struct MessageDeleted {
    /// The message, with `deletedAt` set.
    pub message: Message,
}

async fn user(ctx: &Context<'_>, id: Uuid) -> Result<User> {
    let user = load(ctx, UserId(id)).await?;
    user.map(User::new)
        .ok_or_else(|| ApiError::broken(format_args!("event's user {id}")).into())
}

/// Someone added or removed a reaction.
pub struct ReactionChanged {
    pub message: Message,
    pub user_id: Uuid,
    pub emoji: String,
    pub added: bool,
}

/// Someone added or removed a reaction.
#[Object]
impl ReactionChanged {
    /// The message, with its reactions as they are now.
    async fn message(&self) -> &Message {
        &self.message
    }

    /// Who reacted.
    async fn user(&self, ctx: &Context<'_>) -> Result<User> {
        user(ctx, self.user_id).await
    }

    /// The emoji.
    async fn emoji(&self) -> &str {
        &self.emoji
    }

    /// true when added, false when removed.
    async fn added(&self) -> bool {
        self.added
    }
}

/// A member's delivered or read marker moved.
pub struct ReceiptUpdated {
    pub room_id: Uuid,
    pub user_id: Uuid,
    pub message_id: Uuid,
    pub marker: super::receipt::ReceiptMarker,
}

/// A member's delivered or read marker moved.
#[Object]
impl ReceiptUpdated {
    /// The room.
    async fn room_id(&self) -> Uuid {
        self.room_id
    }

    /// Whose marker moved.
    async fn user(&self, ctx: &Context<'_>) -> Result<User> {
        user(ctx, self.user_id).await
    }

    /// Where the marker now is: the newest message delivered to them, or read by them.
    async fn message_id(&self) -> Uuid {
        self.message_id
    }

    /// Which marker moved: DELIVERED, or READ (which implies delivered up to the same message).
    async fn marker(&self) -> super::receipt::ReceiptMarker {
        self.marker
    }
}

/// Someone joined (or rejoined) the room.
#[derive(SimpleObject)]
pub struct MemberJoined {
    /// The room.
    pub room_id: Uuid,
    /// The new membership.
    pub member: RoomMember,
}

/// Someone left or was removed.
pub struct MemberLeft {
    pub room_id: Uuid,
    pub user_id: Uuid,
}

/// Someone left or was removed.
#[Object]
impl MemberLeft {
    /// The room.
    async fn room_id(&self) -> Uuid {
        self.room_id
    }

    /// Who left.
    async fn user(&self, ctx: &Context<'_>) -> Result<User> {
        user(ctx, self.user_id).await
    }
}

/// The room was deleted: its messages are gone and it is no longer among the caller's rooms.
/// The last event of a `roomEvents` subscription.
#[derive(SimpleObject)]
pub struct RoomDeleted {
    /// The room that was deleted.
    pub room_id: Uuid,
}

/// Someone started or stopped typing.
pub struct Typing {
    pub room_id: Uuid,
    pub user_id: Uuid,
    pub typing: bool,
    pub expires_at: DateTime<Utc>,
}

/// Someone started or stopped typing.
#[Object]
impl Typing {
    /// The room.
    async fn room_id(&self) -> Uuid {
        self.room_id
    }

    /// Who is typing.
    async fn user(&self, ctx: &Context<'_>) -> Result<User> {
        user(ctx, self.user_id).await
    }

    /// false when they stopped.
    async fn typing(&self) -> bool {
        self.typing
    }

    /// Drop the indicator at this time unless another Typing event arrives.
    async fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }
}

/// A notification in the caller's inbox.
pub struct Notification(pub notifications::Model);

/// A notification in the caller's inbox.
#[Object]
impl Notification {
    /// Stable id.
    async fn id(&self) -> Uuid {
        self.0.id
    }

    /// `mention`, `room_added`, `contact_request`, ...
    async fn kind(&self) -> &str {
        &self.0.kind
    }

    /// One line to show.
    async fn title(&self) -> &str {
        &self.0.title
    }

    /// More text, if any (a mention's message preview).
    async fn body(&self) -> Option<&str> {
        self.0.body.as_deref()
    }

    /// Ids the client needs to act on it (`roomId`, `messageId`, ...).
    async fn data(&self) -> Option<Json<serde_json::Value>> {
        self.0.data.clone().map(Json)
    }

    /// When it was read; null while unread.
    async fn read_at(&self) -> Option<DateTime<Utc>> {
        self.0.read_at.map(utc)
    }

    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        utc(self.0.created_at)
    }
}

/// A new notification.
#[derive(SimpleObject)]
pub struct NotificationAdded {
    /// The notification.
    pub notification: Notification,
}

/// The caller was put in a room (created, added, joined).
#[derive(SimpleObject)]
pub struct RoomAdded {
    /// The room.
    pub room: Room,
}

/// Someone asked to become the caller's contact.
pub struct ContactRequested {
    pub from_user_id: Uuid,
}

/// Someone asked to become the caller's contact.
#[Object]
impl ContactRequested {
    /// Who asked.
    async fn from(&self, ctx: &Context<'_>) -> Result<User> {
        user(ctx, self.from_user_id).await
    }
}

/// The caller's unread count in a room changed.
#[derive(SimpleObject)]
pub struct UnreadChanged {
    /// The room.
    pub room_id: Uuid,
    /// Unread messages there now.
    pub unread_count: i64,
    /// The room's newest message that is not deleted (as `Room.lastMessage`), with its sender,
    /// when the count moved because messages changed: what a room list previews, so it need
    /// not refetch the room. Null when the caller's reading moved the count (`markRead`; the
    /// newest message is the same) or the room has no message left.
    pub last_message: Option<Fast<Message>>,
}

/// A user's presence changed.
pub struct PresenceChanged {
    pub user_id: Uuid,
    pub status: UserStatus,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub context: Option<String>,
}

/// A user's presence changed.
#[Object]
impl PresenceChanged {
    /// Whose presence.
    async fn user_id(&self) -> Uuid {
        self.user_id
    }

    /// The user.
    async fn user(&self, ctx: &Context<'_>) -> Result<User> {
        user(ctx, self.user_id).await
    }

    /// ONLINE or AWAY while connected (as they chose), OFFLINE otherwise.
    async fn status(&self) -> UserStatus {
        self.status
    }

    /// When they were last connected.
    async fn last_seen_at(&self) -> Option<DateTime<Utc>> {
        self.last_seen_at
    }

    /// The short context they share with their presence (where they are, what they are on),
    /// as `User.presenceContext`; null when none, and whenever they are OFFLINE.
    async fn context(&self) -> Option<&str> {
        self.context.as_deref()
    }
}
