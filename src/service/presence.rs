//! Presence as users see it: the availability they chose while connected, OFFLINE otherwise;
//! `last_seen_at` kept when they come and go; and a short context a user may share with it
//! (where they are, what they are on), which lives only where presence does (in-process or in
//! Redis, for as long as they stay connected: see [`crate::realtime::online`]), never in the
//! database, and is shown only while they are visible.

use entity::users;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use uuid::Uuid;

use crate::db::now;
use crate::error::{ApiError, ApiResult};
use crate::realtime::{Event, Topic};
use crate::state::AppState;

/// Longest presence context, in characters (after trimming).
pub const CONTEXT_MAX_CHARS: usize = 64;

/// The status others see: the chosen one while connected (`offline` chosen = invisible).
pub fn effective(chosen: &str, connected: bool) -> &str {
    if connected { chosen } else { "offline" }
}

/// A presence context as given: trimmed, at most [`CONTEXT_MAX_CHARS`] characters, no control
/// characters; empty means none.
pub fn context(raw: &str) -> ApiResult<Option<String>> {
    let text = raw.trim();
    if text.chars().count() > CONTEXT_MAX_CHARS {
        return Err(ApiError::bad_input(
            "presenceContext",
            format!("a presence context is at most {CONTEXT_MAX_CHARS} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(ApiError::bad_input(
            "presenceContext",
            "a presence context is one line of text",
        ));
    }
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

/// Tells `user`'s watchers of a profile change that shows in their presence: the status they
/// chose (`user.status`, already written), and a context to share (`Some(Some)`) or stop
/// sharing (`Some(None)`), or the one already shared (`None`). A status chosen while not
/// connected changes nothing anyone sees (they stay OFFLINE), so it is not announced.
pub async fn changed(state: &AppState, user: &users::Model, context: Option<Option<String>>) {
    if let Some(context) = &context {
        state.presence.set_context(user.id, context.clone()).await;
    }
    let connected = !state.presence.online(&[user.id]).await.is_empty();
    if !connected && context.is_none() {
        return;
    }
    let status = effective(&user.status, connected);
    let context = match context {
        Some(context) => context,
        None => state.presence.contexts(&[user.id]).await.remove(&user.id),
    };
    state.publish(
        Topic::Presence(user.id),
        Event::PresenceChanged {
            user_id: user.id,
            status: status.to_owned(),
            last_seen_at: user.last_seen_at,
            context: context.filter(|_| status != "offline"),
        },
    );
}

/// Records `last_seen_at` and tells the user's watchers they came online or went offline.
pub async fn announce(state: &AppState, user_id: Uuid, online: bool) {
    let user = match users::Entity::find_by_id(user_id).one(&state.db).await {
        Ok(Some(user)) => user,
        Ok(None) => return,
        Err(err) => {
            tracing::warn!(error = %err, "presence: loading user");
            return;
        }
    };
    let chosen = user.status.clone();
    let mut active: users::ActiveModel = user.into();
    let seen = now();
    active.last_seen_at = Set(Some(seen));
    let written = active.update(&*state.writer().await).await;
    match written {
        Ok(_) => state.viewer_changed(user_id, None),
        Err(err) => tracing::warn!(error = %err, "presence: recording last_seen_at"),
    }
    let status = effective(&chosen, online);
    // A context set just before connecting shows from the start; going offline dropped it.
    let context = if status == "offline" {
        None
    } else {
        state.presence.contexts(&[user_id]).await.remove(&user_id)
    };
    state.publish(
        Topic::Presence(user_id),
        Event::PresenceChanged {
            user_id,
            status: status.to_owned(),
            last_seen_at: Some(seen),
            context,
        },
    );
}
