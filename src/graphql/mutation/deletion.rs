//! Leaving for good: deleting a room, deleting one's account, exporting one's data.

use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use crate::auth;
use crate::graphql::{client_ip, state, viewer};
use crate::service;

#[derive(Default)]
pub struct DeletionMutation;

#[Object]
impl DeletionMutation {
    /// Deletes a room for good, with its messages, reactions, attachments, members, calls and
    /// the notifications about it (uploads made for it stay their uploaders'). Its owners may
    /// (either person of a direct room), and server administrators. A live call in it ends;
    /// its members hear `RoomDeleted` (in `roomEvents` and `myEvents`); afterwards the room
    /// and its messages answer NOT_FOUND. FORBIDDEN for other members.
    async fn delete_room(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The room to delete.")] room_id: Uuid,
    ) -> Result<bool> {
        let viewer = auth::require(viewer(ctx))?;
        let ip = client_ip(ctx);
        Ok(service::deletion::delete_room(state(ctx)?, viewer, room_id, ip.as_deref()).await?)
    }
}
