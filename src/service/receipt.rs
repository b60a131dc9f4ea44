//! Receipts: each member's delivered and read markers, moved forward only.
//!
//! A client marks a message delivered when it reaches the device and read when the user has
//! seen it; reading implies delivery, so moving the read marker past the delivered one moves
//! that too. Markers are per member, not per message (storage grows with members).

use entity::{messages, room_members};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::error::{ApiError, ApiResult};
use crate::realtime::{Event, ReceiptMarker, Topic};
use crate::service::membership::require_member;
use crate::state::AppState;

/// Moves the caller's delivered marker forward to `message_id`; never backward, and not when
/// the read marker is already at or past it.
pub async fn mark_delivered(
    state: &AppState,
    viewer: &Viewer,
    room_id: Uuid,
    message_id: Uuid,
) -> ApiResult<room_members::Model> {
    let (_, membership) = require_member(&state.db, viewer, room_id).await?;
    let target = message_in(&state.db, room_id, message_id).await?;
    let markers = [
        membership.last_delivered_message_id,
        membership.last_read_message_id,
    ];
    if !behind(&state.db, &markers, &target).await? {
        return Ok(membership);
    }
    let mut active: room_members::ActiveModel = membership.into();
    active.last_delivered_message_id = Set(Some(target.id));
    let member = active.update(&*state.writer().await).await?;
    publish(state, viewer, &target, ReceiptMarker::Delivered);
    Ok(member)
}

/// Moves the caller's read marker forward to `message_id` (never backward), and the delivered
/// marker with it when that is behind.
pub async fn mark_read(
    state: &AppState,
    viewer: &Viewer,
    room_id: Uuid,
    message_id: Uuid,
) -> ApiResult<room_members::Model> {
    let (_, membership) = require_member(&state.db, viewer, room_id).await?;
    let target = message_in(&state.db, room_id, message_id).await?;
    if !behind(&state.db, &[membership.last_read_message_id], &target).await? {
        return Ok(membership);
    }
    let delivered_behind =
        behind(&state.db, &[membership.last_delivered_message_id], &target).await?;
    let mut active: room_members::ActiveModel = membership.into();
    active.last_read_message_id = Set(Some(target.id));
    if delivered_behind {
        active.last_delivered_message_id = Set(Some(target.id));
    }
    let member = active.update(&*state.writer().await).await?;
    publish(state, viewer, &target, ReceiptMarker::Read);
    if let Ok(counts) =
        crate::store::message::unread_counts(&state.db, viewer.id(), &[room_id]).await
    {
        state.publish(
            Topic::User(viewer.id()),
            Event::UnreadChanged {
                room_id,
                unread_count: counts.get(&room_id).copied().unwrap_or(0),
            },
        );
    }
    Ok(member)
}

async fn message_in(
    db: &impl ConnectionTrait,
    room_id: Uuid,
    message_id: Uuid,
) -> ApiResult<messages::Model> {
    messages::Entity::find_by_id(message_id)
        .filter(messages::Column::RoomId.eq(room_id))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound("message not found in this room".to_owned()))
}

/// Whether every one of `markers` is before `target` (an unset marker is before everything).
async fn behind(
    db: &impl ConnectionTrait,
    markers: &[Option<Uuid>],
    target: &messages::Model,
) -> ApiResult<bool> {
    let ids: Vec<Uuid> = markers.iter().flatten().copied().collect();
    if ids.is_empty() {
        return Ok(true);
    }
    let current = messages::Entity::find()
        .filter(messages::Column::Id.is_in(ids))
        .all(db)
        .await?;
    Ok(current
        .iter()
        .all(|m| (m.created_at, m.id) < (target.created_at, target.id)))
}

fn publish(state: &AppState, viewer: &Viewer, target: &messages::Model, marker: ReceiptMarker) {
    state.publish(
        Topic::Room(target.room_id),
        Event::ReceiptUpdated {
            room_id: target.room_id,
            user_id: viewer.id(),
            message_id: target.id,
            marker,
        },
    );
}
