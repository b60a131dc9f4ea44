//! OpenID Connect sign-in: start it, finish it (signing in or creating the account), or link
//! the identity to the signed-in account.

use async_graphql::{Context, Object, Result};

use crate::auth::{self, ClientInfo};
use crate::graphql::types::oidc::OidcStart;
use crate::graphql::types::{AuthPayload, User};
use crate::graphql::{state, viewer};
use crate::service;

#[derive(Default)]
pub struct OidcMutation;

#[Object]
impl OidcMutation {
    /// Starts signing in with an OpenID provider (code flow with PKCE): returns the URL to
    /// send the browser to. Signed in, it starts a link instead (finish it with
    /// `linkOidcAccount`). The state lives on the server for 10 minutes and works once.
    async fn start_oidc_login(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The provider's `name`, from `oidcProviders`.")] provider: String,
        #[graphql(
            desc = "Where the provider sends the browser back: exactly one of the provider's configured redirect URIs."
        )]
        redirect_uri: String,
    ) -> Result<OidcStart> {
        let started = service::oidc::start(
            state(ctx)?,
            viewer(ctx),
            &provider,
            &redirect_uri,
            &client(ctx),
        )
        .await?;
        Ok(OidcStart {
            authorization_url: started.authorization_url,
            state: started.state,
        })
    }

    /// Finishes signing in with the `code` and `state` the provider sent back: signs in the
    /// account linked to that identity, or creates one on the first sign-in (never joined to
    /// an existing account by email). Rate limited like `login`.
    async fn complete_oidc_login(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The provider's `name`, as given to `startOidcLogin`.")] provider: String,
        #[graphql(desc = "The `code` query parameter of the redirect.")] code: String,
        #[graphql(desc = "The `state` query parameter of the redirect.")] state: String,
        #[graphql(
            desc = "Put the session in an HttpOnly cookie instead of answering the token (as `LoginInput.cookie`)."
        )]
        cookie: Option<bool>,
    ) -> Result<AuthPayload> {
        let to_cookie = super::session_cookie::wanted(ctx, cookie)?;
        let signed_in =
            service::oidc::complete(self::state(ctx)?, &provider, &code, &state, client(ctx))
                .await?;
        super::session_cookie::payload(ctx, signed_in, to_cookie)
    }

    /// Links the provider identity that a sign-in started by the caller (`startOidcLogin`
    /// sent signed in) brought back, so it signs in this account from now on. CONFLICT when
    /// the identity already signs in another account.
    async fn link_oidc_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The provider's `name`, as given to `startOidcLogin`.")] provider: String,
        #[graphql(desc = "The `code` query parameter of the redirect.")] code: String,
        #[graphql(desc = "The `state` query parameter of the redirect.")] state: String,
    ) -> Result<User> {
        let viewer = auth::require(viewer(ctx))?;
        let user = service::oidc::link(
            self::state(ctx)?,
            viewer,
            &provider,
            &code,
            &state,
            &client(ctx),
        )
        .await?;
        Ok(User::own(user))
    }
}

fn client(ctx: &Context<'_>) -> ClientInfo {
    ctx.data_opt::<ClientInfo>().cloned().unwrap_or_default()
}
