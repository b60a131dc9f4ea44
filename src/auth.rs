//! Who is calling: bearer tokens, password hashing, and the [`Viewer`] resolved once per request
//! (from the `Authorization` header on HTTP, from `connection_init` on WebSocket, or from the
//! session cookie in a browser: [`cookie`]).
//!
//! A session token is 32 random bytes shown to the client once; the database keeps only its
//! sha256, so a leaked table does not leak sessions.
//!
//! Resolved tokens are remembered per process for [`CACHE_TTL`] ([`SessionCache`]), so most
//! requests skip the session lookup. Every write that changes what a viewer is (its session
//! revoked, its user row updated) goes through [`crate::state::AppState::viewer_changed`], which forgets the
//! entry here at once and tells the other instances (an [`crate::realtime::Event::ViewerChanged`] on
//! [`crate::realtime::Topic::Auth`]), so a revoked token is refused by the next request on this instance and
//! within a broker hop everywhere else.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use entity::users;
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::store::kinds::UserRole;

pub mod cookie;

const TOKEN_PREFIX: &str = "cfb_";
/// How long a resolved token is used without asking the database again. A change made
/// behind the API's back (an UPDATE in a SQL shell) shows after this long.
pub const CACHE_TTL: Duration = Duration::from_secs(30);
/// Resolved tokens remembered at most; past it, the cache starts over.
const CACHE_MAX: usize = 100_000;

/// The signed-in caller of a request.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user: users::Model,
    pub session_id: Uuid,
}

impl Viewer {
    pub fn id(&self) -> Uuid {
        self.user.id
    }

    pub fn is_admin(&self) -> bool {
        self.user.role == UserRole::Admin
    }
}

/// Where a request came from, recorded on the session it creates.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A fresh opaque token: `cfb_` + 64 hex characters.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

/// The sha256 hex of a token, the only form that is stored.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Extracts the token from an `Authorization: Bearer ...` value.
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

/// Viewers by the hash of their token, each for [`CACHE_TTL`] at most (and never past the
/// session's expiry).
#[derive(Default)]
pub struct SessionCache(Mutex<Entries>);

#[derive(Default)]
struct Entries {
    viewers: HashMap<String, (Viewer, Instant)>,
    /// The token hashes cached per user, so forgetting a user does not scan every entry.
    by_user: HashMap<Uuid, Vec<String>>,
    /// Bumped by every forget: a lookup that started before one must not store its answer,
    /// which may predate the change.
    generation: u64,
}

impl SessionCache {
    pub(crate) fn get(&self, token_hash: &str) -> (Option<Viewer>, u64) {
        let Ok(entries) = self.0.lock() else {
            return (None, u64::MAX);
        };
        let viewer = entries
            .viewers
            .get(token_hash)
            .filter(|(_, until)| Instant::now() < *until)
            .map(|(viewer, _)| viewer.clone());
        (viewer, entries.generation)
    }

    pub(crate) fn put(&self, token_hash: String, viewer: Viewer, until: Instant, generation: u64) {
        if let Ok(mut entries) = self.0.lock()
            && entries.generation == generation
        {
            if entries.viewers.len() >= CACHE_MAX {
                entries.viewers.clear();
                entries.by_user.clear();
            }
            let hashes = entries.by_user.entry(viewer.id()).or_default();
            if !hashes.contains(&token_hash) {
                hashes.push(token_hash.clone());
            }
            entries.viewers.insert(token_hash, (viewer, until));
        }
    }

    /// Forgets one session (`session_id`), or every session of `user_id`.
    pub fn forget(&self, user_id: Uuid, session_id: Option<Uuid>) {
        if let Ok(mut entries) = self.0.lock() {
            let entries = &mut *entries;
            entries.generation += 1;
            let Some(hashes) = entries.by_user.get_mut(&user_id) else {
                return;
            };
            hashes.retain(|hash| {
                // A hash whose entry is gone is dropped from the index either way.
                let forget = session_id.is_none_or(|id| {
                    entries
                        .viewers
                        .get(hash)
                        .is_none_or(|(viewer, _)| viewer.session_id == id)
                });
                if forget {
                    entries.viewers.remove(hash);
                }
                !forget
            });
            if hashes.is_empty() {
                entries.by_user.remove(&user_id);
            }
        }
    }

