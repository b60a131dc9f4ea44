//! Two-factor recovery: ten one-time recovery codes that stand in for a TOTP code at sign-in
//! (each once, counted by the same lockout as wrong TOTP codes), and turning two-factor off
//! with the password and a current code or a recovery code. Every change is audited.

use entity::{recovery_codes, users};
use rand::RngCore;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::auth::{self, Viewer};
use crate::db::now;
use crate::error::{ApiError, ApiResult};
use crate::service::audit::{self, Audit, kind};
use crate::service::security::{self, Lockout};
use crate::state::AppState;

/// Recovery codes made at a time.
pub const CODES: usize = 10;

/// A fresh code: 10 characters of a-z2-7 (50 bits) as `xxxxx-xxxxx`.
fn new_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut bytes = [0u8; 10];
    rand::rng().fill_bytes(&mut bytes);
    let chars: String = bytes
        .iter()
        .map(|b| ALPHABET[(*b & 31) as usize] as char)
        .collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

/// The stored form of a code as typed: case, spaces and dashes do not matter.
fn code_hash(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    auth::hash_token(&normal)
}

/// Checks the caller's password under their lockout, not clearing it: a right password
/// with wrong codes keeps counting.
async fn check_password(state: &AppState, viewer: &Viewer, password: String) -> ApiResult<()> {
    security::confirm_password(state, viewer, password, "password").await
}

/// Ten new recovery codes for the caller (two-factor must be on), replacing earlier ones.
/// Shown this once; only their hashes are kept.
pub async fn regenerate(
    state: &AppState,
    viewer: &Viewer,
    password: String,
    ip: Option<&str>,
) -> ApiResult<Vec<String>> {
    if viewer.user.totp_enabled_at.is_none() {
        return Err(ApiError::Conflict(
            "turn two-factor sign-in on first".to_owned(),
        ));
    }
    check_password(state, viewer, password).await?;
    let codes: Vec<String> = (0..CODES).map(|_| new_code()).collect();
    let at = now();
    let txn = state.write_txn().await?;
    recovery_codes::Entity::delete_many()
        .filter(recovery_codes::Column::UserId.eq(viewer.id()))
        .exec(&*txn)
        .await?;
    recovery_codes::Entity::insert_many(codes.iter().map(|code| recovery_codes::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(viewer.id()),
        code_hash: Set(code_hash(code)),
        used_at: Set(None),
        created_at: Set(at),
    }))
    .exec(&*txn)
    .await?;
    audit::record(
        &*txn,
        Audit {
            kind: kind::RECOVERY_CODES_REGENERATED,
            actor: Some(viewer.id()),
            target: Some(viewer.id()),
            details: json!({ "codes": CODES }),
            ip,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(codes)
}

/// Uses one of the user's recovery codes: true if it was theirs and unused, and it is used
/// now. One conditional UPDATE, so two sign-ins racing with one code cannot both have it.
pub async fn claim(db: &impl ConnectionTrait, user_id: Uuid, code: &str) -> Result<bool, DbErr> {
    let done = recovery_codes::Entity::update_many()
        .col_expr(recovery_codes::Column::UsedAt, Expr::value(now()))
        .filter(recovery_codes::Column::UserId.eq(user_id))
        .filter(recovery_codes::Column::CodeHash.eq(code_hash(code)))
        .filter(recovery_codes::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Turns two-factor sign-in off, with the password and a current TOTP code or an unused
/// recovery code (wrong ones count against the account's lockout). Recovery codes go too.
pub async fn disable(
    state: &AppState,
    viewer: &Viewer,
    password: String,
    code: &str,
    ip: Option<&str>,
) -> ApiResult<users::Model> {
    let Some(secret) = viewer
        .user
        .totp_secret
        .as_deref()
        .filter(|_| viewer.user.totp_enabled_at.is_some())
    else {
        return Err(ApiError::Conflict("two-factor sign-in is off".to_owned()));
    };
    check_password(state, viewer, password).await?;
    let lockout = Lockout::of_account(state, viewer.id());
    let txn = state.write_txn().await?;
    let accepted = match security::code_step(secret, &viewer.user.username, code)? {
        Some(step) => security::claim_code_step(&*txn, viewer.id(), step).await?,
        None => claim(&*txn, viewer.id(), code).await?,
    };
    if !accepted {
        drop(txn);
        lockout.failed().await;
        return Err(ApiError::bad_input("code", "wrong, expired or used code"));
    }
    let mut user: users::ActiveModel = viewer.user.clone().into();
    user.totp_secret = Set(None);
    user.totp_enabled_at = Set(None);
    user.totp_last_step = Set(None);
    user.updated_at = Set(now());
    let user = user.update(&*txn).await?;
    recovery_codes::Entity::delete_many()
        .filter(recovery_codes::Column::UserId.eq(viewer.id()))
        .exec(&*txn)
        .await?;
    audit::record(
        &*txn,
        Audit {
            kind: kind::TOTP_DISABLED,
            actor: Some(viewer.id()),
            target: Some(viewer.id()),
            details: json!({}),
            ip,
        },
    )
    .await?;
    txn.commit().await?;
    lockout.clear().await;
    state.viewer_changed(viewer.id(), None);
    Ok(user)
}
