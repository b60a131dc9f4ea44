//! OpenID Connect sign-in: the providers a client may offer and a started sign-in.

use async_graphql::SimpleObject;

/// An OpenID provider people may sign in with (from the server's `[[oidc]]` settings).
#[derive(SimpleObject)]
pub struct OidcProvider {
    /// The `provider` argument of `startOidcLogin`, `completeOidcLogin` and `linkOidcAccount`.
    pub name: String,
    /// What a "Sign in with ..." button shows.
    pub display_name: String,
}

/// A started sign-in: send the browser to `authorizationUrl`; the provider sends it back to
/// the redirect URI with `code` and `state` (which must equal this one) in the query.
#[derive(SimpleObject)]
pub struct OidcStart {
    /// The provider's authorization URL (code flow with PKCE), valid for 10 minutes.
    pub authorization_url: String,
    /// The opaque value the provider returns with the code; keep it to check the redirect
    /// comes from this sign-in and pass it to `completeOidcLogin` or `linkOidcAccount`.
    pub state: String,
}
