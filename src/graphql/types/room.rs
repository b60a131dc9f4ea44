//! Rooms and their members.

use crate::error::ApiError;
use crate::store::kinds;
use std::sync::Arc;

use async_graphql::connection::Connection;
use async_graphql::parser::types::{Field, SelectionSet};
use async_graphql::{Context, ContextSelectionSet, DataContext, Enum, Object, Result, Value};
use chrono::{DateTime, Utc};
use entity::{room_members, rooms, users};
use uuid::Uuid;

use super::cursor;
use super::message::Message;
use super::{User, utc};
use crate::graphql::fastpath::{self, Fast, FastPath};
use crate::graphql::loaders::extra::MessageCountOf;
use crate::graphql::loaders::{LastMessageOf, Member, MembersOf, UnreadIn, UserId};
use crate::graphql::{load, viewer};
use crate::service::membership::Role;
use crate::store::page::{DEFAULT_PAGE, MAX_PAGE};

/// Direct rooms hold exactly two people; group rooms are named and managed.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum RoomKind {
    /// A one-to-one conversation, one per pair of users.
    Direct,
    /// A named room with owners, admins and members.
    Group,
}

/// A member's standing in a room.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum MemberRole {
    /// Manages the room, its members and roles; a room always has one.
    Owner,
    /// Manages members and settings.
    Admin,
    /// Reads and writes.
    Member,
}

impl From<Role> for MemberRole {
    fn from(role: Role) -> Self {
        match role {
            Role::Owner => Self::Owner,
            Role::Admin => Self::Admin,
            Role::Member => Self::Member,
        }
    }
}

impl From<MemberRole> for Role {
    fn from(role: MemberRole) -> Self {
        match role {
            MemberRole::Owner => Self::Owner,
            MemberRole::Admin => Self::Admin,
            MemberRole::Member => Self::Member,
        }
    }
}

/// The order a room's history is listed in.
#[derive(Enum, Copy, Clone, Debug, Default, Eq, PartialEq)]
pub enum MessageOrder {
    /// Oldest first: `last`/`before` walks back from the newest, as a chat window shows it.
    #[default]
    OldestFirst,
    /// Newest first: `first` is the newest, `after` walks back in time (a feed, an archive).
    NewestFirst,
}

/// A conversation. Only its members can see it.
pub struct Room(pub rooms::Model);

pub type MessageConnection = Connection<cursor::Cursor, Fast<Message>>;

/// A conversation. Only its members can see it.
#[Object]
impl Room {
    /// Stable id (UUID v7).
    async fn id(&self) -> Uuid {
        self.0.id
    }

    /// DIRECT or GROUP.
    async fn kind(&self) -> RoomKind {
        if self.0.kind == kinds::RoomKind::Direct {
            RoomKind::Direct
        } else {
            RoomKind::Group
        }
    }