    /// Forgets everything (the broker's link lost events, or a test changed rows directly).
    pub fn clear(&self) {
        if let Ok(mut entries) = self.0.lock() {
            entries.generation += 1;
            entries.viewers.clear();
            entries.by_user.clear();
        }
    }
}

/// Hashes a password with argon2id (default parameters) off the async executor.
pub async fn hash_password(password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|err| ApiError::internal(anyhow::anyhow!("hashing password: {err}")))
    })
    .await
    .map_err(ApiError::internal)?
}

/// Checks a password against a stored hash off the async executor. With no hash (unknown
/// user) it verifies against a fixed dummy, so both answers take the same time.
pub async fn verify_password(password: String, hash: Option<String>) -> ApiResult<bool> {
    tokio::task::spawn_blocking(move || {
        // An account without a password takes as long to refuse as any other.
        let hash = hash.filter(|hash| hash != NO_PASSWORD);
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let parsed = PasswordHash::new(&hash)
            .map_err(|err| ApiError::internal(anyhow::anyhow!("stored hash unreadable: {err}")))?;
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(known && ok)
    })
    .await
    .map_err(ApiError::internal)?
}

/// The stored "hash" of an account that has no password (made through an OpenID provider):
/// no password matches it, and it is not a hash format, so none ever can.
pub const NO_PASSWORD: &str = "!none";

/// An argon2id hash (default parameters) of a random password nobody knows.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2ngdyw6Z0oyh3zgeLdhMFZyKZ8G0zkSK5kkxY2LSUZs";

/// The signed-in viewer or UNAUTHENTICATED.
pub fn require(viewer: Option<&Viewer>) -> ApiResult<&Viewer> {
    viewer.ok_or_else(|| ApiError::Unauthenticated(crate::error::SIGN_IN_FIRST.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("abc"), None);
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(hash_token(&a).len(), 64);
        assert_ne!(hash_token(&a), a);
    }

    fn viewer(user_id: Uuid, session_id: Uuid) -> Viewer {
        let at = crate::db::now();
        Viewer {
            user: users::Model {
                id: user_id,
                username: "ann".to_owned(),
                email: "ann@example.com".to_owned(),
                display_name: "Ann".to_owned(),
                password_hash: String::new(),
                role: UserRole::User.as_str().to_owned(),
                status: "online".to_owned(),
                last_seen_at: None,
                email_verified_at: None,
                totp_secret: None,
                totp_enabled_at: None,
                avatar_blob_id: None,
                created_at: at,
                updated_at: at,
                deleted_at: None,
                totp_last_step: None,
                banned_at: None,
                banned_until: None,
                ban_reason: None,
            },
            session_id,
        }
    }

    #[test]
    fn session_cache_forgets_by_session_and_by_user() {
        let cache = SessionCache::default();
        let until = Instant::now() + CACHE_TTL;
        let (ann, bob) = (Uuid::now_v7(), Uuid::now_v7());
        let (ann_a, ann_b, bob_a) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let (_, generation) = cache.get("a");
        cache.put("a".to_owned(), viewer(ann, ann_a), until, generation);
        cache.put("b".to_owned(), viewer(ann, ann_b), until, generation);
        cache.put("c".to_owned(), viewer(bob, bob_a), until, generation);
        assert!(cache.get("a").0.is_some() && cache.get("b").0.is_some());

        cache.forget(ann, Some(ann_a));
        assert!(cache.get("a").0.is_none(), "the revoked session is gone");
        assert!(cache.get("b").0.is_some(), "the user's other session stays");

        cache.forget(ann, None);
        assert!(
            cache.get("b").0.is_none(),
            "every session of the user is gone"
        );
        assert!(cache.get("c").0.is_some(), "other users stay");
    }

    #[test]
    fn session_cache_refuses_answers_older_than_a_forget() {
        let cache = SessionCache::default();
        let (user, session) = (Uuid::now_v7(), Uuid::now_v7());
        // A lookup starts, the session is revoked meanwhile, then the lookup would store.
        let (_, started) = cache.get("a");
        cache.forget(user, Some(session));
        cache.put(
            "a".to_owned(),
            viewer(user, session),
            Instant::now() + CACHE_TTL,
            started,
        );
        assert!(cache.get("a").0.is_none());
        // Expired entries are not served either.
        let (_, now) = cache.get("b");
        cache.put("b".to_owned(), viewer(user, session), Instant::now(), now);
        assert!(cache.get("b").0.is_none());
    }

    #[test]
    fn dummy_hash_parses() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
