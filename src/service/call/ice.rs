//! The STUN and TURN servers a call client passes to `RTCPeerConnection`, with TURN credentials
//! made the way coturn's `use-auth-secret` (the "TURN REST API") checks them: the username is
//! `<expiry, unix seconds>:<user id>` and the password base64(HMAC-SHA1(secret, username)), so
//! the TURN server needs no user database, only the shared secret, and refuses the credential
//! once the expiry has passed.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use uuid::Uuid;

use crate::auth::Viewer;
use crate::config::{CallConfig, IceScheme};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// One `RTCIceServer`: URLs that share one credential (none for STUN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceServer {
    pub urls: Vec<String>,
    pub username: Option<String>,
    pub credential: Option<String>,
    /// When the credential stops working.
    pub expires_at: Option<DateTime<Utc>>,
}

/// The configured ICE servers for the signed-in `viewer`: one entry with the STUN URLs, one
/// with the TURN URLs and a credential valid for `--turn-credential-ttl` seconds. Without a
/// TURN secret (start-up refuses TURN URLs then; only a `Config` built in code gets here) the
/// TURN URLs are left out, as a TURN server with `use-auth-secret` would refuse them.
pub fn ice_servers(state: &AppState, viewer: &Viewer) -> ApiResult<Vec<IceServer>> {
    ice_servers_at(&state.config.calls, viewer.id(), Utc::now())
}

/// [`ice_servers`] for `user_id` at the time `now`.
pub fn ice_servers_at(
    config: &CallConfig,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<Vec<IceServer>> {
    let (turn, stun): (Vec<String>, Vec<String>) = config
        .ice_urls
        .iter()
        .filter(|url| IceScheme::of(url).is_some())
        .cloned()
        .partition(|url| IceScheme::of(url).is_some_and(IceScheme::is_turn));
    let mut servers = Vec::with_capacity(2);
    if !stun.is_empty() {
        servers.push(IceServer {
            urls: stun,
            username: None,
            credential: None,
            expires_at: None,
        });
    }
    let secret = config.turn_secret.as_deref().filter(|s| !s.is_empty());
    if let (false, Some(secret)) = (turn.is_empty(), secret) {
        let ttl = i64::try_from(config.turn_credential_ttl_secs).unwrap_or(i64::MAX);
        let expiry = now.timestamp().saturating_add(ttl);
        let expires_at = DateTime::from_timestamp(expiry, 0).ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!(
                "--turn-credential-ttl {ttl} puts the expiry out of range"
            ))
        })?;
        let username = format!("{expiry}:{user_id}");
        let credential = turn_password(secret, &username)?;
        servers.push(IceServer {
            urls: turn,
            username: Some(username),
            credential: Some(credential),
            expires_at: Some(expires_at),
        });
    }
    Ok(servers)
}

/// base64(HMAC-SHA1(secret, username)): the password coturn derives for `username`.
pub fn turn_password(secret: &str, username: &str) -> ApiResult<String> {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).map_err(ApiError::internal)?;
    mac.update(username.as_bytes());
    Ok(STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(urls: &[&str], secret: Option<&str>) -> CallConfig {
        let mut config = crate::config::Config::defaults().calls;
        config.ice_urls = urls.iter().map(|u| (*u).to_owned()).collect();
        config.turn_secret = secret.map(str::to_owned);
        config
    }

    #[test]
    fn rfc_2202_hmac_sha1() {
        // RFC 2202 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            turn_password("Jefe", "what do ya want for nothing?").unwrap(),
            STANDARD.encode(hex::decode("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79").unwrap())
        );
    }

    #[test]
    fn stun_and_turn_are_separate_entries() {
        let user = Uuid::now_v7();
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let urls = ["stun:h:3478", "turn:h:3478?transport=udp", "turns:h:5349"];
        let servers = ice_servers_at(&config(&urls, Some("s")), user, now).unwrap();
        assert_eq!(servers.len(), 2);
        assert_eq!(servers[0].urls, ["stun:h:3478"]);
        assert_eq!(servers[0].username, None);
        assert_eq!(
            servers[1].urls,
            ["turn:h:3478?transport=udp", "turns:h:5349"]
        );
        let username = format!("{}:{user}", 1_700_000_000 + 86_400);
        assert_eq!(servers[1].username.as_deref(), Some(username.as_str()));
        assert_eq!(
            servers[1].credential,
            Some(turn_password("s", &username).unwrap())
        );
        assert_eq!(
            servers[1].expires_at.map(|at| at.timestamp()),
            Some(1_700_000_000 + 86_400)
        );
    }

    #[test]
    fn turn_urls_without_a_secret_are_left_out() {
        let urls = ["stun:h", "turn:h"];
        for secret in [None, Some("")] {
            let servers = ice_servers_at(&config(&urls, secret), Uuid::nil(), Utc::now()).unwrap();
            assert_eq!(servers.len(), 1);
            assert_eq!(servers[0].urls, ["stun:h"]);
        }
        let none = ice_servers_at(&config(&[], Some("s")), Uuid::nil(), Utc::now()).unwrap();
        assert!(none.is_empty());
    }
}
