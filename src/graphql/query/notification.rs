//! The caller's notification inbox.

use async_graphql::connection::Connection;
use async_graphql::{Context, Object, Result};

use crate::auth;
use crate::graphql::types::cursor;
use crate::graphql::types::event::Notification;
use crate::graphql::{state, viewer};
use crate::service;
use crate::store::page::{DEFAULT_PAGE, Key, MAX_PAGE};

pub type NotificationConnection = Connection<cursor::Cursor, Notification>;

#[derive(Default)]
pub struct NotificationQuery;

#[Object]
impl NotificationQuery {
    /// The caller's notifications, newest first; only unread ones with `unreadOnly: true`.
    #[graphql(
        complexity = "first.unwrap_or(DEFAULT_PAGE as i32).clamp(1, MAX_PAGE as i32) as usize * child_complexity"
    )]
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only unread ones.")] unread_only: Option<bool>,
        #[graphql(desc = "How many items, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Continue after this cursor.")] after: Option<String>,
    ) -> Result<NotificationConnection> {
        let viewer = auth::require(viewer(ctx))?;
        let page = cursor::forward(first, after.as_deref())?;
        let slice = service::notification::list(
            &state(ctx)?.db,
            viewer,
            unread_only.unwrap_or(false),
            page,
        )
        .await?;
        Ok(cursor::connection(
            slice,
            |n| Key {
                at: n.created_at,
                id: n.id,
            },
            Notification,
        ))
    }
}
