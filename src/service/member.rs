//! Membership: join within the cap, leave softly, manage members and roles.

use entity::{room_members, rooms};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::db::now;
use crate::error::{ApiError, ApiResult};
use crate::realtime::{Event, Topic};
use crate::service::audit::{self, Audit};
use crate::service::membership::{Role, admit_as, require_member};
use crate::service::notification;
use crate::state::AppState;
use crate::store;
use crate::store::kinds::RoomKind;

/// Leaves softly (`left_at`); joining again clears it. The last owner must hand over first
/// while others remain.
pub async fn leave(state: &AppState, viewer: &Viewer, room_id: Uuid) -> ApiResult<bool> {
    let (room, membership) = require_member(&state.reads(), viewer, room_id).await?;
    if room.kind == RoomKind::Group && Role::parse(&membership.role) == Role::Owner {
        let owners = store::member::count_role(&state.db, room_id, Role::Owner.as_str()).await?;
        let members = store::member::active_count(&state.db, room_id).await?;
        if owners == 1 && members > 1 {
            return Err(ApiError::Forbidden(
                "the last owner must make someone else owner before leaving".to_owned(),
            ));
        }
    }
    set_left(state, membership, None).await?;
    Ok(true)
}

/// Adds a user to a group room in `role` (member when omitted); owners and admins only.
/// Owners may add admins, admins add members; nobody adds an owner (`setMemberRole` hands
/// ownership over). Someone already in the room stays as they are when the role is theirs or
/// omitted; asking for another role is a CONFLICT (`setMemberRole` changes roles).
pub async fn add(
    state: &AppState,
    viewer: &Viewer,
    room_id: Uuid,
    user_id: Uuid,
    role: Option<Role>,
) -> ApiResult<room_members::Model> {
    let (room, membership) = require_member(&state.reads(), viewer, room_id).await?;
    let actor = Role::parse(&membership.role);
    actor.require_manager()?;
    if room.kind != RoomKind::Group {
        return Err(ApiError::bad_input(
            "roomId",
            "members are added to group rooms only",
        ));
    }
    match role {
        Some(Role::Owner) => {
            return Err(ApiError::Forbidden(
                "nobody is added as owner: add, then setMemberRole".to_owned(),
            ));
        }
        Some(Role::Admin) if actor != Role::Owner => {
            return Err(ApiError::Forbidden("only owners may add admins".to_owned()));
        }
        _ => {}
    }
    crate::service::user::by_id(state, user_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("user not found".to_owned()))?;
    if let Ok(existing) = active_member(&state.db, room_id, user_id).await {
        if role.is_some_and(|role| role != Role::parse(&existing.role)) {
            return Err(ApiError::Conflict(
                "already a member in another role: use setMemberRole".to_owned(),
            ));
        }
        return Ok(existing);
    }
    let member = admit_as(state, &room, user_id, role.unwrap_or(Role::Member)).await?;
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

/// Removes a member; room admins may remove members, owners anyone but themselves, server
/// administrators anyone in any group room (recorded in the audit log).
pub async fn remove(
    state: &AppState,
    viewer: &Viewer,
    room_id: Uuid,
    user_id: Uuid,
) -> ApiResult<bool> {
    let (room, actor) = match require_member(&state.reads(), viewer, room_id).await {
        Ok((room, membership)) => (room, Role::parse(&membership.role)),
        Err(ApiError::NotFound(why)) if viewer.is_admin() => {
            let room = rooms::Entity::find_by_id(room_id)
                .filter(rooms::Column::DeletedAt.is_null())
                .one(&state.db)
                .await?
                .ok_or(ApiError::NotFound(why))?;
            (room, Role::Member)
        }
        Err(err) => return Err(err),
    };
    // A server administrator acts as an owner would, and the audit log says so.
    let by_server_admin = viewer.is_admin() && actor != Role::Owner;
    let actor = if by_server_admin { Role::Owner } else { actor };
    actor.require_manager()?;
    if room.kind != RoomKind::Group {
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
    let audited = by_server_admin.then(|| Audit {
        kind: audit::kind::MEMBER_REMOVED,
        actor: Some(viewer.id()),
        target: Some(user_id),
        details: serde_json::json!({ "roomId": room_id }),
        ip: None,
    });
    set_left(state, target, audited).await?;
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
    let (room, membership) = require_member(&state.reads(), viewer, room_id).await?;
    let actor = Role::parse(&membership.role);
    actor.require_manager()?;
    if room.kind != RoomKind::Group {
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
        && store::member::count_role(&state.db, room_id, Role::Owner.as_str()).await? == 1
    {
        return Err(ApiError::Forbidden(
            "a room needs an owner: make another first".to_owned(),
        ));
    }
    let mut active: room_members::ActiveModel = target.into();
    active.role = Set(role.as_str().to_owned());
    Ok(active.update(&*state.writer().await).await?)
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

async fn set_left(
    state: &AppState,
    member: room_members::Model,
    audited: Option<Audit<'_>>,
) -> ApiResult<()> {
    let (room_id, user_id) = (member.room_id, member.user_id);
    let at = now();
    let txn = state.write_txn().await?;
    let mut active: room_members::ActiveModel = member.into();
    active.left_at = Set(Some(at));
    active.update(&*txn).await?;
    // The stint ends in the membership history, in the same write.
    store::stint::close(&*txn, room_id, user_id, at).await?;
    if let Some(event) = audited {
        audit::record(&*txn, event).await?;
    }
    txn.commit().await?;
    // Out of the room is out of its call: before `MemberLeft`, which ends the user's
    // `callEvents` subscriptions (whose end would make their sessions leave as disconnected).
    crate::service::call::session::leave_room(state, room_id, user_id).await?;
    state.publish(Topic::Room(room_id), Event::MemberLeft { room_id, user_id });
    Ok(())
}
