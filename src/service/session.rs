//! Resolving a bearer token to its viewer, through the process's session cache.

use std::time::Instant;

use chrono::Utc;
use entity::{sessions, users};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use crate::auth::{CACHE_TTL, Viewer, hash_token};
use crate::error::ApiResult;
use crate::service::moderation;
use crate::state::AppState;

/// `last_active_at` is written at most this often per session, so reads stay reads.
const ACTIVITY_GRANULARITY_SECS: i64 = 60;

/// Resolves a bearer token to its viewer: the session must exist, be unrevoked and unexpired,
/// and its user not deleted. `Ok(None)` for any token that does not pass.
pub async fn resolve_token(state: &AppState, token: &str) -> ApiResult<Option<Viewer>> {
    let token_hash = hash_token(token);
    let (cached, generation) = state.sessions.get(&token_hash);
    if cached.is_some() {
        return Ok(cached);
    }
    let now = Utc::now();
    let found = sessions::Entity::find()
        .filter(sessions::Column::TokenHash.eq(token_hash.as_str()))
        .filter(sessions::Column::RevokedAt.is_null())
        .filter(sessions::Column::ExpiresAt.gt(now))
        .find_also_related(users::Entity)
        .one(&state.db)
        .await?;
    let Some((session, Some(user))) = found else {
        return Ok(None);
    };
    if user.deleted_at.is_some() || moderation::ban_of(&user).is_some() {
        return Ok(None);
    }
    let session_id = session.id;
    let left = (session.expires_at.to_utc() - now)
        .to_std()
        .unwrap_or_default();
    let until = Instant::now() + left.min(CACHE_TTL);
    if (now - session.last_active_at.to_utc()).num_seconds() >= ACTIVITY_GRANULARITY_SECS {
        let mut active: sessions::ActiveModel = session.into();
        active.last_active_at = Set(crate::db::now());
        // In the writer turn (`db::Writer`): on SQLite a write outside it sleeps in the
        // busy handler while the message writer holds the lock, and under a stream of sends
        // one such request took 1,044 ms (the benchmark's 5,000 sessions all came due within
        // seconds).
        let recorded = active.update(&*state.writer().await).await;
        if let Err(err) = recorded {
            // Activity is advisory; failing to record it must not fail the request.
            tracing::warn!(%session_id, error = %err, "could not record session activity");
        }
    }
    let viewer = Viewer { user, session_id };
    state
        .sessions
        .put(token_hash, viewer.clone(), until, generation);
    Ok(Some(viewer))
}

/// Why a token [`resolve_token`] refused was refused: `revoked` (signed out, revoked, a
/// password change, a ban, the account deleted), `expired`, or `invalid` (no such session).
/// Only asked after a refusal, so a valid token costs nothing more.
pub async fn refusal(state: &AppState, token: &str) -> ApiResult<&'static str> {
    let found = sessions::Entity::find()
        .filter(sessions::Column::TokenHash.eq(hash_token(token)))
        .find_also_related(users::Entity)
        .one(&state.db)
        .await?;
    let Some((session, user)) = found else {
        return Ok("invalid");
    };
    let user_gone =
        user.is_none_or(|user| user.deleted_at.is_some() || moderation::ban_of(&user).is_some());
    Ok(if session.revoked_at.is_some() || user_gone {
        "revoked"
    } else if session.expires_at.to_utc() <= Utc::now() {
        "expired"
    } else {
        // Valid by now (a race with the session cache): nothing more specific to say.
        "invalid"
    })
}

/// Whether a user is banned now (an open socket whose session was revoked asks, to close
/// with "banned" rather than "session revoked").
pub async fn banned(state: &AppState, user_id: uuid::Uuid) -> ApiResult<bool> {
    Ok(users::Entity::find_by_id(user_id)
        .one(&state.db)
        .await?
        .is_some_and(|user| moderation::ban_of(&user).is_some()))
}
