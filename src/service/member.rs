//! Membership: join within the cap, leave softly, manage members and roles, move read markers.

use entity::{messages, room_members, rooms, users};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect, Set,
};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::error::{ApiError, ApiResult};
use crate::realtime::{Event, Topic};
use crate::service::room::{not_found, require_member};
use crate::service::rows;
use crate::service::{notification, sql};
use crate::service::{now, write_txn};
use crate::state::AppState;

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

/// Active members of a room.
pub async fn active_count(db: &impl ConnectionTrait, room_id: Uuid) -> ApiResult<u64> {
    Ok(room_members::Entity::find()
        .filter(room_members::Column::RoomId.eq(room_id))
        .filter(room_members::Column::LeftAt.is_null())
        .count(db)
        .await?)
}

/// The active members of each room with their users, longest-standing first.
pub async fn active_in(
    db: &impl ConnectionTrait,
    room_ids: Vec<Uuid>,
) -> Result<Vec<(room_members::Model, Option<users::Model>)>, sea_orm::DbErr> {
    if room_ids.is_empty() {
        return Ok(Vec::new());
    }
    let query = format!(
        "SELECT {}, {} FROM room_members m LEFT JOIN users u ON u.id = m.user_id \
         WHERE m.room_id IN ({}) AND m.left_at IS NULL ORDER BY m.joined_at, m.user_id",
        rows::columns::<room_members::Model>("m"),
        rows::columns::<users::Model>("u"),
        sql::list(room_ids.len())
    );
    let values = room_ids.into_iter().map(Into::into).collect();
    rows::fetch(db, &query, values, rows::joined).await
}

/// Makes `user_id` an active member (joining or rejoining), refusing when the room is full.
/// The room row is locked for the check so concurrent joins cannot overshoot the cap.
pub async fn admit(
    state: &AppState,
    room: &rooms::Model,
    user_id: Uuid,
) -> ApiResult<room_members::Model> {
    let txn = write_txn(state).await?;
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
        && active_count(&*txn, room.id).await? >= max as u64
    {
        return Err(ApiError::Conflict("the room is full".to_owned()));
    }
    let at = now();
    let member = match existing {
        Some(former) => {
            let mut active: room_members::ActiveModel = former.into();
            active.left_at = Set(None);
            active.joined_at = Set(at);
            active.role = Set(Role::Member.as_str().to_owned());
            active.update(&*txn).await?
        }
        None => {
            room_members::ActiveModel {
                room_id: Set(room.id),
                user_id: Set(user_id),
                role: Set(Role::Member.as_str().to_owned()),
                joined_at: Set(at),
                ..Default::default()
            }
            .insert(&*txn)
            .await?
        }
    };
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
    let member = room_members::Entity::find_by_id((room.id, user_id))
        .one(&state.db)
        .await?
        .ok_or_else(not_found)?;
    if member.left_at.is_some() {
        let mut active: room_members::ActiveModel = member.into();
        active.left_at = Set(None);
        active.joined_at = Set(now());
        let member = active.update(&*super::writer(state).await).await?;
        state.publish(Topic::Room(room.id), Event::MemberJoined { member });
        state.publish(
            Topic::User(user_id),
            Event::RoomAdded { room: room.clone() },
        );
    }
    Ok(())
}

/// Leaves softly (`left_at`); joining again clears it. The last owner must hand over first
/// while others remain.
pub async fn leave(state: &AppState, viewer: &Viewer, room_id: Uuid) -> ApiResult<bool> {
    let (room, membership) = require_member(&state.db, viewer, room_id).await?;
    if room.kind == "group" && Role::parse(&membership.role) == Role::Owner {
        let owners = count_role(&state.db, room_id, Role::Owner).await?;
        let members = active_count(&state.db, room_id).await?;
        if owners == 1 && members > 1 {
            return Err(ApiError::Forbidden(
                "the last owner must make someone else owner before leaving".to_owned(),
            ));
        }
    }
    set_left(state, membership).await?;
    Ok(true)
}

/// Adds a user to a group room; owners and admins only.
pub async fn add(
    state: &AppState,
    viewer: &Viewer,
    room_id: Uuid,
    user_id: Uuid,
) -> ApiResult<room_members::Model> {
    let (room, membership) = require_member(&state.db, viewer, room_id).await?;
    Role::parse(&membership.role).require_manager()?;
    if room.kind != "group" {
        return Err(ApiError::bad_input(
            "roomId",
            "members are added to group rooms only",
        ));
    }
    crate::service::user::by_id(state, user_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("user not found".to_owned()))?;
    let member = admit(state, &room, user_id).await?;
    notification::notify(
        state,
        vec![notification::New {
            user_id,
            kind: "room_added",
            title: format!(
                "{} added you to {}",
                viewer.user.display_name,
                room.name.as_deref().unwrap_or("a room")
            ),
            body: None,
            data: serde_json::json!({ "roomId": room.id, "addedBy": viewer.id() }),
        }],
    )
    .await;
    Ok(member)
}

