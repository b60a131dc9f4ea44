//! OpenID providers as a client sees them: their discovery documents and signing keys,
//! fetched on first use and kept for a few minutes, and the HTTP client that fetches them and
//! redeems codes. The sign-in rules are in `service::oidc`; this is held by `AppState`, as the
//! mailer is.
//!
//! Discovery is lazy on purpose: Confab starts (and keeps serving everything else) while an
//! issuer is down; the OIDC operations then answer PROVIDER_UNAVAILABLE and the next call
//! tries again. Nothing that failed is cached.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openidconnect::core::{CoreClient, CoreProviderMetadata};
use openidconnect::{ClientId, ClientSecret, EndpointMaybeSet, EndpointNotSet, EndpointSet};
use openidconnect::{DiscoveryError, HttpClientError, IssuerUrl};
use tokio::sync::Mutex;

use crate::config::OidcProviderConfig;
use crate::error::{ApiError, ApiResult};

/// How long a discovery document (with its signing keys) is trusted before it is fetched
/// again: a provider's rotated keys are picked up within this.
const FRESH_FOR: Duration = Duration::from_secs(300);
/// The longest one request to a provider may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A client for one provider, from its discovery document, ready for the code flow.
pub type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// One provider's cached document; its lock is held while it is fetched, so a burst of
/// sign-ins fetches once, and a slow provider holds up only its own sign-ins.
type Slot = Arc<Mutex<Option<(Instant, Arc<CoreProviderMetadata>)>>>;

/// The discovery cache and the HTTP client, one per process (in `AppState`).
pub struct Discovery {
    http: reqwest::Client,
    documents: std::sync::Mutex<HashMap<String, Slot>>,
}

impl Discovery {
    pub fn new() -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            // A provider's answer is read as it is: following redirects would let a
            // provider's URL send the server's requests anywhere.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .build()?;
        Ok(Self {
            http,
            documents: std::sync::Mutex::default(),
        })
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The client for `provider`, from its cached discovery document or a fresh one.
    pub async fn client(&self, provider: &OidcProviderConfig) -> ApiResult<Client> {
        let metadata = self.metadata(provider).await?;
        Ok(CoreClient::from_provider_metadata(
            (*metadata).clone(),
            ClientId::new(provider.client_id.clone()),
            Some(ClientSecret::new(provider.client_secret.clone())),
        ))
    }

    async fn metadata(
        &self,
        provider: &OidcProviderConfig,
    ) -> ApiResult<Arc<CoreProviderMetadata>> {
        let slot = {
            let mut documents = self
                .documents
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(documents.entry(provider.name.clone()).or_default())
        };
        let mut cached = slot.lock().await;
        if let Some((at, metadata)) = cached.as_ref()
            && at.elapsed() < FRESH_FOR
        {
            return Ok(Arc::clone(metadata));
        }
        let issuer = IssuerUrl::new(provider.issuer.clone()).map_err(|err| {
            tracing::warn!(provider = %provider.name, error = %err, "OIDC issuer URL unreadable");
            unavailable(provider)
        })?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|err| {
                log_discovery(provider, &err);
                unavailable(provider)
            })?;
        let metadata = Arc::new(metadata);
        *cached = Some((Instant::now(), Arc::clone(&metadata)));
        Ok(metadata)
    }
}

/// PROVIDER_UNAVAILABLE: the provider could not be reached or answered nonsense.
pub fn unavailable(provider: &OidcProviderConfig) -> ApiError {
    ApiError::ProviderUnavailable(format!(
        "{} cannot be reached right now; try again later",
        provider.display_name()
    ))
}

fn log_discovery(
    provider: &OidcProviderConfig,
    err: &DiscoveryError<HttpClientError<reqwest::Error>>,
) {
    tracing::warn!(
        provider = %provider.name,
        issuer = %provider.issuer,
        error = %err,
        source = ?std::error::Error::source(err).map(ToString::to_string),
        "OIDC discovery failed"
    );
}
