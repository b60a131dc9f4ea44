//! Catching up after a reconnect: the messages of a room sent after one the client saw
//! (`roomEvents(roomId, after:)`), oldest first, bounded.

use entity::messages;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::page::{Key, Page, keyset};

/// Most messages one catch-up replays; a client further behind pages with `Room.messages`.
pub const CATCH_UP_MAX: usize = 500;

/// The room's messages after `after` (a message of that room), oldest first, with their
/// senders; deleted ones too, as they are now (as `Room.messages` lists them). The caller
/// has checked membership. BAD_USER_INPUT on `after` when it is not a message of the room or
/// more than [`CATCH_UP_MAX`] messages followed it.
pub async fn missed(
    state: &AppState,
    room_id: Uuid,
    after: Uuid,
) -> ApiResult<Vec<crate::store::message::MessageWithSender>> {
    let seen = messages::Entity::find_by_id(after)
        .filter(messages::Column::RoomId.eq(room_id))
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::bad_input("after", "not a message of this room"))?;
    let page = Page::Forward {
        after: Some(Key {
            at: seen.created_at,
            id: seen.id,
        }),
        limit: CATCH_UP_MAX,
    };
    let query = messages::Entity::find().filter(messages::Column::RoomId.eq(room_id));
    let missed = keyset(
        query,
        messages::Column::CreatedAt,
        messages::Column::Id,
        page,
        false,
    )
    .all(&state.db)
    .await?;
    if missed.len() > CATCH_UP_MAX {
        return Err(ApiError::bad_input(
            "after",
            format!(
                "more than {CATCH_UP_MAX} messages followed it: read them with Room.messages \
                 and subscribe again after the newest"
            ),
        ));
    }
    Ok(crate::store::message::with_senders(&state.db, missed).await?)
}
