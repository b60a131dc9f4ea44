//! A `callEvents` subscription that names its session holds that session in the call: while
//! it lasts the session needs no heartbeat, and when it ends (the socket closed, the client
//! completed it) the session leaves with reason `disconnected`.

use entity::{call_sessions, calls};
use sea_orm::EntityTrait;
use uuid::Uuid;

use super::session::{self, LeaveReason};
use crate::auth::Viewer;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store;

/// Holds a call session for as long as it lives (see the module).
pub struct Held {
    state: AppState,
    call_id: Uuid,
    session_id: Uuid,
}

impl Held {
    /// Holds `session_id` (of call `call_id`), which the caller checked is the viewer's own
    /// live session.
    pub fn new(state: &AppState, call_id: Uuid, session_id: Uuid) -> Self {
        state.calls.hold(session_id);
        Self {
            state: state.clone(),
            call_id,
            session_id,
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if !self.state.calls.release(self.session_id) {
            // Another subscription in this process still holds it.
            return;
        }
        let (state, call_id, session_id) = (self.state.clone(), self.call_id, self.session_id);
        // Streams end inside the runtime; without one the process is stopping, and the
        // session times out like any other whose process went away.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let left = session::leave_sessions(
                    &state,
                    call_id,
                    &[session_id],
                    LeaveReason::Disconnected,
                )
                .await;
                if let Err(err) = left {
                    tracing::warn!(%session_id, error = ?err, "leaving a disconnected call session failed");
                }
            });
        }
    }
}

/// The sessions in the live call of `room_id` now (none when there is no call), after letting
/// silent ones go: what a new `callEvents` subscription starts with.
pub async fn participants_now(
    state: &AppState,
    room_id: Uuid,
) -> ApiResult<Vec<call_sessions::Model>> {
    let calls = store::call::live_in_fresh(
        &state.db,
        &state.writer,
        &state.broker,
        state.config.calls.call_session_ttl(),
        vec![room_id],
    )
    .await?;
    Ok(store::call::participants(&state.db, calls.into_iter().map(|c| c.id).collect()).await?)
}

/// The viewer's own live session `session_id`, checked to be in the live call of `room_id`
/// (BAD_USER_INPUT otherwise).
pub async fn own_in_room(
    state: &AppState,
    viewer: &Viewer,
    session_id: Uuid,
    room_id: Uuid,
) -> ApiResult<call_sessions::Model> {
    let session = session::live_own(state, viewer, session_id).await?;
    let in_room = calls::Entity::find_by_id(session.call_id)
        .one(&state.db)
        .await?
        .is_some_and(|call| call.room_id == room_id);
    if !in_room {
        return Err(ApiError::bad_input(
            "sessionId",
            "that session is in another room's call",
        ));
    }
    Ok(session)
}
