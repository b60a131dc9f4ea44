//! The audit log: one `audit_events` row per administrator action and security event, written
//! on the connection (or transaction) of the change it records, so a change and its record
//! commit together. Administrators read every row (`auditLog`); a user reads the rows about
//! their own account (`mySecurityEvents`). Rows are purged by age (`--audit-retention-days`).

use entity::audit_events;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::Value;
use uuid::Uuid;

use crate::auth::Viewer;
use crate::db::now;
use crate::error::{ApiError, ApiResult};
use crate::service::admin::require_admin;
use crate::state::AppState;
use crate::store::page::{Page, Slice, keyset};

/// The longest `details` kept (JSON text); longer details are cut to a note saying so.
pub const MAX_DETAILS: usize = 2_000;

/// What an audit row records.
pub mod kind {
    pub const LOGIN_FAILED: &str = "login_failed";
    pub const PASSWORD_CHANGED: &str = "password_changed";
    /// `resetPassword` with a mailed token.
    pub const PASSWORD_RESET: &str = "password_reset";
    /// `confirmEmailChange`: the account's address changed.
    pub const EMAIL_CHANGED: &str = "email_changed";
    /// `verifyEmail`: the account's address was confirmed.
    pub const EMAIL_VERIFIED: &str = "email_verified";
    pub const TOTP_ENABLED: &str = "totp_enabled";
    pub const TOTP_DISABLED: &str = "totp_disabled";
    pub const RECOVERY_CODES_REGENERATED: &str = "recovery_codes_regenerated";
    pub const SESSION_REVOKED: &str = "session_revoked";
    pub const USER_BANNED: &str = "user_banned";
    pub const USER_UNBANNED: &str = "user_unbanned";
    pub const ROLE_CHANGED: &str = "role_changed";
    pub const MESSAGE_DELETED: &str = "message_deleted";
    pub const MEMBER_REMOVED: &str = "member_removed";
    /// `deleteRoom`, by an owner or a server administrator.
    pub const ROOM_DELETED: &str = "room_deleted";
    /// `deleteAccount`: the account was erased (its row stays as a tombstone).
    pub const ACCOUNT_DELETED: &str = "account_deleted";
    /// `completeOidcLogin`: signed in with an OpenID provider (`created`: a new account).
    pub const OIDC_LOGIN: &str = "oidc_login";
    /// `linkOidcAccount`: a provider's identity now signs in this account.
    pub const OIDC_LINKED: &str = "oidc_linked";
    /// Every kind, for validating `auditLog(kind:)`.
    pub const ALL: [&str; 18] = [
        LOGIN_FAILED,
        PASSWORD_CHANGED,
        PASSWORD_RESET,
        EMAIL_CHANGED,
        EMAIL_VERIFIED,
        TOTP_ENABLED,
        TOTP_DISABLED,
        RECOVERY_CODES_REGENERATED,
        SESSION_REVOKED,
        USER_BANNED,
        USER_UNBANNED,
        ROLE_CHANGED,
        MESSAGE_DELETED,
        MEMBER_REMOVED,
        ROOM_DELETED,
        ACCOUNT_DELETED,
        OIDC_LOGIN,
        OIDC_LINKED,
    ];
}

/// One event to record.
pub struct Audit<'a> {
    pub kind: &'static str,
    pub actor: Option<Uuid>,
    pub target: Option<Uuid>,
    pub details: Value,
    pub ip: Option<&'a str>,
}

/// Writes `event` on `db` (pass the transaction of the change it records).
pub async fn record(db: &impl ConnectionTrait, event: Audit<'_>) -> ApiResult<()> {
    let mut details = event.details.to_string();
    if details.len() > MAX_DETAILS {
        details = serde_json::json!({ "truncated": true }).to_string();
    }
    audit_events::ActiveModel {
        id: Set(Uuid::now_v7()),
        kind: Set(event.kind.to_owned()),
        actor_user_id: Set(event.actor),
        target_user_id: Set(event.target),
        details: Set(details),
        ip: Set(event.ip.map(|ip| ip.chars().take(64).collect::<String>())),
        created_at: Set(now()),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Every audit row, newest first, optionally about one user and of one kind; administrators
/// only.
pub async fn log(
    state: &AppState,
    viewer: &Viewer,
    page: Page,
    user_id: Option<Uuid>,
    kind: Option<&str>,
) -> ApiResult<Slice<audit_events::Model>> {
    require_admin(viewer)?;
    let mut query = audit_events::Entity::find();
    if let Some(user_id) = user_id {
        query = query.filter(audit_events::Column::TargetUserId.eq(user_id));
    }
    if let Some(kind) = kind {
        if !kind::ALL.contains(&kind) {
            return Err(ApiError::bad_input("kind", "unknown audit event kind"));
        }
        query = query.filter(audit_events::Column::Kind.eq(kind));
    }
    page_of(state, query, page).await
}

/// The audit rows about the caller's own account, newest first.
pub async fn mine(
    state: &AppState,
    viewer: &Viewer,
    page: Page,
) -> ApiResult<Slice<audit_events::Model>> {
    let query =
        audit_events::Entity::find().filter(audit_events::Column::TargetUserId.eq(viewer.id()));
    page_of(state, query, page).await
}

async fn page_of(
    state: &AppState,
    query: sea_orm::Select<audit_events::Entity>,
    page: Page,
) -> ApiResult<Slice<audit_events::Model>> {
    let rows = keyset(
        query,
        audit_events::Column::CreatedAt,
        audit_events::Column::Id,
        page,
        true,
    )
    .all(&state.db)
    .await?;
    Ok(Slice::from_probe(page, rows))
}
