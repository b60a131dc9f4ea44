//! Changes of the names an account is known by: the username (at once, under the same rules
//! as registration) and the email address (only once the new address confirms it, with a
//! single-use token mailed there).

use chrono::Duration;
use entity::{email_changes, users};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::auth::{self, Viewer};
use crate::db::now;
use crate::error::{ApiError, ApiResult};
use crate::mail::Mail;
use crate::service::audit::{self, Audit};
use crate::service::{security, validate};
use crate::state::AppState;

pub const EMAIL_CHANGE_TTL_HOURS: i64 = 24;
const EMAIL_TAKEN: &str = "email already taken";
const USERNAME_TAKEN: &str = "username already taken";

/// Renames the caller: 3-32 of a-z, 0-9 and _, CONFLICT when any account (deleted ones too,
/// as at registration) has the name.
pub async fn change_username(
    state: &AppState,
    viewer: &Viewer,
    new_username: &str,
) -> ApiResult<users::Model> {
    let username = validate::username("newUsername", new_username)?;
    if username == viewer.user.username {
        return Ok(viewer.user.clone());
    }
    if taken(&state.db, users::Column::Username, &username).await? {
        return Err(ApiError::Conflict(USERNAME_TAKEN.to_owned()));
    }
    let mut user: users::ActiveModel = viewer.user.clone().into();
    user.username = Set(username);
    user.updated_at = Set(now());
    let user = user
        .update(&*state.writer().await)
        .await
        .map_err(|err| conflict_or(err, USERNAME_TAKEN))?;
    state.viewer_changed(user.id, None);
    Ok(user)
}

/// Mails a confirmation token to `new_email` after checking the caller's password (under the
/// account's sign-in lockout). The address changes only at [`confirm_email_change`].
pub async fn change_email(
    state: &AppState,
    viewer: &Viewer,
    new_email: &str,
    password: String,
) -> ApiResult<bool> {
    let email = validate::email("newEmail", new_email)?;
    security::confirm_password(state, viewer, password, "password").await?;
    security::Lockout::of_account(state, viewer.id())
        .clear()
        .await;
    if email == viewer.user.email {
        return Err(ApiError::bad_input(
            "newEmail",
            "that is already your address",
        ));
    }
    if taken(&state.db, users::Column::Email, &email).await? {
        return Err(ApiError::Conflict(EMAIL_TAKEN.to_owned()));
    }
    let token = auth::new_token();
    let at = now();
    email_changes::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(viewer.id()),
        new_email: Set(email.clone()),
        token_hash: Set(auth::hash_token(&token)),
        created_at: Set(at),
        expires_at: Set(at + Duration::hours(EMAIL_CHANGE_TTL_HOURS)),
        used_at: Set(None),
    }
    .insert(&*state.writer().await)
    .await?;
    let link = state
        .config
        .mail
        .link(&format!("/confirm-email?token={token}"));
    state.mailer.send(Mail {
        to: email,
        subject: "Confirm your new Confab address".to_owned(),
        body: format!(
            "{username} asked to use this address for their Confab account.\n\n\
             Confirm it here (the link works once, for {EMAIL_CHANGE_TTL_HOURS} hours):\n{link}\n\n\
             Or with the API: mutation {{ confirmEmailChange(token: \"{token}\") {{ email }} }}\n\n\
             If this was not you, ignore this mail: nothing changes.",
            username = viewer.user.username,
        ),
    });
    Ok(true)
}

/// Switches the account to the address a [`change_email`] token was mailed to; the address
/// counts as verified (the token proves it receives mail). CONFLICT when another account
/// took the address meanwhile. Bad, expired and used tokens get one BAD_USER_INPUT.
pub async fn confirm_email_change(
    state: &AppState,
    token: &str,
    ip: Option<&str>,
) -> ApiResult<users::Model> {
    let invalid = || ApiError::bad_input("token", "invalid, expired or already used token");
    let at = now();
    let txn = state.write_txn().await?;
    let row = email_changes::Entity::find()
        .filter(email_changes::Column::TokenHash.eq(auth::hash_token(token.trim())))
        .filter(email_changes::Column::UsedAt.is_null())
        .filter(email_changes::Column::ExpiresAt.gt(at))
        .one(&*txn)
        .await?
        .ok_or_else(invalid)?;
    let user = users::Entity::find_by_id(row.user_id)
        .filter(users::Column::DeletedAt.is_null())
        .one(&*txn)
        .await?
        .ok_or_else(invalid)?;
    if taken(&*txn, users::Column::Email, &row.new_email).await? {
        return Err(ApiError::Conflict(EMAIL_TAKEN.to_owned()));
    }
    // This token and every other pending change of the account are used up.
    email_changes::Entity::update_many()
        .col_expr(email_changes::Column::UsedAt, Expr::value(at))
        .filter(email_changes::Column::UserId.eq(user.id))
        .filter(email_changes::Column::UsedAt.is_null())
        .exec(&*txn)
        .await?;
    let mut changed: users::ActiveModel = user.into();
    changed.email = Set(row.new_email);
    changed.email_verified_at = Set(Some(at));
    changed.updated_at = Set(at);
    let user = changed
        .update(&*txn)
        .await
        .map_err(|err| conflict_or(err, EMAIL_TAKEN))?;
    // Which addresses is in the mail history; the log says that it changed.
    audit::record(
        &*txn,
        Audit {
            kind: audit::kind::EMAIL_CHANGED,
            actor: Some(user.id),
            target: Some(user.id),
            details: serde_json::json!({}),
            ip,
        },
    )
    .await?;
    txn.commit().await?;
    state.viewer_changed(user.id, None);
    Ok(user)
}

async fn taken(db: &impl ConnectionTrait, column: users::Column, value: &str) -> ApiResult<bool> {
    Ok(users::Entity::find()
        .filter(column.eq(value))
        .one(db)
        .await?
        .is_some())
}

/// A unique violation that slipped past the check (two accounts racing for one name).
fn conflict_or(err: sea_orm::DbErr, message: &str) -> ApiError {
    match ApiError::from(err) {
        ApiError::Conflict(_) => ApiError::Conflict(message.to_owned()),
        other => other,
    }
}
