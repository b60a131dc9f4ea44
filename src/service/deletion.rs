//! `deleteRoom`: a room's owner (or a server administrator) deletes it for good.
//!
//! The delete is hard and happens in one transaction: the room's row and everything that
//! belongs to it (`store::purge::room`, a fixed number of statements whatever the room's
//! size), so its messages become unreadable at once and nothing points at it afterwards. A
//! live call in it ends first (its participants hear `ParticipantLeft` and `CallEnded`); after
//! the commit the room and each of its members hear `RoomDeleted`. Uploads made for the room
//! stay with their uploaders. Account deletion deletes the rooms it leaves empty the same way
//! ([`purge`], [`Deleted::announce`]).

use chrono::{DateTime, FixedOffset};
use entity::{room_members, rooms};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::db::now;
use crate::error::{ApiError, ApiResult};
use crate::realtime::{Event, Topic};
use crate::service::audit::{self, Audit};
use crate::service::call::session::LeaveReason;
use crate::service::membership::{Role, not_found, require_member};
use crate::state::AppState;
use crate::store;

/// Deletes a room: its owners may (either person of a direct room), and server
/// administrators (recorded in the audit log); other members are FORBIDDEN, and anyone else
/// (or a room already deleted) gets NOT_FOUND.
pub async fn delete_room(
    state: &AppState,
    viewer: &Viewer,
    room_id: Uuid,
    ip: Option<&str>,
) -> ApiResult<bool> {
    let owner = match require_member(&state.reads(), viewer, room_id).await {
        Ok((_, membership)) => Role::parse(&membership.role) == Role::Owner,
        Err(ApiError::NotFound(why)) if viewer.is_admin() => {
            rooms::Entity::find_by_id(room_id)
                .filter(rooms::Column::DeletedAt.is_null())
                .one(&state.db)
                .await?
                .ok_or(ApiError::NotFound(why))?;
            false
        }
        Err(err) => return Err(err),
    };
    if !owner && !viewer.is_admin() {
        return Err(ApiError::Forbidden(
            "only the room's owners may delete it".to_owned(),
        ));
    }
    let txn = state.write_txn().await?;
    let deleted = purge(&*txn, room_id, now()).await?.ok_or_else(not_found)?;
    audit::record(
        &*txn,
        Audit {
            kind: audit::kind::ROOM_DELETED,
            actor: Some(viewer.id()),
            target: None,
            details: serde_json::json!({
                "roomId": room_id,
                "messages": deleted.messages,
                "byServerAdmin": !owner,
            }),
            ip,
        },
    )
    .await?;
    txn.commit().await?;
    deleted.announce(state);
    Ok(true)
}

/// What deleting a room did, to be told once the transaction commits.
#[must_use = "announce it after the commit"]
pub struct Deleted {
    room_id: Uuid,
    /// Its active members, who hear `RoomDeleted` on their own events.
    members: Vec<Uuid>,
    /// Call sessions that left and the call that ended.
    call: store::call::Expired,
    messages: u64,
}

impl Deleted {
    /// Publishes the call's end, then `RoomDeleted` to the call's followers (after the end, on
    /// the same topic, so they hear it first), the room and each member.
    pub fn announce(self, state: &AppState) {
        self.call.publish(&state.broker);
        let room_id = self.room_id;
        state.publish(Topic::Call(room_id), Event::RoomDeleted { room_id });
        state.publish(Topic::Room(room_id), Event::RoomDeleted { room_id });
        for user_id in self.members {
            state.publish(Topic::User(user_id), Event::RoomDeleted { room_id });
        }
        tracing::info!(%room_id, messages = self.messages, "room deleted");
    }
}

/// Deletes room `room_id` on `txn` (which the caller commits): locks its row, ends its live
/// call, removes it and everything it holds. None when there is no such room.
pub async fn purge(
    txn: &impl ConnectionTrait,
    room_id: Uuid,
    at: DateTime<FixedOffset>,
) -> ApiResult<Option<Deleted>> {
    // Locked: a concurrent join, send or call waits and then finds no room.
    let Some(room) = store::call::lock_room(txn, room_id).await? else {
        return Ok(None);
    };
    if room.deleted_at.is_some() {
        return Ok(None);
    }
    let members: Vec<Uuid> = room_members::Entity::find()
        .select_only()
        .column(room_members::Column::UserId)
        .filter(room_members::Column::RoomId.eq(room_id))
        .filter(room_members::Column::LeftAt.is_null())
        .into_tuple()
        .all(txn)
        .await?;
    let mut call = store::call::Expired::default();
    if let Some(live) = store::call::live_of_room(txn, room_id).await? {
        let sessions = store::call::participants(txn, vec![live.id]).await?;
        let ids: Vec<Uuid> = sessions.iter().map(|s| s.id).collect();
        let left = store::call::leave(txn, &ids, at, LeaveReason::Removed).await?;
        call.left = left.into_iter().map(|s| (room_id, s)).collect();
        call.ended.extend(store::call::end(txn, live.id, at).await?);
    }
    let messages = store::purge::room(txn, room_id).await?;
    Ok(Some(Deleted {
        room_id,
        members,
        call,
        messages,
    }))
}
