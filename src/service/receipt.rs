//! Receipts: each member's delivered and read markers, moved forward only.
//!
//! A client marks a message delivered when it reaches the device and read when the user has
//! seen it; reading implies delivery, so moving the read marker past the delivered one moves
//! that too. Markers are per member, not per message (storage grows with members). Each moves
//! in one conditional statement ([`member::advance_marker`]), so two devices marking at once
//! never move one backward.

use entity::{messages, room_members};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::error::{ApiError, ApiResult};
use crate::realtime::{Event, ReceiptMarker, Topic};
use crate::service::membership::require_member;
use crate::state::AppState;
use crate::store::member::{self, Marker};

/// Moves the caller's delivered marker forward to `message_id`; never backward, and not when
/// the read marker is already at or past it.
pub async fn mark_delivered(
    state: &AppState,
    viewer: &Viewer,
    room_id: Uuid,
    message_id: Uuid,
) -> ApiResult<room_members::Model> {
    let (_, membership) = require_member(&state.reads(), viewer, room_id).await?;
    let target = message_in(&state.db, room_id, message_id).await?;
    let txn = state.write_txn().await?;
    // The row lock orders concurrent marks: each compares against the committed marker.
    member::lock(&*txn, room_id, viewer.id()).await?;
    let moved = member::advance_marker(
        &*txn,
        room_id,
        viewer.id(),
        Marker::Delivered,
        target.id,
        &[Marker::Delivered, Marker::Read],
    )
    .await?;
    txn.commit().await?;
    let Some(member) = moved else {
        return Ok(membership);
    };
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
    let (_, membership) = require_member(&state.reads(), viewer, room_id).await?;
    let target = message_in(&state.db, room_id, message_id).await?;
    let txn = state.write_txn().await?;
    member::lock(&*txn, room_id, viewer.id()).await?;
    let moved = member::advance_marker(
        &*txn,
        room_id,
        viewer.id(),
        Marker::Read,
        target.id,
        &[Marker::Read],
    )
    .await?;
    let Some(read) = moved else {
        return Ok(membership);
    };
    // Reading implies delivery: the delivered marker follows when it is behind.
    let member = member::advance_marker(
        &*txn,
        room_id,
        viewer.id(),
        Marker::Delivered,
        target.id,
        &[Marker::Delivered],
    )
    .await?
    .unwrap_or(read);
    txn.commit().await?;
    publish(state, viewer, &target, ReceiptMarker::Read);
    if let Ok(counts) =
        crate::store::unread::unread_counts(&state.db, viewer.id(), &[room_id]).await
    {
        state.publish(
            Topic::User(viewer.id()),
            Event::UnreadChanged {
                room_id,
                unread_count: counts.get(&room_id).copied().unwrap_or(0),
                last_message: None,
                last_sender: None,
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
