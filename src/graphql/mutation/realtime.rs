//! Ephemeral signals and the notification inbox: notifications the app makes, marking and
//! deleting them.

use async_graphql::{Context, Json, Object, Result};
use uuid::Uuid;

use crate::auth;
use crate::graphql::types::event::Notification;
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

    /// Creates a notification for a user, delivered live as `NotificationAdded` like any other;
    /// server administrators only (FORBIDDEN otherwise), for integrations and announcements.
    async fn notify_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Who gets it (a live user).")] user_id: Uuid,
        #[graphql(desc = "Free-form, 1-32 characters of a-z, 0-9, _ . -; `info` when omitted.")]
        kind: Option<String>,
        #[graphql(desc = "1-200 characters.")] title: String,
        #[graphql(desc = "At most 2,000 characters.")] body: Option<String>,
        #[graphql(desc = "A JSON object for the client, at most 16 KiB.")] data: Option<
            Json<serde_json::Value>,
        >,
    ) -> Result<Notification> {
        let viewer = auth::require(viewer(ctx))?;
        let input = service::notification::AppNotification {
            user_id,
            kind,
            title,
            body,
            data: data.map(|d| d.0),
        };
        Ok(Notification(
            service::notification::notify_user(state(ctx)?, viewer, input).await?,
        ))
    }

    /// Deletes the caller's notifications among `ids` (at most 100); ids that are not the
    /// caller's notifications are ignored. Returns how many were deleted.
    async fn delete_notifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The notifications to delete, at most 100.")] ids: Vec<Uuid>,
    ) -> Result<i32> {
        let viewer = auth::require(viewer(ctx))?;
        let deleted = service::notification::delete(state(ctx)?, viewer, ids).await?;
        Ok(deleted.min(i32::MAX as u64) as i32)
    }
}
