//! Call sessions: joining a room's call, leaving it, staying in it, and the media state each
//! participant publishes. The first join starts the room's call, the last session to leave
//! (or to fall silent for `--call-session-ttl`) ends it. One person on two devices is two
//! sessions. Every change is published to the room's [`Topic::Call`] after it commits.

use entity::{call_sessions, calls};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::db::now;
use crate::error::{ApiError, ApiResult};
use crate::realtime::{Event, Topic};
use crate::service::membership;
use crate::state::AppState;
use crate::store;
pub use crate::store::kinds::CallConnection as Connection;
pub use crate::store::kinds::CallLeaveReason as LeaveReason;

/// Most live call sessions one user may have at once, in all calls (devices, tabs).
pub const MAX_LIVE_SESSIONS_PER_USER: u64 = 8;

/// The media flags a client joins with.
#[derive(Debug, Clone, Copy, Default)]
pub struct JoinFlags {
    pub muted: bool,
    pub camera_off: bool,
}

/// A change of a participant's state; `None` leaves a field as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct StateChange {
    pub muted: Option<bool>,
    pub camera_off: Option<bool>,
    pub screen_sharing: Option<bool>,
    pub hand_raised: Option<bool>,
    pub speaking: Option<bool>,
    pub connection: Option<Connection>,
}

/// Joins the live call of `room_id` (starting it when there is none) as a new session of the
/// viewer. Members only (NOT_FOUND otherwise, as for the room); not in an archived room
/// (FORBIDDEN). At most the room's
/// `max_members` live sessions: CONFLICT "call is full" past that; and at most
/// [`MAX_LIVE_SESSIONS_PER_USER`] live sessions per user, in all calls. The room row is locked
/// (on SQLite: the writer turn) for the count, so concurrent joins cannot overshoot it.
pub async fn join(
    state: &AppState,
    viewer: &Viewer,
    room_id: Uuid,
    flags: JoinFlags,
) -> ApiResult<(calls::Model, call_sessions::Model)> {
    let (room, _) = membership::require_member(&state.reads(), viewer, room_id).await?;
    if room.archived_at.is_some() {
        return Err(ApiError::Forbidden("the room is archived".to_owned()));
    }
    if store::call::live_count_of_user(&state.db, viewer.id()).await? >= MAX_LIVE_SESSIONS_PER_USER
    {
        // Silent ones may still be counted: let them go, then count again.
        expire(state).await?;
        if store::call::live_count_of_user(&state.db, viewer.id()).await?
            >= MAX_LIVE_SESSIONS_PER_USER
        {
            return Err(ApiError::Conflict(format!(
                "at most {MAX_LIVE_SESSIONS_PER_USER} call sessions at once: leave one first"
            )));
        }
    }
    let txn = state.write_txn().await?;
    let room = store::call::lock_room(&*txn, room_id)
        .await?
        .ok_or_else(membership::not_found)?;
    // Again under the lock: the viewer may have been removed in between.
    membership::require_member(&*txn, viewer, room_id).await?;
    let at = now();
    // Sessions whose clients fell silent hold no seat.
    let timed_out = store::call::time_out(&*txn, at, cutoff(state, at), Some(&[room_id])).await?;
    let mut expired = store::call::Expired {
        left: timed_out.into_iter().map(|s| (room_id, s)).collect(),
        ended: Vec::new(),
    };
    let mut call = match store::call::live_of_room(&*txn, room_id).await? {
        Some(call) if store::call::live_count(&*txn, call.id).await? == 0 => {
            // Everybody timed out and no sweep has ended it yet: it is over.
            expired
                .ended
                .extend(store::call::end(&*txn, call.id, at).await?);
            None
        }
        call => call,
    };
    let live = match &call {
        Some(call) => store::call::live_count(&*txn, call.id).await?,
        None => 0,
    };
    if let Some(max) = room.max_members
        && live >= u64::try_from(max).unwrap_or(0)
    {
        txn.commit().await?;
        expired.publish(&state.broker);
        return Err(ApiError::Conflict("call is full".to_owned()));
    }
    let started = match call.take() {
        Some(call) => call,
        None => {
            calls::ActiveModel {
                id: Set(Uuid::now_v7()),
                room_id: Set(room_id),
                started_at: Set(at),
                ended_at: Set(None),
                peak_participants: Set(0),
            }
            .insert(&*txn)
            .await?
        }
    };
    let session = call_sessions::ActiveModel {
        id: Set(Uuid::now_v7()),
        call_id: Set(started.id),
        user_id: Set(viewer.id()),
        joined_at: Set(at),
        last_seen_at: Set(at),
        left_at: Set(None),
        leave_reason: Set(None),
        muted: Set(flags.muted),
        camera_off: Set(flags.camera_off),
        screen_sharing: Set(false),
        hand_raised: Set(false),
        speaking: Set(false),
        connection: Set(Connection::Connecting.as_str().to_owned()),
    }
    .insert(&*txn)
    .await?;
    let now_live = i32::try_from(live + 1).unwrap_or(i32::MAX);
    let call = if now_live > started.peak_participants {
        let mut active: calls::ActiveModel = started.into();
        active.peak_participants = Set(now_live);
        active.update(&*txn).await?
    } else {
        started
    };
    txn.commit().await?;
    expired.publish(&state.broker);
    state.publish(
        Topic::Call(room_id),
        Event::CallJoined {
            room_id,
            participant: session.clone(),
        },
    );
    Ok((call, session))
}

