//! Messages, their reactions and receipts.

use crate::error::ApiError;
use crate::store::kinds;
use std::sync::Arc;

use async_graphql::parser::types::{Field, SelectionSet};
use async_graphql::{Context, ContextSelectionSet, DataContext, Enum, Json, Object, Result, Value};
use chrono::{DateTime, Utc};
use entity::{messages, users};
use uuid::Uuid;

use super::blob::Attachment;
use super::reaction::ReactionGroup;
use super::receipt::MessageStatus;
use super::room::Room;
use super::{User, utc};
use crate::graphql::fastpath::{self, FastPath};
use crate::graphql::loaders::{AttachmentsOf, MessageId, ReactionsOn, ReadersOf, RoomId, UserId};
use crate::graphql::receipts::{DeliveredTo, ProgressOf};
use crate::graphql::{load, viewer};

/// What a message carries.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum MessageKind {
    /// Text written by a user.
    Text,
    /// A notice from the server (no sender).
    System,
    /// An MLS application message (ciphertext).
    App,
    /// An MLS commit, advancing the room's epoch (ciphertext).
    Commit,
}

/// One message in a room.
///
/// Fields that return another object (`room`, `sender`, `replyTo`, and Room's `createdBy`,
/// `lastMessage` and `messages`, RoomMember's `user`) return it boxed. async-graphql boxes a
/// future for every selected field of every object, sized for the largest field of the type,
/// and the largest were those that hold an object while resolving it: a Message field's
/// future was 1,536 bytes, allocated and copied ~2,800 times per nested benchmark answer,
/// for `id` as for `sender`. Boxed, the object held is a pointer (sizes from
/// `-Zprint-type-sizes`).
pub struct Message {
    model: messages::Model,
    /// The sender when it came with the message (pages, last message), else loaded on demand.
    sender: Option<Arc<users::Model>>,
}

impl Message {
    pub fn new(model: messages::Model) -> Self {
        Self {
            model,
            sender: None,
        }
    }

    pub fn with_sender(model: messages::Model, sender: Option<Arc<users::Model>>) -> Self {
        Self { model, sender }
    }

    fn kind_of(&self) -> MessageKind {
        match kinds::MessageKind::parse(&self.model.kind) {
            kinds::MessageKind::Text => MessageKind::Text,
            kinds::MessageKind::System => MessageKind::System,
            kinds::MessageKind::App => MessageKind::App,
            kinds::MessageKind::Commit => MessageKind::Commit,
        }
    }

    fn visible_body(&self) -> Option<&str> {
        self.model
            .body
            .as_deref()
            .filter(|_| self.model.deleted_at.is_none())
    }

    fn moderated_body<'a>(&self, ctx: &impl DataContext<'a>) -> Option<&str> {
        let admin = viewer(ctx).is_some_and(|v| v.is_admin());
        self.model
            .body
            .as_deref()
            .filter(|_| admin && self.model.deleted_at.is_some())
    }

    /// The sender: the one that came with the message, else loaded.
    async fn load_sender<'a>(&self, ctx: &(impl DataContext<'a> + Sync)) -> Result<Option<User>> {
        if let Some(sender) = &self.sender {
            return Ok(Some(User::shared(sender.clone())));
        }
        let Some(sender) = self.model.sender_id else {
            return Ok(None);
        };
        Ok(load(ctx, UserId(sender)).await?.map(User::new))
    }

    async fn load_reactions<'a>(
        &self,
        ctx: &(impl DataContext<'a> + Sync),
    ) -> Result<Vec<ReactionGroup>> {
        // Never reacted to: nothing to ask the database (migration 21).
        if !self.model.reacted {
            return Ok(Vec::new());
        }
        let rows = load(ctx, ReactionsOn(self.model.id))
            .await?
            .unwrap_or_default();
        let me = viewer(ctx).map(|v| v.id());
        let mut groups: Vec<ReactionGroup> = Vec::new();
        for (reaction, user) in rows {
            let index = match groups.iter().position(|g| g.emoji == reaction.emoji) {
                Some(index) => index,
                None => {
                    groups.push(ReactionGroup {
                        emoji: reaction.emoji,
                        users: Vec::new(),
                        reacted_by_me: false,
                    });
                    groups.len() - 1
                }
            };
            let group = &mut groups[index];
            group.reacted_by_me |= Some(reaction.user_id) == me;
            group.users.extend(user.map(User::new));
        }
        Ok(groups)
    }
}

