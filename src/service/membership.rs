//! The membership rule every room-scoped operation starts from: who belongs to a room and in
//! which role, how one is admitted, and the pairing of direct rooms. Rooms, members and
//! messages all build on it; it builds on none of them.

use entity::{room_members, rooms};
use sea_orm::{ActiveModelTrait, EntityTrait, QuerySelect, Set};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::db::now;
use crate::error::{ApiError, ApiResult};
use crate::realtime::{Event, Topic};
use crate::state::AppState;
use crate::store;

/// A member's standing in a room, highest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Member,
    Admin,
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Member => "member",
        }
    }

    pub fn parse(value: &str) -> Self {
        match value {
            "owner" => Self::Owner,
            "admin" => Self::Admin,
            _ => Self::Member,
        }
    }

    /// Owners and admins manage members and settings.
    pub fn require_manager(self) -> ApiResult<()> {
        if self >= Self::Admin {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "only owners and admins may do that".to_owned(),
            ))
        }
    }
}

/// Makes `user_id` an active member (joining or rejoining), refusing when the room is full.
/// The room row is locked for the check so concurrent joins cannot overshoot the cap.
pub async fn admit(
    state: &AppState,
    room: &rooms::Model,
    user_id: Uuid,
) -> ApiResult<room_members::Model> {
    admit_as(state, room, user_id, Role::Member).await
}

/// [`admit`] in `role`, in the same write; an active member already is returned as they are.
pub async fn admit_as(
    state: &AppState,
    room: &rooms::Model,
    user_id: Uuid,
    role: Role,
) -> ApiResult<room_members::Model> {
    let txn = state.write_txn().await?;
    let room = rooms::Entity::find_by_id(room.id)
        .lock_exclusive()
        .one(&*txn)
        .await?
        .ok_or_else(not_found)?;
    let existing = room_members::Entity::find_by_id((room.id, user_id))
        .one(&*txn)
        .await?;
    if let Some(member) = existing.as_ref().filter(|m| m.left_at.is_none()) {
        return Ok(member.clone());
    }
    if let Some(max) = room.max_members
        && store::member::active_count(&*txn, room.id).await? >= max as u64
    {
        return Err(ApiError::Conflict("the room is full".to_owned()));
    }
    let at = now();
    let member = match existing {
        Some(former) => {
            let mut active: room_members::ActiveModel = former.into();
            active.left_at = Set(None);
            active.joined_at = Set(at);
            active.role = Set(role.as_str().to_owned());
            active.update(&*txn).await?
        }
        None => {
            room_members::ActiveModel {
                room_id: Set(room.id),
                user_id: Set(user_id),
                role: Set(role.as_str().to_owned()),
                joined_at: Set(at),
                ..Default::default()
            }
            .insert(&*txn)
            .await?
        }
    };
    // A new stint in the membership history, in the same write.
    store::stint::open(&*txn, room.id, &[user_id], at).await?;
    txn.commit().await?;
    state.publish(
        Topic::Room(room.id),
        Event::MemberJoined {
            member: member.clone(),
        },
    );
    state.publish(Topic::User(user_id), Event::RoomAdded { room });
    Ok(member)
}

/// Brings a pair member back into their direct room after they left it.
pub async fn rejoin_direct(state: &AppState, room: &rooms::Model, user_id: Uuid) -> ApiResult<()> {
    let txn = state.write_txn().await?;
    // Locked, so of two concurrent rejoins one opens the new stint.
    let member = room_members::Entity::find_by_id((room.id, user_id))
        .lock_exclusive()
        .one(&*txn)
        .await?
        .ok_or_else(not_found)?;
    if member.left_at.is_some() {
        let at = now();
        let mut active: room_members::ActiveModel = member.into();
        active.left_at = Set(None);
        active.joined_at = Set(at);
        let member = active.update(&*txn).await?;
        store::stint::open(&*txn, room.id, &[user_id], at).await?;
        txn.commit().await?;
        state.publish(Topic::Room(room.id), Event::MemberJoined { member });
        state.publish(
            Topic::User(user_id),
            Event::RoomAdded { room: room.clone() },
        );
    }
    Ok(())
}

/// A live room the caller is an active member of, with that membership; NOT_FOUND otherwise,
/// so a stranger cannot tell a private room from no room.
pub async fn require_member(
    db: &impl crate::db::direct::Source,
    viewer: &Viewer,
    room_id: Uuid,
) -> ApiResult<(rooms::Model, room_members::Model)> {
    store::room::with_membership(db, room_id, viewer.id())
        .await?
        .ok_or_else(not_found)
}

pub fn not_found() -> ApiError {
    ApiError::NotFound("room not found".to_owned())
}

/// The `rooms.direct_key` of a pair: both ids, sorted, so each pair has one direct room.
pub fn direct_key(a: Uuid, b: Uuid) -> String {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    format!("{lo}:{hi}")
}

/// The other person of a direct room.
pub fn direct_peer(room: &rooms::Model, me: Uuid) -> Option<Uuid> {
    let (a, b) = room.direct_key.as_deref()?.split_once(':')?;
    let (a, b) = (Uuid::parse_str(a).ok()?, Uuid::parse_str(b).ok()?);
    Some(if a == me { b } else { a })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_key_is_order_free() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(direct_key(a, b), direct_key(b, a));
    }
}