/// Leaves the viewer's own session: true when it left now, false when it had already left.
/// The last live session leaving ends the call.
pub async fn leave(state: &AppState, viewer: &Viewer, session_id: Uuid) -> ApiResult<bool> {
    let session = own(state, viewer, session_id).await?;
    if session.left_at.is_some() {
        return Ok(false);
    }
    let left = leave_sessions(state, session.call_id, &[session_id], LeaveReason::Left).await?;
    Ok(left > 0)
}

/// Makes the live sessions among `session_ids` (all of call `call_id`) leave for `reason`,
/// ends the call when nobody is left, and tells the room's call subscribers. Returns how many
/// left now.
pub async fn leave_sessions(
    state: &AppState,
    call_id: Uuid,
    session_ids: &[Uuid],
    reason: LeaveReason,
) -> ApiResult<usize> {
    let Some(call) = calls::Entity::find_by_id(call_id).one(&state.db).await? else {
        return Ok(0);
    };
    let txn = state.write_txn().await?;
    store::call::lock_room(&*txn, call.room_id).await?;
    let at = now();
    let left = store::call::leave(&*txn, session_ids, at, reason).await?;
    let mut expired = store::call::Expired::default();
    if !left.is_empty() && store::call::live_count(&*txn, call.id).await? == 0 {
        expired
            .ended
            .extend(store::call::end(&*txn, call.id, at).await?);
    }
    txn.commit().await?;
    let count = left.len();
    expired.left = left.into_iter().map(|s| (call.room_id, s)).collect();
    expired.publish(&state.broker);
    Ok(count)
}

/// Makes `user_id`'s sessions in the live call of `room_id` leave with reason `removed`: they
/// left the room or were removed from it.
pub async fn leave_room(state: &AppState, room_id: Uuid, user_id: Uuid) -> ApiResult<()> {
    let sessions = store::call::live_sessions_of(&state.db, room_id, user_id).await?;
    if let Some(first) = sessions.first() {
        let ids: Vec<Uuid> = sessions.iter().map(|s| s.id).collect();
        leave_sessions(state, first.call_id, &ids, LeaveReason::Removed).await?;
    }
    Ok(())
}

/// Keeps the viewer's live session in its call for another `--call-session-ttl`.
pub async fn heartbeat(state: &AppState, viewer: &Viewer, session_id: Uuid) -> ApiResult<()> {
    let session = live_own(state, viewer, session_id).await?;
    let touched = call_sessions::Entity::update_many()
        .col_expr(call_sessions::Column::LastSeenAt, Expr::value(now()))
        .filter(call_sessions::Column::Id.eq(session.id))
        .filter(call_sessions::Column::LeftAt.is_null())
        .exec(&*state.writer().await)
        .await?
        .rows_affected;
    if touched == 0 {
        // Timed out between the read and the write.
        return Err(session_not_found());
    }
    Ok(())
}

/// Changes the viewer's live session's media state (and counts as a heartbeat).
pub async fn update_state(
    state: &AppState,
    viewer: &Viewer,
    session_id: Uuid,
    change: StateChange,
) -> ApiResult<call_sessions::Model> {
    let session = live_own(state, viewer, session_id).await?;
    let mut active: call_sessions::ActiveModel = session.into();
    active.last_seen_at = Set(now());
    if let Some(muted) = change.muted {
        active.muted = Set(muted);
    }
    if let Some(camera_off) = change.camera_off {
        active.camera_off = Set(camera_off);
    }
    if let Some(screen_sharing) = change.screen_sharing {
        active.screen_sharing = Set(screen_sharing);
    }
    if let Some(hand_raised) = change.hand_raised {
        active.hand_raised = Set(hand_raised);
    }
    if let Some(speaking) = change.speaking {
        active.speaking = Set(speaking);
    }
    if let Some(connection) = change.connection {
        active.connection = Set(connection.as_str().to_owned());
    }
    let updated = active.update(&*state.writer().await).await?;
    if let Some(call) = calls::Entity::find_by_id(updated.call_id)
        .one(&state.db)
        .await?
    {
        state.publish(
            Topic::Call(call.room_id),
            Event::CallUpdated {
                room_id: call.room_id,
                participant: updated.clone(),
            },
        );
    }
    Ok(updated)
}

/// The liveness sweep over every call (see [`store::call::expire`]), told to subscribers.
pub async fn expire(state: &AppState) -> ApiResult<()> {
    store::call::expire(
        &state.db,
        &state.writer,
        state.config.calls.call_session_ttl(),
        None,
    )
    .await?
    .publish(&state.broker);
    Ok(())
}

/// Sessions last seen before this have timed out.
fn cutoff(
    state: &AppState,
    at: chrono::DateTime<chrono::FixedOffset>,
) -> chrono::DateTime<chrono::FixedOffset> {
    store::call::cutoff(at, state.config.calls.call_session_ttl())
}

/// The viewer's own session, live or not: NOT_FOUND when there is none, FORBIDDEN when it is
/// somebody else's.
pub async fn own(
    state: &AppState,
    viewer: &Viewer,
    session_id: Uuid,
) -> ApiResult<call_sessions::Model> {
    let session = call_sessions::Entity::find_by_id(session_id)
        .one(&state.db)
        .await?
        .ok_or_else(session_not_found)?;
    if session.user_id != viewer.id() {
        return Err(ApiError::Forbidden(
            "that call session is somebody else's".to_owned(),
        ));
    }
    Ok(session)
}

/// [`own`], and still in its call: NOT_FOUND once it left.
pub async fn live_own(
    state: &AppState,
    viewer: &Viewer,
    session_id: Uuid,
) -> ApiResult<call_sessions::Model> {
    let session = own(state, viewer, session_id).await?;
    if session.left_at.is_some() {
        return Err(session_not_found());
    }
    Ok(session)
}

pub fn session_not_found() -> ApiError {
    ApiError::NotFound("call session not found".to_owned())
}
