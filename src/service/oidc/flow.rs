//! The two halves of the code flow: the authorization URL with its server-side state, and
//! the redemption of the code that comes back (state used once, code exchanged with the PKCE
//! verifier, ID token verified).

use chrono::Duration;
use entity::oidc_logins;
use openidconnect::core::{CoreAuthenticationFlow, CoreErrorResponseType};
use openidconnect::{
    AuthorizationCode, CsrfToken, HttpClientError, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, RequestTokenError, Scope, StandardErrorResponse, TokenResponse,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::Identity;
use crate::auth;
use crate::config::OidcProviderConfig;
use crate::db::now;
use crate::error::{ApiError, ApiResult};
use crate::oidc::unavailable;
use crate::state::AppState;

/// How long a started sign-in may take to come back.
pub const FLOW_TTL_MINUTES: i64 = 10;
const MAX_CODE: usize = 2_048;
const MAX_STATE: usize = 256;
const MAX_SUBJECT: usize = 255;
const STATE_GONE: &str =
    "unknown, used or expired sign-in state: start the sign-in again (startOidcLogin)";

/// Where to send the browser, and the state it will come back with.
pub struct Started {
    pub authorization_url: String,
    pub state: String,
}

pub async fn start(
    state: &AppState,
    provider: &OidcProviderConfig,
    redirect_uri: &str,
    user_id: Option<Uuid>,
) -> ApiResult<Started> {
    if !provider.redirect_uris.iter().any(|uri| uri == redirect_uri) {
        return Err(ApiError::bad_input(
            "redirectUri",
            "this redirect URI is not on the provider's list",
        ));
    }
    let redirect = RedirectUrl::new(redirect_uri.to_owned())
        .map_err(|_| ApiError::bad_input("redirectUri", "not a URL"))?;
    let client = state
        .oidc
        .client(provider)
        .await?
        .set_redirect_uri(redirect);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client.authorize_url(
        CoreAuthenticationFlow::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for scope in provider.scopes.iter().filter(|s| *s != "openid") {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    let (url, csrf, nonce) = request.set_pkce_challenge(challenge).url();
    let at = now();
    oidc_logins::ActiveModel {
        id: Set(Uuid::now_v7()),
        state_hash: Set(auth::hash_token(csrf.secret())),
        provider: Set(provider.name.clone()),
        redirect_uri: Set(redirect_uri.to_owned()),
        nonce: Set(nonce.secret().clone()),
        pkce_verifier: Set(verifier.secret().clone()),
        user_id: Set(user_id),
        created_at: Set(at),
        expires_at: Set(at + Duration::minutes(FLOW_TTL_MINUTES)),
    }
    .insert(&*state.writer().await)
    .await?;
    Ok(Started {
        authorization_url: url.to_string(),
        state: csrf.secret().clone(),
    })
}

/// Uses the sign-in `flow_state` names (once, whatever follows), redeems `code` and verifies
/// the ID token. `started_by`: the user who must have started it (a link), or None.
pub async fn redeem(
    state: &AppState,
    provider: &OidcProviderConfig,
    code: &str,
    flow_state: &str,
    started_by: Option<Uuid>,
) -> ApiResult<Identity> {
    if flow_state.is_empty() || flow_state.len() > MAX_STATE {
        return Err(ApiError::bad_input("state", STATE_GONE));
    }
    if code.is_empty() || code.len() > MAX_CODE {
        return Err(ApiError::bad_input("code", "not an authorization code"));
    }
    let login = take(state, provider, flow_state).await?;
    if started_by.is_some() && login.user_id != started_by {
        return Err(ApiError::bad_input(
            "state",
            "this sign-in was not started by you: call startOidcLogin while signed in",
        ));
    }
    let redirect = RedirectUrl::new(login.redirect_uri.clone())
        .map_err(|_| ApiError::broken("stored redirect URI"))?;
    let client = state
        .oidc
        .client(provider)
        .await?
        .set_redirect_uri(redirect);
    let response = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|_| unavailable(provider))?
        .set_pkce_verifier(PkceCodeVerifier::new(login.pkce_verifier))
        .request_async(state.oidc.http())
        .await
        .map_err(|err| refused(provider, err))?;
    let Some(id_token) = response.id_token() else {
        tracing::warn!(provider = %provider.name, "OIDC token response without an ID token");
        return Err(unavailable(provider));
    };
    let claims = id_token
        .claims(&client.id_token_verifier(), &Nonce::new(login.nonce))
        .map_err(|err| {
            tracing::warn!(provider = %provider.name, error = %err, "OIDC ID token refused");
            ApiError::Unauthenticated("the provider's ID token did not verify".to_owned())
        })?;
    let subject = claims.subject().as_str();
    // OpenID Connect Core 1.0, 2: at most 255 ASCII characters (the column's size).
    if subject.is_empty() || subject.len() > MAX_SUBJECT {
        tracing::warn!(provider = %provider.name, "OIDC subject out of bounds");
        return Err(ApiError::Unauthenticated(
            "the provider's ID token did not verify".to_owned(),
        ));
    }
    Ok(Identity {
        provider: provider.name.clone(),
        subject: subject.to_owned(),
        email: claims.email().map(|e| e.as_str().to_owned()),
        email_verified: claims.email_verified() == Some(true),
        preferred_username: claims.preferred_username().map(|u| u.as_str().to_owned()),
        name: claims
            .name()
            .and_then(|names| names.get(None))
            .map(|n| n.as_str().to_owned()),
    })
}

/// Deletes the login row `flow_state` names and returns it; only one caller gets it, however
/// many processes race for it.
async fn take(
    state: &AppState,
    provider: &OidcProviderConfig,
    flow_state: &str,
) -> ApiResult<oidc_logins::Model> {
    let gone = || ApiError::bad_input("state", STATE_GONE);
    let login = oidc_logins::Entity::find()
        .filter(oidc_logins::Column::StateHash.eq(auth::hash_token(flow_state)))
        .filter(oidc_logins::Column::Provider.eq(&provider.name))
        .one(&state.db)
        .await?
        .ok_or_else(gone)?;
    let deleted = oidc_logins::Entity::delete_by_id(login.id)
        .exec(&*state.writer().await)
        .await?;
    if deleted.rows_affected != 1 || login.expires_at <= now() {
        return Err(gone());
    }
    Ok(login)
}

type TokenError = RequestTokenError<
    HttpClientError<reqwest::Error>,
    StandardErrorResponse<CoreErrorResponseType>,
>;

/// The provider said no (UNAUTHENTICATED) or could not be asked (PROVIDER_UNAVAILABLE).
fn refused(provider: &OidcProviderConfig, err: TokenError) -> ApiError {
    match err {
        RequestTokenError::ServerResponse(answer) => {
            tracing::info!(provider = %provider.name, error = %answer, "OIDC code refused");
            ApiError::Unauthenticated(format!(
                "{} refused the sign-in ({})",
                provider.display_name(),
                answer.error().as_ref()
            ))
        }
        other => {
            tracing::warn!(provider = %provider.name, error = %other, "OIDC code exchange failed");
            unavailable(provider)
        }
    }
}
