//! Administrator views.

use async_graphql::{Context, Object, Result, SimpleObject};

use super::room::RoomConnection;
use crate::auth;
use crate::graphql::types::{Room, cursor};
use crate::graphql::{state, viewer};
use crate::service;
use crate::store::page::{DEFAULT_PAGE, Key, MAX_PAGE};

/// Instance-wide figures.
#[derive(SimpleObject)]
pub struct InstanceStats {
    /// Users not deleted.
    pub users: i64,
    /// Rooms not deleted.
    pub rooms: i64,
    /// Messages not deleted.
    pub messages: i64,
    /// Stored blobs.
    pub blobs: i64,
    /// Bytes of stored blobs.
    pub storage_bytes: i64,
    /// Signed-in WebSocket connections open on this instance.
    pub active_sockets: i64,
}

#[derive(Default)]
pub struct AdminQuery;

#[Object]
impl AdminQuery {
    /// Instance-wide figures; administrators only.
    async fn stats(&self, ctx: &Context<'_>) -> Result<InstanceStats> {
        let viewer = auth::require(viewer(ctx))?;
        let s = service::admin::stats(state(ctx)?, viewer).await?;
        Ok(InstanceStats {
            users: s.users as i64,
            rooms: s.rooms as i64,
            messages: s.messages as i64,
            blobs: s.blobs as i64,
            storage_bytes: s.storage_bytes,
            active_sockets: s.active_sockets as i64,
        })
    }

    /// Every room on the instance, oldest first, whoever its members are: a moderation view
    /// for administrators. At most 100 a page.
    #[graphql(
        complexity = "first.unwrap_or(DEFAULT_PAGE as i32).clamp(1, MAX_PAGE as i32) as usize * child_complexity"
    )]
    async fn rooms(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many items, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Continue after this cursor.")] after: Option<String>,
    ) -> Result<RoomConnection> {
        let viewer = auth::require(viewer(ctx))?;
        let page = cursor::forward(first, after.as_deref())?;
        let slice = service::admin::rooms(state(ctx)?, viewer, page).await?;
        Ok(cursor::connection(
            slice,
            |room| Key {
                at: room.created_at,
                id: room.id,
            },
            Room,
        ))
    }
}
