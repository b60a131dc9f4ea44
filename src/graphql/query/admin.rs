//! Administrator views.

use async_graphql::{Context, Object, Result, SimpleObject};

use crate::auth;
use crate::graphql::{state, viewer};
use crate::service;

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
}
