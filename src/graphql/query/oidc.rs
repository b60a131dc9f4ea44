//! OpenID Connect: the providers configured on the server.

use async_graphql::{Context, Object, Result};

use crate::graphql::state;
use crate::graphql::types::oidc::OidcProvider;
use crate::service;

#[derive(Default)]
pub struct OidcQuery;

#[Object]
impl OidcQuery {
    /// The OpenID providers people may sign in with, in the order of the settings; empty
    /// when none is configured. Open to everyone (a sign-in page lists them).
    async fn oidc_providers(&self, ctx: &Context<'_>) -> Result<Vec<OidcProvider>> {
        Ok(service::oidc::providers(state(ctx)?)
            .into_iter()
            .map(|p| OidcProvider {
                name: p.name,
                display_name: p.display_name,
            })
            .collect())
    }
}
