//! Calls: the ICE servers a call client connects through.

use async_graphql::{Context, Object, Result};

use crate::auth;
use crate::graphql::types::ice::IceServer;
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
}
