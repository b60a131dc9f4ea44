//! Calls: the ICE servers a call client connects through, and the preview of a room by the
//! join code a voice-room app reads out loud.

use async_graphql::{Context, Object, Result};

use crate::auth;
use crate::graphql::types::ice::IceServer;
use crate::graphql::types::room_preview::RoomPreview;
use crate::graphql::{state, viewer};
use crate::service;

#[derive(Default)]
pub struct CallQuery;

#[Object]
impl CallQuery {
    /// STUN and TURN servers for `RTCPeerConnection`, TURN ones with a credential made for
    /// the caller that expires at `expiresAt` (signed-in users only).
    async fn ice_servers(&self, ctx: &Context<'_>) -> Result<Vec<IceServer>> {
        let viewer = auth::require(viewer(ctx))?;
        let servers = service::call::ice_servers(state(ctx)?, viewer)?;
        Ok(servers.into_iter().map(IceServer::from).collect())
    }

    /// The group room with this join code (as `joinRoom` takes it: any case, spaces around
    /// ignored), seen from outside, without joining; null when no live room has it.
    /// Signed-in users only. Unknown codes are limited per user (10 a minute, then
    /// RATE_LIMITED for the rest of the minute), so codes cannot be guessed.
    async fn room_by_code(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The 6-character join code.")] code: String,
    ) -> Result<Option<RoomPreview>> {
        let viewer = auth::require(viewer(ctx))?;
        let preview = service::call::preview::by_code(state(ctx)?, viewer, &code).await?;
        Ok(preview.map(RoomPreview))
    }
}
