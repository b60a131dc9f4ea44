//! The history of calls: who may read what of it, and which call session a connection event
//! may name.
//!
//! - A room's calls (`Room.calls`, live and ended, newest first) are for its active members,
//!   as its live call is; anyone else sees none.
//! - A call's connection events (`Call.connectionEvents`: the events its participants' clients
//!   logged naming one of its sessions, oldest first) are for the room's owner and admins:
//!   they show every participant's network figures, which members do not see of each other.
//! - A connection event names a call session only of the caller's own (FORBIDDEN otherwise,
//!   NOT_FOUND when there is no such session), in the room the event names, if it names one
//!   (BAD_USER_INPUT on `roomId` otherwise); a session that left may still be named, so a
//!   client can log its `disconnected` after `leaveCall`.
//!
//! The pages themselves are read in [`crate::store::call_history`], through request-scoped
//! loaders, so a list of rooms or calls costs one statement per level.

use entity::{call_sessions, calls};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::error::{ApiError, ApiResult};
use crate::service::membership::{self, Role};
use crate::state::AppState;
use crate::store;

/// Whether a member in `role` may read a call's connection events: owners and admins only.
pub fn may_read_events(role: Option<Role>) -> ApiResult<()> {
    match role {
        Some(role) if role >= Role::Admin => Ok(()),
        _ => Err(ApiError::Forbidden(
            "only the room's owners and admins read a call's connection events".to_owned(),
        )),
    }
}

/// The viewer's own call session, live or not, with its call: NOT_FOUND when there is none,
/// FORBIDDEN when it is somebody else's.
pub async fn own_session(
    state: &AppState,
    viewer: &Viewer,
    session_id: Uuid,
) -> ApiResult<(call_sessions::Model, calls::Model)> {
    let (session, call) = store::call_history::session_with_call(&state.db, session_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("call session not found".to_owned()))?;
    if session.user_id != viewer.id() {
        return Err(ApiError::Forbidden(
            "that call session is somebody else's".to_owned(),
        ));
    }
    Ok((session, call))
}

/// The room a connection event belongs to when it names `session_id` (the caller's own
/// session) and perhaps `room_id`: the call's room, which `room_id` must be if given.
pub async fn event_room(
    state: &AppState,
    viewer: &Viewer,
    room_id: Option<Uuid>,
    session_id: Uuid,
) -> ApiResult<Uuid> {
    let (_, call) = own_session(state, viewer, session_id).await?;
    match room_id {
        Some(room_id) if room_id != call.room_id => Err(ApiError::bad_input(
            "roomId",
            "the call session is in another room",
        )),
        _ => Ok(call.room_id),
    }
}

/// The room of a call session whose events a statistics query asks about: the session's
/// call's room, which the caller must be an active member of, whoever's session it is (the
/// same rule as for a room filter). NOT_FOUND when there is no such session or the caller is
/// not a member there (a stranger cannot tell the two apart); BAD_USER_INPUT on `roomId` when
/// the query also names another room.
pub async fn stats_room(
    state: &AppState,
    viewer: &Viewer,
    room_id: Option<Uuid>,
    session_id: Uuid,
) -> ApiResult<Uuid> {
    let not_found = || ApiError::NotFound("call session not found".to_owned());
    let (_, call) = store::call_history::session_with_call(&state.db, session_id)
        .await?
        .ok_or_else(not_found)?;
    match membership::require_member(&state.reads(), viewer, call.room_id).await {
        Ok(_) => {}
        Err(ApiError::NotFound(_)) => return Err(not_found()),
        Err(err) => return Err(err),
    }
    match room_id {
        Some(room_id) if room_id != call.room_id => Err(ApiError::bad_input(
            "roomId",
            "the call session is in another room",
        )),
        _ => Ok(call.room_id),
    }
}
