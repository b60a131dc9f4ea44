//! Sending, editing, deleting and reacting to messages.

use async_graphql::{Context, InputObject, Json, Object, Result};
use uuid::Uuid;

use crate::auth;
use crate::graphql::types::Message;
use crate::graphql::{state, viewer};
use crate::service;

/// A new text message.
#[derive(InputObject)]
pub struct SendMessageInput {
    /// The room to send to (the caller must be a member).
    pub room_id: Uuid,
    /// 1-10,000 characters after trimming.
    pub body: String,
    /// A message of the same room this one replies to.
    pub reply_to_id: Option<Uuid>,
    /// Client-defined JSON object, at most 16 KiB and 16 levels deep.
    pub metadata: Option<Json<serde_json::Value>>,
    /// Up to ten uploaded blobs to attach (the body may then be empty).
    #[graphql(default)]
    pub attachment_blob_ids: Vec<String>,
}

#[derive(Default)]
pub struct MessageMutation;

#[Object]
impl MessageMutation {
    /// Sends a message; it also marks the room read up to it for the sender.
    async fn send_message(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: SendMessageInput,
    ) -> Result<Message> {
        let viewer = auth::require(viewer(ctx))?;
        let input = service::message::SendMessage {
            room_id: input.room_id,
            body: input.body,
            reply_to_id: input.reply_to_id,
            metadata: input.metadata.map(|m| m.0),
            attachment_blob_ids: input.attachment_blob_ids,
        };
        Ok(Message::new(
            service::message::send(state(ctx)?, viewer, input).await?,
        ))
    }

    /// Replaces the body of one of the caller's messages; sets `editedAt`.
    async fn edit_message(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The message.")] id: Uuid,
        #[graphql(desc = "The new text, 1 to 10,000 characters.")] body: String,
    ) -> Result<Message> {
        let viewer = auth::require(viewer(ctx))?;
        Ok(Message::new(
            service::message::edit(state(ctx)?, viewer, id, &body).await?,
        ))
    }

    /// Deletes a message (its sender, or a room owner or admin): `deletedAt` is set and the
    /// body is gone for good.
    async fn delete_message(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The message.")] id: Uuid,
    ) -> Result<Message> {
        let viewer = auth::require(viewer(ctx))?;
        Ok(Message::new(
            service::message::delete(state(ctx)?, viewer, id).await?,
        ))
    }

    /// Adds the caller's reaction (once per emoji).
    async fn react(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The message.")] message_id: Uuid,
        #[graphql(desc = "The emoji.")] emoji: String,
    ) -> Result<Message> {
        let viewer = auth::require(viewer(ctx))?;
        Ok(Message::new(
            service::message::react(state(ctx)?, viewer, message_id, &emoji).await?,
        ))
    }

    /// Removes the caller's reaction.
    async fn unreact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The message.")] message_id: Uuid,
        #[graphql(desc = "The emoji.")] emoji: String,
    ) -> Result<Message> {
        let viewer = auth::require(viewer(ctx))?;
        Ok(Message::new(
            service::message::unreact(state(ctx)?, viewer, message_id, &emoji).await?,
        ))
    }
}
