//! Ephemeral signals and inbox housekeeping.

use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use crate::auth;
use crate::graphql::{state, viewer};
use crate::service;

#[derive(Default)]
pub struct RealtimeMutation;

#[Object]
impl RealtimeMutation {
    /// Tells the room the caller is typing (repeat every few seconds while typing) or stopped.
    /// Delivered as a `Typing` room event with an expiry; never stored.
    async fn set_typing(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The room.")] room_id: Uuid,
        #[graphql(desc = "true while typing, false when stopped.")] typing: bool,
    ) -> Result<bool> {
        let viewer = auth::require(viewer(ctx))?;
        Ok(service::message::set_typing(state(ctx)?, viewer, room_id, typing).await?)
    }

    /// Marks the caller's notifications read: those listed, or all when `ids` is omitted.
    /// Returns how many changed.
    async fn mark_notifications_read(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The notifications to mark; all of the caller's when omitted.")]
        ids: Option<Vec<Uuid>>,
    ) -> Result<i32> {
        let viewer = auth::require(viewer(ctx))?;
        let changed = service::notification::mark_read(state(ctx)?, viewer, ids).await?;
        Ok(changed.min(i32::MAX as u64) as i32)
    }
}
