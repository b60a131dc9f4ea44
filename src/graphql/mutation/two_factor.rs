//! Two-factor recovery codes, and turning two-factor sign-in off.

use async_graphql::{Context, Object, Result};

use crate::auth;
use crate::graphql::types::User;
use crate::graphql::{client_ip, state, viewer};
use crate::service;

#[derive(Default)]
pub struct TwoFactorMutation;

#[Object]
impl TwoFactorMutation {
    /// Ten new one-time recovery codes (`xxxxx-xxxxx`), each usable once as `recoveryCode` at
    /// `login` or as the code of `disableTotp`; earlier codes stop working. Shown this once
    /// (only hashes are kept). Two-factor sign-in must be on (`CONFLICT` otherwise); a wrong
    /// password is `BAD_USER_INPUT` and counts against the account's lockout.
    async fn regenerate_recovery_codes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account's password.")] password: String,
    ) -> Result<Vec<String>> {
        let viewer = auth::require(viewer(ctx))?;
        Ok(service::two_factor::regenerate(
            state(ctx)?,
            viewer,
            password,
            client_ip(ctx).as_deref(),
        )
        .await?)
    }

    /// Turns two-factor sign-in off with the password and a current authenticator code or an
    /// unused recovery code; the recovery codes are deleted. `CONFLICT` when it is off.
    async fn disable_totp(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account's password.")] password: String,
        #[graphql(desc = "A current authenticator code, or an unused recovery code.")] code: String,
    ) -> Result<User> {
        let viewer = auth::require(viewer(ctx))?;
        let user = service::two_factor::disable(
            state(ctx)?,
            viewer,
            password,
            &code,
            client_ip(ctx).as_deref(),
        )
        .await?;
        Ok(User::new(user))
    }
}