    /// The group's name; null for direct rooms.
    async fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }

    /// What the room is about.
    async fn topic(&self) -> Option<&str> {
        self.0.topic.as_deref()
    }

    /// The 6-character code others can `joinRoom` with; null when joining by code is off.
    async fn join_code(&self) -> Option<&str> {
        self.0.join_code.as_deref()
    }

    /// The most active members the room admits; null for no cap.
    async fn max_members(&self) -> Option<i32> {
        self.0.max_members
    }

    /// The MLS epoch of the room's group state.
    async fn epoch(&self) -> i64 {
        self.0.epoch
    }

    /// Who created the room.
    async fn created_by(&self, ctx: &Context<'_>) -> Result<Box<User>> {
        let user = load(ctx, UserId(self.0.created_by)).await?;
        user.map(|user| Box::new(User::new(user))).ok_or_else(|| {
            ApiError::broken(format_args!(
                "room {}: creator {}",
                self.0.id, self.0.created_by
            ))
            .into()
        })
    }

    /// When the room was created.
    async fn created_at(&self) -> DateTime<Utc> {
        utc(self.0.created_at)
    }

    /// When the room was archived (read-only); null while active.
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at.map(utc)
    }

    /// The call going on in the room now; null when there is none.
    async fn call(&self, ctx: &Context<'_>) -> Result<Option<super::call::Call>> {
        super::call::live_call(ctx, self.0.id).await
    }

    /// The room's calls, live and ended, newest first (`first`/`after` walks back in time);
    /// for its active members (empty for anyone else). At most 100 a page; the newest 20 when
    /// no argument is given.
    #[graphql(
        complexity = "first.unwrap_or(DEFAULT_PAGE as i32).clamp(1, MAX_PAGE as i32) as usize * child_complexity"
    )]
    async fn calls(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many items, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Continue after this cursor.")] after: Option<String>,
    ) -> Result<super::call_history::CallHistoryConnection> {
        super::call_history::room_calls(ctx, self.0.id, first, after.as_deref()).await
    }

    /// Who was in the room when: one stint per time in (joined, left; rejoining starts a new
    /// one), newest first; for its owners and admins (FORBIDDEN for anyone else). At most 100
    /// a page; 20 when `first` is omitted.
    #[graphql(
        complexity = "first.unwrap_or(DEFAULT_PAGE as i32).clamp(1, MAX_PAGE as i32) as usize * child_complexity"
    )]
    async fn member_history(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many items, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Continue after this cursor.")] after: Option<String>,
    ) -> Result<super::member_history::MemberStintConnection> {
        super::member_history::member_history(ctx, self.0.id, first, after.as_deref()).await
    }

    /// The active members, longest-standing first.
    async fn members(&self, ctx: &Context<'_>) -> Result<Vec<Fast<RoomMember>>> {
        Ok(members(ctx, self.0.id)
            .await?
            .into_iter()
            .map(|(member, user)| {
                Fast(RoomMember {
                    model: member,
                    user: user.map(Arc::new),
                })
            })
            .collect())
    }

    /// How many active members the room has.
    async fn member_count(&self, ctx: &Context<'_>) -> Result<i32> {
        Ok(members(ctx, self.0.id).await?.len() as i32)
    }

    /// The caller's role here.
    async fn my_role(&self, ctx: &Context<'_>) -> Result<Option<MemberRole>> {
        let me = viewer(ctx).map(|v| v.id());
        Ok(members(ctx, self.0.id)
            .await?
            .into_iter()
            .find(|(m, _)| Some(m.user_id) == me)
            .map(|(m, _)| Role::parse(&m.role).into()))
    }

    /// The newest message that is not deleted.
    async fn last_message(&self, ctx: &Context<'_>) -> Result<Option<Box<Fast<Message>>>> {
        let message = load(ctx, LastMessageOf(self.0.id)).await?;
        Ok(message.map(|(m, sender)| Box::new(Fast(Message::with_sender(m, sender)))))
    }

    /// Messages after the caller's read marker that are not deleted and not the caller's own.
    async fn unread_count(&self, ctx: &Context<'_>) -> Result<i64> {
        let count = load(ctx, UnreadIn(self.0.id)).await?;
        Ok(count.unwrap_or(0))
    }

    /// The room's history, oldest first unless `order` says otherwise. Oldest first,
    /// `last`/`before` walks back from the newest (what a chat window shows) and
    /// `first`/`after` walks forward; newest first, `first`/`after` walks back in time. At most
    /// 100 a page; the latest 20 when no argument is given. With `since`, only messages created
    /// after that time, and with no size or cursor the first 20 of them (oldest first).
    #[graphql(
        complexity = "first.or(last).unwrap_or(DEFAULT_PAGE as i32).clamp(1, MAX_PAGE as i32) as usize * child_complexity"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn messages(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many items, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Continue after this cursor.")] after: Option<String>,
        #[graphql(desc = "How many items counting back from the end, at most 100.")] last: Option<
            i32,
        >,
        #[graphql(desc = "Continue before this cursor.")] before: Option<String>,
        #[graphql(desc = "OLDEST_FIRST (the default) or NEWEST_FIRST.", default)]
        order: MessageOrder,
        #[graphql(desc = "Only messages created after this time (a client catching up).")]
        since: Option<DateTime<Utc>>,
    ) -> Result<Box<MessageConnection>> {
        let args = super::room_history::PageArgs {
            first,
            after,
            last,
            before,
        };
        super::room_history::messages(ctx, self.0.id, args, order, since).await
    }

    /// How many messages the room holds, deleted ones not counted (all kinds: text, system,
    /// MLS application and commit messages).
    async fn message_count(&self, ctx: &Context<'_>) -> Result<i64> {
        Ok(load(ctx, MessageCountOf(self.0.id)).await?.unwrap_or(0))
    }

    /// Files uploaded for this room (`uploadBlob(roomId:)`), newest first, each with its
    /// uploader and filename; members may read them while they belong. At most 100 a page.
    #[graphql(
        complexity = "first.unwrap_or(DEFAULT_PAGE as i32).clamp(1, MAX_PAGE as i32) as usize * child_complexity"
    )]
    async fn blobs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many items, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Continue after this cursor.")] after: Option<String>,
    ) -> Result<super::blob::UploadConnection> {
        super::blob::uploads(ctx, Some(self.0.id), first, after).await
    }
}

