//! `roomByCode`: what a voice-room client shows before joining by a code read out loud (the
//! room's name and topic, how full it is, whether a call is on), without joining.
//!
//! A code names a room to anyone who has it, so guessing codes is limited: misses here and at
//! `joinRoom` count together ([`room::CODE_MISSES_PER_MINUTE`]).

use entity::rooms;

use crate::auth::Viewer;
use crate::error::ApiResult;
use crate::service::room::{self, join_code};
use crate::state::AppState;
use crate::store;

/// A room seen from outside.
#[derive(Debug, Clone)]
pub struct Preview {
    pub room: rooms::Model,
    /// Active members.
    pub member_count: u64,
    /// Sessions in the room's live call; 0 when there is none.
    pub participant_count: u64,
    pub call_live: bool,
}

/// The live group room with join code `code` (trimmed, any case, as `joinRoom` takes it), or
/// None; BAD_USER_INPUT when `code` cannot be a join code, RATE_LIMITED past the misses above.
pub async fn by_code(state: &AppState, viewer: &Viewer, code: &str) -> ApiResult<Option<Preview>> {
    room::check_code_misses(state, viewer).await?;
    let code = join_code(code)?;
    let Some(room) = store::call_history::room_with_code(&state.db, &code).await? else {
        room::count_code_miss(state, viewer).await;
        return Ok(None);
    };
    let member_count = store::member::active_count(&state.db, room.id).await?;
    // The call as stored: a client that fell silent still counts until the liveness sweep
    // (every half `--call-session-ttl`) lets it go. A preview does not sweep: it would be a
    // stranger's read writing into the room's call.
    let live = store::call::live_of_room(&state.db, room.id).await?;
    let participant_count = match &live {
        Some(call) => store::call::live_count(&state.db, call.id).await?,
        None => 0,
    };
    Ok(Some(Preview {
        room,
        member_count,
        participant_count,
        call_live: live.is_some(),
    }))
}