/// What a directly written message selection needs loaded first.
pub struct MessageLoads {
    /// The sender, when selected and it did not come with the message.
    sender: Option<User>,
    /// The reaction groups, when selected.
    reactions: Option<Vec<ReactionGroup>>,
}

impl FastPath for Message {
    type Loaded = MessageLoads;

    fn writes(ctx: &ContextSelectionSet<'_>, field: &Field) -> bool {
        match field.name.node.as_str() {
            "id" | "roomId" | "kind" | "body" | "deletedBody" | "epoch" | "createdAt"
            | "editedAt" | "deletedAt" => true,
            "sender" => fastpath::writable::<User>(ctx, &field.selection_set.node),
            "reactions" => fastpath::writable::<ReactionGroup>(ctx, &field.selection_set.node),
            _ => false,
        }
    }

    async fn load(
        &self,
        ctx: &ContextSelectionSet<'_>,
        selection: &SelectionSet,
    ) -> Option<MessageLoads> {
        let wants_sender = self.sender.is_none() && fastpath::selects(ctx, selection, "sender");
        let wants_reactions = fastpath::selects(ctx, selection, "reactions");
        // Together, as the resolvers would: each waits on its loader's batch.
        let (sender, reactions) = futures_util::join!(
            async {
                if wants_sender {
                    self.load_sender(ctx).await
                } else {
                    Ok(None)
                }
            },
            async {
                if wants_reactions {
                    self.load_reactions(ctx).await.map(Some)
                } else {
                    Ok(None)
                }
            },
        );
        Some(MessageLoads {
            sender: sender.ok()?,
            reactions: reactions.ok()?,
        })
    }

    fn field(
        &self,
        ctx: &ContextSelectionSet<'_>,
        loaded: &MessageLoads,
        field: &Field,
    ) -> Option<Value> {
        let m = &self.model;
        Some(match field.name.node.as_str() {
            "id" => fastpath::scalar(&m.id),
            "roomId" => fastpath::scalar(&m.room_id),
            "kind" => self.kind_of().into(),
            "body" => fastpath::text(self.visible_body()),
            "deletedBody" => fastpath::text(self.moderated_body(ctx)),
            "epoch" => fastpath::nullable(m.epoch.as_ref()),
            "createdAt" => fastpath::scalar(&utc(m.created_at)),
            "editedAt" => fastpath::nullable(m.edited_at.map(utc).as_ref()),
            "deletedAt" => fastpath::nullable(m.deleted_at.map(utc).as_ref()),
            "sender" => {
                let joined = self.sender.clone().map(User::shared);
                fastpath::child(ctx, field, joined.as_ref().or(loaded.sender.as_ref()), &())?
            }
            "reactions" => fastpath::list(ctx, field, loaded.reactions.as_ref()?, &())?,
            _ => return None,
        })
    }
}

/// One message in a room.
#[Object]
impl Message {
    /// Stable id (UUID v7).
    async fn id(&self) -> Uuid {
        self.model.id
    }

    /// The room the message was sent in.
    async fn room(&self, ctx: &Context<'_>) -> Result<Box<Room>> {
        let room = load(ctx, RoomId(self.model.room_id)).await?;
        room.map(|room| Box::new(Room(room))).ok_or_else(|| {
            ApiError::broken(format_args!(
                "message {}: room {}",
                self.model.id, self.model.room_id
            ))
            .into()
        })
    }

    /// The room's id, without loading the room.
    async fn room_id(&self) -> Uuid {
        self.model.room_id
    }

