//! Who am I, who is that, and where am I signed in.

use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use crate::auth;
use crate::graphql::types::blob::{Blob, UploadConnection, uploads};
use crate::graphql::types::{Session, User};
use crate::graphql::{state, viewer};
use crate::service;
use crate::store::page::{DEFAULT_PAGE, MAX_PAGE};

#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// The signed-in user; null when the request carries no valid token.
    async fn me(&self, ctx: &Context<'_>) -> Option<User> {
        viewer(ctx).map(|v| User::new(v.user.clone()))
    }

    /// A user by id; null when there is none (or it was deleted). Requires sign-in.
    async fn user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user.")] id: Uuid,
    ) -> Result<Option<User>> {
        auth::require(viewer(ctx))?;
        Ok(service::user::by_id(state(ctx)?, id).await?.map(User::new))
    }

    /// A user by username (case-insensitive); null when there is none. Requires sign-in.
    async fn user_by_username(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The username, in any case.")] username: String,
    ) -> Result<Option<User>> {
        auth::require(viewer(ctx))?;
        Ok(service::user::by_username(state(ctx)?, &username)
            .await?
            .map(User::new))
    }

    /// A blob the caller may read (they uploaded it, it is attached in one of their rooms, or
    /// it was uploaded for one of them).
    async fn blob(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The blob (sha256 hex).")] id: String,
    ) -> Result<Option<Blob>> {
        let viewer = auth::require(viewer(ctx))?;
        Ok(service::blob::get(state(ctx)?, viewer.id(), &id)
            .await?
            .map(Blob::new))
    }

    /// The files the caller uploaded, newest first, with the name and room each was uploaded
    /// with; `deleteUpload` removes one. At most 100 a page; 20 when `first` is omitted.
    #[graphql(
        complexity = "first.unwrap_or(DEFAULT_PAGE as i32).clamp(1, MAX_PAGE as i32) as usize * child_complexity"
    )]
    async fn my_uploads(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many items, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Continue after this cursor.")] after: Option<String>,
    ) -> Result<UploadConnection> {
        uploads(ctx, None, first, after).await
    }

    /// Bytes of the distinct files the caller uploaded.
    async fn storage_used(&self, ctx: &Context<'_>) -> Result<i64> {
        let viewer = auth::require(viewer(ctx))?;
        Ok(service::blob::storage_used(state(ctx)?, viewer.id()).await?)
    }

    /// The caller's live sessions (devices), newest first.
    async fn sessions(&self, ctx: &Context<'_>) -> Result<Vec<Session>> {
        let viewer = auth::require(viewer(ctx))?;
        let sessions = service::account::sessions(state(ctx)?, viewer).await?;
        Ok(sessions.into_iter().map(Session).collect())
    }
}