async fn members(ctx: &Context<'_>, room_id: Uuid) -> Result<Vec<Member>> {
    Ok(load(ctx, MembersOf(room_id)).await?.unwrap_or_default())
}

/// A person's membership of a room.
pub struct RoomMember {
    model: room_members::Model,
    /// The user when it came with the membership (room listings), else loaded on demand.
    user: Option<Arc<users::Model>>,
}

impl RoomMember {
    pub fn new(model: room_members::Model) -> Self {
        Self { model, user: None }
    }

    /// The member: the user that came with the membership, else loaded.
    async fn load_user<'a>(&self, ctx: &(impl DataContext<'a> + Sync)) -> Result<User> {
        let user = match &self.user {
            Some(user) => Some(User::shared(user.clone())),
            None => load(ctx, UserId(self.model.user_id)).await?.map(User::new),
        };
        user.ok_or_else(|| {
            ApiError::broken(format_args!(
                "room {}: member {}",
                self.model.room_id, self.model.user_id
            ))
            .into()
        })
    }
}

impl FastPath for RoomMember {
    /// The member, when selected.
    type Loaded = Option<User>;

    fn writes(ctx: &ContextSelectionSet<'_>, field: &Field) -> bool {
        match field.name.node.as_str() {
            "roomId"
            | "role"
            | "joinedAt"
            | "leftAt"
            | "lastReadMessageId"
            | "lastDeliveredMessageId" => true,
            "user" => fastpath::writable::<User>(ctx, &field.selection_set.node),
            _ => false,
        }
    }

    async fn load(
        &self,
        ctx: &ContextSelectionSet<'_>,
        selection: &SelectionSet,
    ) -> Option<Option<User>> {
        if !fastpath::selects(ctx, selection, "user") {
            return Some(None);
        }
        self.load_user(ctx).await.ok().map(Some)
    }

    fn field(
        &self,
        ctx: &ContextSelectionSet<'_>,
        user: &Option<User>,
        field: &Field,
    ) -> Option<Value> {
        let m = &self.model;
        Some(match field.name.node.as_str() {
            "user" => fastpath::object(ctx, &field.selection_set.node, user.as_ref()?, &())?,
            "roomId" => fastpath::scalar(&m.room_id),
            "role" => MemberRole::from(Role::parse(&m.role)).into(),
            "joinedAt" => fastpath::scalar(&utc(m.joined_at)),
            "leftAt" => fastpath::nullable(m.left_at.map(utc).as_ref()),
            "lastReadMessageId" => fastpath::nullable(m.last_read_message_id.as_ref()),
            "lastDeliveredMessageId" => fastpath::nullable(m.last_delivered_message_id.as_ref()),
            _ => return None,
        })
    }
}

/// A person's membership of a room.
// Serial, for the reason given on `User`; its fields are ready at once, except `user` (one
// loader, when not joined in).
#[Object(serial)]
impl RoomMember {
    /// The member.
    async fn user(&self, ctx: &Context<'_>) -> Result<Box<User>> {
        Ok(Box::new(self.load_user(ctx).await?))
    }

    /// The room.
    async fn room_id(&self) -> Uuid {
        self.model.room_id
    }

    /// OWNER, ADMIN or MEMBER.
    async fn role(&self) -> MemberRole {
        Role::parse(&self.model.role).into()
    }

    /// When the member (last) joined.
    async fn joined_at(&self) -> DateTime<Utc> {
        utc(self.model.joined_at)
    }

    /// When the member left; null while they belong.
    async fn left_at(&self) -> Option<DateTime<Utc>> {
        self.model.left_at.map(utc)
    }

    /// The newest message the member has read (their read receipt).
    async fn last_read_message_id(&self) -> Option<Uuid> {
        self.model.last_read_message_id
    }

    /// The newest message that has reached one of the member's devices (`markDelivered`, or
    /// `markRead`, which implies it); null before either.
    async fn last_delivered_message_id(&self) -> Option<Uuid> {
        self.model.last_delivered_message_id
    }
}
