//! Server administration: roles and bans (administrators only; every action is audited).

use async_graphql::{Context, Object, Result};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::auth;
use crate::graphql::types::{User, UserRole};
use crate::graphql::{client_ip, state, viewer};
use crate::service;
use crate::store::kinds;

#[derive(Default)]
pub struct AdminMutation;

#[Object]
impl AdminMutation {
    /// Sets a user's server role; administrators only. Demoting the last administrator is
    /// CONFLICT.
    async fn set_user_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user.")] user_id: Uuid,
        #[graphql(desc = "The new role.")] role: UserRole,
    ) -> Result<User> {
        let viewer = auth::require(viewer(ctx))?;
        let role = match role {
            UserRole::Admin => kinds::UserRole::Admin,
            UserRole::User => kinds::UserRole::User,
        };
        let ip = client_ip(ctx);
        let user = service::moderation::set_role(state(ctx)?, viewer, user_id, role, ip.as_deref())
            .await?;
        Ok(User::new(user))
    }

    /// Bans a user until `until` (null: permanently); administrators only. Every session of
    /// the user is revoked at once and their sockets close with 4403 "banned"; `login` answers
    /// FORBIDDEN with `reason: "BANNED"` and `bannedUntil` until the ban ends by itself.
    async fn ban_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user (not the caller).")] user_id: Uuid,
        #[graphql(desc = "Why, 1-500 characters (kept in the audit log).")] reason: String,
        #[graphql(desc = "When the ban ends (in the future); null: permanent.")] until: Option<
            DateTime<Utc>,
        >,
    ) -> Result<User> {
        let viewer = auth::require(viewer(ctx))?;
        let ip = client_ip(ctx);
        let user =
            service::moderation::ban(state(ctx)?, viewer, user_id, &reason, until, ip.as_deref())
                .await?;
        Ok(User::new(user))
    }

    /// Ends a user's ban; administrators only. A user who is not banned is returned as is.
    async fn unban_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user.")] user_id: Uuid,
    ) -> Result<User> {
        let viewer = auth::require(viewer(ctx))?;
        let ip = client_ip(ctx);
        let user = service::moderation::unban(state(ctx)?, viewer, user_id, ip.as_deref()).await?;
        Ok(User::new(user))
    }
}
