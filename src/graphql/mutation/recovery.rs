//! Password reset by mail, and changes of username and email address.

use async_graphql::{Context, Object, Result};

use crate::auth;
use crate::graphql::types::User;
use crate::graphql::{client, client_ip, state, viewer};
use crate::service;

#[derive(Default)]
pub struct RecoveryMutation;

#[Object]
impl RecoveryMutation {
    /// Mails a password reset link (a single-use token valid 1 hour) to the account with this
    /// address. Always `true`, whether or not an account has it. Rate limited per address of
    /// the client.
    async fn request_password_reset(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account's email address.")] email: String,
    ) -> Result<bool> {
        Ok(service::recovery::request_password_reset(state(ctx)?, &email, &client(ctx)).await?)
    }

    /// Sets a new password with the token from a reset mail (once); signs the account out
    /// everywhere. Rate limited per address of the client.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The token from the reset mail.")] token: String,
        #[graphql(desc = "8-128 characters.")] new_password: String,
    ) -> Result<bool> {
        Ok(
            service::recovery::reset_password(state(ctx)?, &token, new_password, &client(ctx))
                .await?,
        )
    }

    /// Mails a confirmation token to a new address; the caller's address changes when
    /// `confirmEmailChange` presents it. CONFLICT when another account has the address.
    async fn change_email(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The address to switch to.")] new_email: String,
        #[graphql(desc = "The caller's password.")] password: String,
    ) -> Result<bool> {
        let viewer = auth::require(viewer(ctx))?;
        Ok(service::identity::change_email(state(ctx)?, viewer, &new_email, password).await?)
    }

    /// Switches an account to the address a `changeEmail` token was mailed to (once, within
    /// 24 hours); the address counts as verified. CONFLICT when it was taken meanwhile.
    async fn confirm_email_change(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The token from the mail.")] token: String,
    ) -> Result<User> {
        let user =
            service::identity::confirm_email_change(state(ctx)?, &token, client_ip(ctx).as_deref())
                .await?;
        Ok(User::new(user))
    }

    /// Renames the caller; the same rules and CONFLICT as at registration.
    async fn change_username(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "3-32 of a-z, 0-9 and _ (stored lowercase).")] new_username: String,
    ) -> Result<User> {
        let viewer = auth::require(viewer(ctx))?;
        Ok(User::own(
            service::identity::change_username(state(ctx)?, viewer, &new_username).await?,
        ))
    }
}
