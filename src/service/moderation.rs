//! Server administration of accounts: roles and bans (administrators only), every action
//! written to the audit log in the transaction of the change.
//!
//! A ban revokes every session of the user at once (their sockets close with 4403 "banned",
//! see `http::ws`), refuses sign-in with FORBIDDEN `reason: "BANNED"` until it ends, and ends
//! by itself at `banned_until` (null: permanent); nothing has to run for it to end.

use chrono::{DateTime, Utc};
use entity::{sessions, users};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::auth::Viewer;
use crate::db::now;
use crate::error::{ApiError, ApiResult};
use crate::realtime::{Event, Topic};
use crate::service::admin::require_admin;
use crate::service::audit::{self, Audit, kind};
use crate::state::AppState;
use crate::store::kinds::UserRole;

/// The longest ban reason kept.
pub const MAX_REASON: usize = 500;

/// `Some(until)` while `user` is banned (`until` None: permanent), else None.
pub fn ban_of(user: &users::Model) -> Option<Option<DateTime<Utc>>> {
    user.banned_at?;
    match user.banned_until {
        None => Some(None),
        Some(until) if until.to_utc() > Utc::now() => Some(Some(until.to_utc())),
        Some(_) => None,
    }
}

/// FORBIDDEN (reason BANNED, with the end of the ban) while `user` is banned.
pub fn refuse_banned(user: &users::Model) -> ApiResult<()> {
    match ban_of(user) {
        Some(until) => Err(ApiError::Banned { until }),
        None => Ok(()),
    }
}

async fn target(db: &impl ConnectionTrait, user_id: Uuid) -> ApiResult<users::Model> {
    users::Entity::find_by_id(user_id)
        .filter(users::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound("user not found".to_owned()))
}

/// Sets a user's server role. Demoting the last administrator is CONFLICT.
pub async fn set_role(
    state: &AppState,
    viewer: &Viewer,
    user_id: Uuid,
    role: UserRole,
    ip: Option<&str>,
) -> ApiResult<users::Model> {
    require_admin(viewer)?;
    let txn = state.write_txn().await?;
    let user = target(&*txn, user_id).await?;
    let before = UserRole::parse(&user.role);
    if before == role {
        return Ok(user);
    }
    if before == UserRole::Admin {
        // The administrators' rows locked (PostgreSQL; SQLite writes one at a time anyway):
        // of two administrators demoting each other at once, the second sees one left.
        let admins = users::Entity::find()
            .filter(users::Column::Role.eq(UserRole::Admin.as_str()))
            .filter(users::Column::DeletedAt.is_null())
            .lock_exclusive()
            .all(&*txn)
            .await?
            .len();
        if admins <= 1 {
            return Err(ApiError::Conflict(
                "the last administrator cannot be demoted".to_owned(),
            ));
        }
    }
    let mut active: users::ActiveModel = user.into();
    active.role = Set(role.as_str().to_owned());
    active.updated_at = Set(now());
    let user = active.update(&*txn).await?;
    audit::record(
        &*txn,
        Audit {
            kind: kind::ROLE_CHANGED,
            actor: Some(viewer.id()),
            target: Some(user_id),
            details: json!({ "from": before.as_str(), "to": role.as_str() }),
            ip,
        },
    )
    .await?;
    txn.commit().await?;
    state.viewer_changed(user_id, None);
    Ok(user)
}

/// Bans a user until `until` (None: permanently), revoking every session of theirs.
pub async fn ban(
    state: &AppState,
    viewer: &Viewer,
    user_id: Uuid,
    reason: &str,
    until: Option<DateTime<Utc>>,
    ip: Option<&str>,
) -> ApiResult<users::Model> {
    require_admin(viewer)?;
    let reason = reason.trim();
    if reason.is_empty()
        || reason.chars().count() > MAX_REASON
        || reason.chars().any(char::is_control)
    {
        return Err(ApiError::bad_input(
            "reason",
            format!("1-{MAX_REASON} characters, no control characters"),
        ));
    }
    if until.is_some_and(|until| until <= Utc::now()) {
        return Err(ApiError::bad_input("until", "must be in the future"));
    }
    if user_id == viewer.id() {
        return Err(ApiError::bad_input("userId", "you cannot ban yourself"));
    }
    let at = now();
    let txn = state.write_txn().await?;
    let user = target(&*txn, user_id).await?;
    let mut active: users::ActiveModel = user.into();
    active.banned_at = Set(Some(at));
    active.banned_until = Set(until.map(|until| until.fixed_offset()));
    active.ban_reason = Set(Some(reason.to_owned()));
    active.updated_at = Set(at);
    let user = active.update(&*txn).await?;
    let revoked = revoke_all(&*txn, user_id, at).await?;
    audit::record(
        &*txn,
        Audit {
            kind: kind::USER_BANNED,
            actor: Some(viewer.id()),
            target: Some(user_id),
            details: json!({
                "reason": reason,
                "until": until.map(|until| until.to_rfc3339()),
                "sessionsRevoked": revoked.len(),
            }),
            ip,
        },
    )
    .await?;
    txn.commit().await?;
    state.viewer_changed(user_id, None);
    // Open sockets of these sessions close (4403 "banned") when they hear this.
    for session_id in revoked {
        state.publish(
            Topic::Session(session_id),
            Event::SessionRevoked { session_id },
        );
    }
    Ok(user)
}

/// Ends a user's ban (a user who is not banned: nothing changes, nothing is recorded).
pub async fn unban(
    state: &AppState,
    viewer: &Viewer,
    user_id: Uuid,
    ip: Option<&str>,
) -> ApiResult<users::Model> {
    require_admin(viewer)?;
    let txn = state.write_txn().await?;
    let user = target(&*txn, user_id).await?;
    if user.banned_at.is_none() {
        return Ok(user);
    }
    let mut active: users::ActiveModel = user.into();
    active.banned_at = Set(None);
    active.banned_until = Set(None);
    active.ban_reason = Set(None);
    active.updated_at = Set(now());
    let user = active.update(&*txn).await?;
    audit::record(
        &*txn,
        Audit {
            kind: kind::USER_UNBANNED,
            actor: Some(viewer.id()),
            target: Some(user_id),
            details: json!({}),
            ip,
        },
    )
    .await?;
    txn.commit().await?;
    state.viewer_changed(user_id, None);
    Ok(user)
}

/// Revokes every live session of a user; returns their ids.
async fn revoke_all(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    at: chrono::DateTime<chrono::FixedOffset>,
) -> ApiResult<Vec<Uuid>> {
    let ids: Vec<Uuid> = sessions::Entity::find()
        .filter(sessions::Column::UserId.eq(user_id))
        .filter(sessions::Column::RevokedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    if !ids.is_empty() {
        sessions::Entity::update_many()
            .col_expr(sessions::Column::RevokedAt, Expr::value(at))
            .filter(sessions::Column::Id.is_in(ids.iter().copied()))
            .exec(db)
            .await?;
    }
    Ok(ids)
}