/// Removes a member; admins may remove members, owners anyone but themselves.
pub async fn remove(
    state: &AppState,
    viewer: &Viewer,
    room_id: Uuid,
    user_id: Uuid,
) -> ApiResult<bool> {
    let (room, membership) = require_member(&state.db, viewer, room_id).await?;
    let actor = Role::parse(&membership.role);
    actor.require_manager()?;
    if room.kind != "group" {
        return Err(ApiError::bad_input(
            "roomId",
            "members are removed from group rooms only",
        ));
    }
    if user_id == viewer.id() {
        return Err(ApiError::bad_input("userId", "use leaveRoom to leave"));
    }
    let target = active_member(&state.db, room_id, user_id).await?;
    let target_role = Role::parse(&target.role);
    if actor != Role::Owner && target_role >= Role::Admin {
        return Err(ApiError::Forbidden(
            "only owners may remove owners and admins".to_owned(),
        ));
    }
    set_left(state, target).await?;
    Ok(true)
}

/// Changes a member's role. Owners may set any role; admins may move non-owners between
/// member and admin. A room always keeps an owner.
pub async fn set_role(
    state: &AppState,
    viewer: &Viewer,
    room_id: Uuid,
    user_id: Uuid,
    role: Role,
) -> ApiResult<room_members::Model> {
    let (room, membership) = require_member(&state.db, viewer, room_id).await?;
    let actor = Role::parse(&membership.role);
    actor.require_manager()?;
    if room.kind != "group" {
        return Err(ApiError::bad_input(
            "roomId",
            "roles exist in group rooms only",
        ));
    }
    let target = active_member(&state.db, room_id, user_id).await?;
    let current = Role::parse(&target.role);
    if actor != Role::Owner && (current == Role::Owner || role == Role::Owner) {
        return Err(ApiError::Forbidden(
            "only owners may grant or take ownership".to_owned(),
        ));
    }
    if current == Role::Owner
        && role != Role::Owner
        && count_role(&state.db, room_id, Role::Owner).await? == 1
    {
        return Err(ApiError::Forbidden(
            "a room needs an owner: make another first".to_owned(),
        ));
    }
    let mut active: room_members::ActiveModel = target.into();
    active.role = Set(role.as_str().to_owned());
    Ok(active.update(&*super::writer(state).await).await?)
}

/// Moves the caller's read marker forward to `message_id`; never backward.
pub async fn mark_read(
    state: &AppState,
    viewer: &Viewer,
    room_id: Uuid,
    message_id: Uuid,
) -> ApiResult<room_members::Model> {
    let (_, membership) = require_member(&state.db, viewer, room_id).await?;
    let target = messages::Entity::find_by_id(message_id)
        .filter(messages::Column::RoomId.eq(room_id))
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::NotFound("message not found in this room".to_owned()))?;
    if let Some(current_id) = membership.last_read_message_id
        && let Some(current) = messages::Entity::find_by_id(current_id)
            .one(&state.db)
            .await?
        && (current.created_at, current.id) >= (target.created_at, target.id)
    {
        return Ok(membership);
    }
    let mut active: room_members::ActiveModel = membership.into();
    active.last_read_message_id = Set(Some(target.id));
    let member = active.update(&*super::writer(state).await).await?;
    state.publish(
        Topic::Room(room_id),
        Event::ReceiptUpdated {
            room_id,
            user_id: viewer.id(),
            message_id: target.id,
        },
    );
    if let Ok(counts) =
        crate::service::message::unread_counts(&state.db, viewer.id(), &[room_id]).await
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

async fn active_member(
    db: &impl ConnectionTrait,
    room_id: Uuid,
    user_id: Uuid,
) -> ApiResult<room_members::Model> {
    room_members::Entity::find_by_id((room_id, user_id))
        .filter(room_members::Column::LeftAt.is_null())
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound("not a member of this room".to_owned()))
}

async fn count_role(db: &impl ConnectionTrait, room_id: Uuid, role: Role) -> ApiResult<u64> {
    Ok(room_members::Entity::find()
        .filter(room_members::Column::RoomId.eq(room_id))
        .filter(room_members::Column::LeftAt.is_null())
        .filter(room_members::Column::Role.eq(role.as_str()))
        .count(db)
        .await?)
}

async fn set_left(state: &AppState, member: room_members::Model) -> ApiResult<()> {
    let (room_id, user_id) = (member.room_id, member.user_id);
    let mut active: room_members::ActiveModel = member.into();
    active.left_at = Set(Some(now()));
    active.update(&*super::writer(state).await).await?;
    state.publish(Topic::Room(room_id), Event::MemberLeft { room_id, user_id });
    Ok(())
}
