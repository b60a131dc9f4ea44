//! OpenID Connect sign-in: the code flow with PKCE against the providers of `[[oidc]]`.
//!
//! `start` keeps the flow's state (as a sha256), nonce and PKCE verifier in `oidc_logins`,
//! bound to the provider, the redirect URI and (when signed in) the user, for ten minutes;
//! `complete` and `link` use that row once, redeem the code, verify the ID token (signature,
//! issuer, audience, nonce, expiry) and then sign in ([`account::sign_in`]) or link
//! ([`account::link`]). An identity is the provider's `sub`; accounts are never matched by
//! email.

mod account;
mod flow;

use entity::users;
use uuid::Uuid;

use crate::auth::{ClientInfo, Viewer};
use crate::config::OidcProviderConfig;
use crate::error::{ApiError, ApiResult};
use crate::service::account::SignedIn;
use crate::state::AppState;

pub use flow::Started;

const MINUTE: std::time::Duration = std::time::Duration::from_secs(60);

/// A provider as clients list it.
pub struct ProviderInfo {
    pub name: String,
    pub display_name: String,
}

/// The providers of the settings, in their order.
pub fn providers(state: &AppState) -> Vec<ProviderInfo> {
    state
        .config
        .oidc
        .iter()
        .map(|p| ProviderInfo {
            name: p.name.clone(),
            display_name: p.display_name().to_owned(),
        })
        .collect()
}

/// Starts a sign-in (or, signed in, a link): the URL to send the browser to and its state.
pub async fn start(
    state: &AppState,
    viewer: Option<&Viewer>,
    provider: &str,
    redirect_uri: &str,
    client: &ClientInfo,
) -> ApiResult<Started> {
    limit(state, "oidc-start-ip", client).await?;
    let provider = find(state, provider)?;
    flow::start(state, provider, redirect_uri, viewer.map(Viewer::id)).await
}

/// Finishes a sign-in: the user with this identity, or a new account for it.
pub async fn complete(
    state: &AppState,
    provider: &str,
    code: &str,
    flow_state: &str,
    client: ClientInfo,
) -> ApiResult<SignedIn> {
    // The same budget per address as `login`.
    limit(state, "login-ip", &client).await?;
    let provider = find(state, provider)?;
    let identity = flow::redeem(state, provider, code, flow_state, None).await?;
    account::sign_in(state, provider, identity, client).await
}

/// Links the identity a sign-in started by the viewer brought back to the viewer's account.
pub async fn link(
    state: &AppState,
    viewer: &Viewer,
    provider: &str,
    code: &str,
    flow_state: &str,
    client: &ClientInfo,
) -> ApiResult<users::Model> {
    limit(state, "login-ip", client).await?;
    let provider = find(state, provider)?;
    let identity = flow::redeem(state, provider, code, flow_state, Some(viewer.id())).await?;
    account::link(state, viewer, identity, client).await
}

/// What a verified ID token says about the person.
pub struct Identity {
    pub provider: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub preferred_username: Option<String>,
    pub name: Option<String>,
}

fn find<'a>(state: &'a AppState, name: &str) -> ApiResult<&'a OidcProviderConfig> {
    state
        .config
        .oidc
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| ApiError::bad_input("provider", "no such sign-in provider"))
}

async fn limit(state: &AppState, scope: &str, client: &ClientInfo) -> ApiResult<()> {
    let key = format!("{scope}:{}", client.ip.as_deref().unwrap_or("-"));
    state
        .limiter
        .hit(&key, state.config.limits.login_per_minute, MINUTE)
        .await
}

/// The user a link or sign-in ends with, read fresh.
async fn user(state: &AppState, id: Uuid) -> ApiResult<users::Model> {
    use sea_orm::EntityTrait;
    users::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::broken(format!("user {id}")))
}