    /// Who sent it; null for system messages.
    async fn sender(&self, ctx: &Context<'_>) -> Result<Option<Box<User>>> {
        Ok(self.load_sender(ctx).await?.map(Box::new))
    }

    /// TEXT, SYSTEM, APP or COMMIT.
    async fn kind(&self) -> MessageKind {
        self.kind_of()
    }

    /// The text; null once deleted and for ciphertext messages.
    async fn body(&self) -> Option<&str> {
        self.visible_body()
    }

    /// The text of a deleted message, for server administrators (moderation) while it is
    /// kept (`deleted-body-retention-days`); null for everyone else and for messages that stand.
    async fn deleted_body(&self, ctx: &Context<'_>) -> Option<&str> {
        self.moderated_body(ctx)
    }

    /// Client-defined JSON (at most 16 KiB); null once deleted.
    async fn metadata(&self) -> Option<Json<serde_json::Value>> {
        self.model
            .metadata
            .clone()
            .filter(|_| self.model.deleted_at.is_none())
            .map(Json)
    }

    /// MLS messages: the ciphertext, base64; null for text and once deleted.
    async fn ciphertext(&self) -> Option<String> {
        self.model
            .ciphertext
            .as_deref()
            .filter(|_| self.model.deleted_at.is_none())
            .map(crate::service::mls::encode)
    }

    /// MLS messages: the epoch they were sent in.
    async fn epoch(&self) -> Option<i64> {
        self.model.epoch
    }

    /// The message this one replies to.
    async fn reply_to(&self, ctx: &Context<'_>) -> Result<Option<Box<Message>>> {
        let Some(id) = self.model.reply_to_id else {
            return Ok(None);
        };
        Ok(load(ctx, MessageId(id))
            .await?
            .map(|message| Box::new(Message::new(message))))
    }

    /// When it was sent.
    async fn created_at(&self) -> DateTime<Utc> {
        utc(self.model.created_at)
    }

    /// When the body was last edited; null if never.
    async fn edited_at(&self) -> Option<DateTime<Utc>> {
        self.model.edited_at.map(utc)
    }

    /// When it was deleted; null while it stands.
    async fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.model.deleted_at.map(utc)
    }

    /// Reactions grouped by emoji, in the order each emoji was first used.
    async fn reactions(&self, ctx: &Context<'_>) -> Result<Vec<ReactionGroup>> {
        self.load_reactions(ctx).await
    }

    /// Files attached to the message.
    async fn attachments(&self, ctx: &Context<'_>) -> Result<Vec<Attachment>> {
        let rows = load(ctx, AttachmentsOf(self.model.id))
            .await?
            .unwrap_or_default();
        Ok(rows
            .into_iter()
            .map(|(model, blob)| Attachment { model, blob })
            .collect())
    }

    /// Members (other than the sender) whose read marker is at or past this message.
    async fn read_by(&self, ctx: &Context<'_>) -> Result<Vec<User>> {
        let readers = load(ctx, ReadersOf(self.model.id))
            .await?
            .unwrap_or_default();
        Ok(readers.into_iter().map(User::new).collect())
    }

    /// Members (other than the sender) whose delivered or read marker is at or past this
    /// message: it reached one of their devices. By username.
    async fn delivered_to(&self, ctx: &Context<'_>) -> Result<Vec<User>> {
        let users = load(ctx, DeliveredTo(self.model.id))
            .await?
            .unwrap_or_default();
        Ok(users.into_iter().map(User::new).collect())
    }

    /// SENT, DELIVERED or READ, for the sender's view: DELIVERED once every other active
    /// member has it delivered (in a direct room, the other person), READ once all have read
    /// it; SENT before that, and while no one else is in the room.
    async fn status(&self, ctx: &Context<'_>) -> Result<MessageStatus> {
        let progress = load(ctx, ProgressOf(self.model.id))
            .await?
            .unwrap_or_default();
        Ok(progress.into())
    }
}
