//! `deleteAccount`: a user leaves for good.
//!
//! After the password (checked under the account's sign-in lockout, as `changePassword` does),
//! one transaction: every session is revoked; every membership is left (a group room whose
//! only owner they were passes to its longest-standing admin, else its longest-standing
//! member; a room left empty is deleted as `deleteRoom` deletes it); the profile is erased
//! (display name, avatar, status, two-factor secret and recovery codes, contacts both ways,
//! pending tokens and email changes, notifications (theirs, and those others got from them:
//! contact requests, mentions, "added you"), key packages, connection logs); and the
//! `users` row stays as a tombstone so the messages they sent keep their sender: display name
//! "Deleted user", `deletedAt` set, no email shown. Its username becomes `deleted-<16 hex
//! digits>` (a shape registration never accepts) and its email a unique `.invalid` address,
//! so both are free again at once, and nobody can sign in as them: a login by the old name or
//! address is an unknown login. Their uploads stay until `--deleted-upload-days` have passed,
//! then maintenance removes them (and the bytes, when nothing else holds them:
//! `store::retention::uploads_of_deleted_users`).

use chrono::{DateTime, FixedOffset};
use entity::{
    connection_logs, contacts, email_changes, key_packages, notifications, recovery_codes,
    room_member_stints, room_members, rooms, sessions, users, verification_tokens,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::db::now;
use crate::error::{ApiError, ApiResult};
use crate::realtime::{Event, Topic};
use crate::service::audit::{self, Audit};
use crate::service::deletion::{self, Deleted};
use crate::service::membership::Role;
use crate::service::security::{self, Lockout};
use crate::state::AppState;
use crate::store::kinds::{RoomKind, UserRole};

/// The display name of a deleted account.
pub const DELETED_NAME: &str = "Deleted user";

/// Deletes the caller's account (see the module documentation). A wrong password is
/// BAD_USER_INPUT (`field: password`) and counts toward the account's lockout
/// (RATE_LIMITED); the last server administrator gets CONFLICT.
pub async fn delete_account(
    state: &AppState,
    viewer: &Viewer,
    password: String,
    ip: Option<&str>,
) -> ApiResult<bool> {
    security::confirm_password(state, viewer, password, "password").await?;
    Lockout::of_account(state, viewer.id()).clear().await;
    let me = viewer.id();
    let at = now();
    let txn = state.write_txn().await?;
    let user = users::Entity::find_by_id(me)
        .lock_exclusive()
        .one(&*txn)
        .await?
        .filter(|u| u.deleted_at.is_none())
        .ok_or_else(|| ApiError::Unauthenticated("the account is gone".to_owned()))?;
    if user.role == UserRole::Admin
        && users::Entity::find()
            .filter(users::Column::Role.eq(UserRole::Admin.as_str()))
            .filter(users::Column::DeletedAt.is_null())
            .count(&*txn)
            .await?
            < 2
    {
        return Err(ApiError::Conflict(
            "the last server administrator cannot delete their account: make another first"
                .to_owned(),
        ));
    }
    let sessions = revoke_sessions(&*txn, me, at).await?;
    let left = leave_rooms(&*txn, me, at).await?;
    erase(&*txn, user, at).await?;
    audit::record(
        &*txn,
        Audit {
            kind: audit::kind::ACCOUNT_DELETED,
            actor: Some(me),
            target: Some(me),
            details: serde_json::json!({
                "roomsLeft": left.rooms.len(),
                "roomsDeleted": left.deleted.len(),
                "ownershipPassed": left.handed_over,
                "sessionsRevoked": sessions.len(),
            }),
            ip,
        },
    )
    .await?;
    txn.commit().await?;

    state.viewer_changed(me, None);
    // Open sockets of these sessions close (4401 "session revoked") when they hear this.
    for session_id in sessions {
        state.publish(
            Topic::Session(session_id),
            Event::SessionRevoked { session_id },
        );
    }
    for room_id in left.rooms {
        // Out of the room is out of its call, before MemberLeft (as `leaveRoom` does).
        if let Err(err) = crate::service::call::session::leave_room(state, room_id, me).await {
            tracing::warn!(error = ?err, %room_id, "a deleted account's call session stayed");
        }
        state.publish(
            Topic::Room(room_id),
            Event::MemberLeft {
                room_id,
                user_id: me,
            },
        );
    }
    for deleted in left.deleted {
        deleted.announce(state);
    }
    tracing::info!(user_id = %me, "account deleted");
    Ok(true)
}

/// Revokes every live session of `user_id`; returns their ids.
async fn revoke_sessions(
    txn: &impl ConnectionTrait,
    user_id: Uuid,
    at: DateTime<FixedOffset>,
) -> ApiResult<Vec<Uuid>> {
    let ids: Vec<Uuid> = sessions::Entity::find()
        .select_only()
        .column(sessions::Column::Id)
        .filter(sessions::Column::UserId.eq(user_id))
        .filter(sessions::Column::RevokedAt.is_null())
        .into_tuple()
        .all(txn)
        .await?;
    sessions::Entity::update_many()
        .col_expr(sessions::Column::RevokedAt, Expr::value(at))
        .filter(sessions::Column::UserId.eq(user_id))
        .filter(sessions::Column::RevokedAt.is_null())
        .exec(txn)
        .await?;
    Ok(ids)
}

/// The rooms a deleted account left.
struct Left {
    /// Rooms that remain, where the others hear MemberLeft.
    rooms: Vec<Uuid>,
    /// Rooms left empty, deleted.
    deleted: Vec<Deleted>,
    /// Rooms whose ownership passed to someone else.
    handed_over: usize,
}

/// Ends every active membership of `user_id`, hands over rooms they alone owned and deletes
/// the rooms nobody is left in.
async fn leave_rooms(
    txn: &impl ConnectionTrait,
    user_id: Uuid,
    at: DateTime<FixedOffset>,
) -> ApiResult<Left> {
    let memberships = room_members::Entity::find()
        .find_also_related(rooms::Entity)
        .filter(room_members::Column::UserId.eq(user_id))
        .filter(room_members::Column::LeftAt.is_null())
        .all(txn)
        .await?;
    room_members::Entity::update_many()
        .col_expr(room_members::Column::LeftAt, Expr::value(at))
        .filter(room_members::Column::UserId.eq(user_id))
        .filter(room_members::Column::LeftAt.is_null())
        .exec(txn)
        .await?;
    room_member_stints::Entity::update_many()
        .col_expr(room_member_stints::Column::LeftAt, Expr::value(at))
        .filter(room_member_stints::Column::UserId.eq(user_id))
        .filter(room_member_stints::Column::LeftAt.is_null())
        .exec(txn)
        .await?;
    let mut left = Left {
        rooms: Vec::new(),
        deleted: Vec::new(),
        handed_over: 0,
    };
    for (membership, room) in memberships {
        let Some(room) = room.filter(|r| r.deleted_at.is_none()) else {
            continue;
        };
        // Who stays: owners first, then admins, then members, each longest-standing first.
        let mut others = room_members::Entity::find()
            .filter(room_members::Column::RoomId.eq(room.id))
            .filter(room_members::Column::LeftAt.is_null())
            .order_by_asc(room_members::Column::JoinedAt)
            .order_by_asc(room_members::Column::UserId)
            .all(txn)
            .await?;
        if others.is_empty() {
            if let Some(deleted) = deletion::purge(txn, room.id, at).await? {
                left.deleted.push(deleted);
            }
            continue;
        }
        left.rooms.push(room.id);
        if room.kind != RoomKind::Group || Role::parse(&membership.role) != Role::Owner {
            continue;
        }
        others.sort_by_key(|m| std::cmp::Reverse(Role::parse(&m.role)));
        let Some(heir) = others.into_iter().next() else {
            continue;
        };
        if Role::parse(&heir.role) != Role::Owner {
            let mut active: room_members::ActiveModel = heir.into();
            active.role = Set(Role::Owner.as_str().to_owned());
            active.update(txn).await?;
            left.handed_over += 1;
        }
    }
    Ok(left)
}

/// Erases what the account said about its person and keeps the row as a tombstone.
async fn erase(
    txn: &impl ConnectionTrait,
    user: users::Model,
    at: DateTime<FixedOffset>,
) -> ApiResult<()> {
    let id = user.id;
    recovery_codes::Entity::delete_many()
        .filter(recovery_codes::Column::UserId.eq(id))
        .exec(txn)
        .await?;
    contacts::Entity::delete_many()
        .filter(
            Condition::any()
                .add(contacts::Column::UserId.eq(id))
                .add(contacts::Column::ContactId.eq(id)),
        )
        .exec(txn)
        .await?;
    verification_tokens::Entity::delete_many()
        .filter(verification_tokens::Column::UserId.eq(id))
        .exec(txn)
        .await?;
    email_changes::Entity::delete_many()
        .filter(email_changes::Column::UserId.eq(id))
        .exec(txn)
        .await?;
    notifications::Entity::delete_many()
        .filter(notifications::Column::UserId.eq(id))
        .exec(txn)
        .await?;
    crate::store::purge::notifications_from(txn, id).await?;
    key_packages::Entity::delete_many()
        .filter(key_packages::Column::OwnerId.eq(id))
        .exec(txn)
        .await?;
    connection_logs::Entity::delete_many()
        .filter(connection_logs::Column::UserId.eq(id))
        .exec(txn)
        .await?;
    let hex = id.simple().to_string();
    let mut tombstone: users::ActiveModel = user.into();
    // The random end of the v7 id: unique in practice, and the unique index has the last word.
    tombstone.username = Set(format!("deleted-{}", &hex[16..]));
    tombstone.email = Set(format!("deleted-{hex}@deleted.invalid"));
    tombstone.display_name = Set(DELETED_NAME.to_owned());
    tombstone.password_hash = Set(String::new());
    tombstone.status = Set("offline".to_owned());
    tombstone.last_seen_at = Set(None);
    tombstone.email_verified_at = Set(None);
    tombstone.totp_secret = Set(None);
    tombstone.totp_enabled_at = Set(None);
    tombstone.totp_last_step = Set(None);
    tombstone.avatar_blob_id = Set(None);
    tombstone.updated_at = Set(at);
    tombstone.deleted_at = Set(Some(at));
    tombstone.update(txn).await?;
    Ok(())
}
