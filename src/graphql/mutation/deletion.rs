//! Leaving for good: deleting a room, deleting one's account, exporting one's data.

use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use crate::auth;
use crate::graphql::types::blob::Blob;
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

    /// Deletes the caller's account for good, after checking the password (wrong ones count
    /// toward the account's sign-in lockout). Every session is revoked (open sockets close
    /// with 4401), every room left (a group room they alone owned passes to its
    /// longest-standing admin, else member; a room left empty is deleted), the profile,
    /// contacts, two-factor settings and notifications erased. Messages they sent stay, from a
    /// user shown as "Deleted user" (`deleted: true`). The username and email are free again
    /// at once; signing in with them answers as for an unknown login. CONFLICT for the last
    /// server administrator.
    async fn delete_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The caller's password.")] password: String,
    ) -> Result<bool> {
        let viewer = auth::require(viewer(ctx))?;
        let ip = client_ip(ctx);
        Ok(
            service::account_deletion::delete_account(state(ctx)?, viewer, password, ip.as_deref())
                .await?,
        )
    }

    /// Builds a JSON archive of the caller's data (profile, sessions, contacts, rooms with
    /// their role, the messages they sent, reactions, uploads' metadata, security events) and
    /// stores it as a blob only they may read (`GET /blobs/{id}`, a download named
    /// `confab-export-<date>.json`; it is listed in `myUploads` and may be deleted there).
    /// Messages are the newest 10,000 within 8 MiB of text (`messages.truncated` says when
    /// older ones were left out); other lists the newest 10,000. Once per 10 minutes
    /// (RATE_LIMITED with `retryAfter`).
    async fn export_my_data(&self, ctx: &Context<'_>) -> Result<Blob> {
        let viewer = auth::require(viewer(ctx))?;
        let (blob, upload) = service::export::export(state(ctx)?, viewer).await?;
        Ok(Blob(blob, Some(upload)))
    }
}
