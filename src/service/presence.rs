//! Presence as users see it: the availability they chose while connected, OFFLINE otherwise;
//! `last_seen_at` kept when they come and go.

use entity::users;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use uuid::Uuid;

use crate::db::now;
use crate::realtime::{Event, Topic};
use crate::state::AppState;

/// The status others see: the chosen one while connected (`offline` chosen = invisible).
pub fn effective(chosen: &str, connected: bool) -> &str {
    if connected { chosen } else { "offline" }
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
    state.publish(
        Topic::Presence(user_id),
        Event::PresenceChanged {
            user_id,
            status: effective(&chosen, online).to_owned(),
            last_seen_at: Some(seen),
        },
    );
}
