//! Password reset by mail: `requestPasswordReset` mails a single-use token valid an hour, and
//! answers the same for every address; `resetPassword` sets the new password with it and
//! signs the account out everywhere.

use chrono::Duration;
use entity::{sessions, users, verification_tokens};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
};
use uuid::Uuid;

use crate::auth::{self, ClientInfo};
use crate::db::now;
use crate::error::{ApiError, ApiResult};
use crate::mail::Mail;
use crate::realtime::{Event, Topic};
use crate::service::audit::{self, Audit};
use crate::service::{security, validate};
use crate::state::AppState;

pub const RESET_TTL_HOURS: i64 = 1;
const PURPOSE: &str = "reset_password";
const MINUTE: std::time::Duration = std::time::Duration::from_secs(60);
/// One answer for a token that is unknown, expired or used.
pub const BAD_TOKEN: &str = "invalid, expired or already used token";

/// Mails a reset link to the live account with this address, if there is one, and answers
/// `true` either way. Both paths do the same work on the request path (rate limit, token and
/// hash, one lookup); storing the token and queueing the mail happen after the answer, so
/// neither the answer nor its timing tells whether the address has an account.
pub async fn request_password_reset(
    state: &AppState,
    email: &str,
    client: &ClientInfo,
) -> ApiResult<bool> {
    limit(state, client).await?;
    let token = auth::new_token();
    let token_hash = auth::hash_token(&token);
    let email = email.trim().to_lowercase();
    if email.is_empty() || email.chars().any(char::is_control) {
        return Ok(true);
    }
    let user = users::Entity::find()
        .filter(users::Column::Email.eq(&email))
        .filter(users::Column::DeletedAt.is_null())
        .one(&state.db)
        .await?;
    if let Some(user) = user {
        let state = state.clone();
        tokio::spawn(async move {
            if let Err(err) = store_and_mail(&state, user, token, token_hash).await {
                tracing::error!(error = %err, "password reset token not stored");
            }
        });
    }
    Ok(true)
}

async fn store_and_mail(
    state: &AppState,
    user: users::Model,
    token: String,
    token_hash: String,
) -> Result<(), DbErr> {
    security::token_row(
        user.id,
        PURPOSE,
        token_hash,
        Duration::hours(RESET_TTL_HOURS),
    )
    .insert(&*state.writer().await)
    .await?;
    let link = state
        .config
        .mail
        .link(&format!("/reset-password?token={token}"));
    state.mailer.send(Mail {
        to: user.email,
        subject: "Reset your Confab password".to_owned(),
        body: format!(
            "Someone (hopefully you) asked to reset the password of {username}.\n\n\
             Choose a new password here (the link works once, for {RESET_TTL_HOURS} hour):\n\
             {link}\n\n\
             Or with the API: mutation {{ resetPassword(token: \"{token}\", newPassword: \"...\") }}\n\n\
             If you did not ask, ignore this mail: your password stays as it is.",
            username = user.username,
        ),
    });
    Ok(())
}

/// Sets a new password with a token from [`request_password_reset`]: the token (and any
/// other reset token of the account) is used up and every session of the account revoked,
/// in one transaction. Rate limited per client address like sign-in.
pub async fn reset_password(
    state: &AppState,
    token: &str,
    new_password: String,
    client: &ClientInfo,
) -> ApiResult<bool> {
    limit(state, client).await?;
    validate::password("newPassword", &new_password)?;
    let invalid = || ApiError::bad_input("token", BAD_TOKEN);
    let hash = auth::hash_password(new_password).await?;
    let at = now();
    let txn = state.write_txn().await?;
    let row = verification_tokens::Entity::find()
        .filter(verification_tokens::Column::TokenHash.eq(auth::hash_token(token.trim())))
        .filter(verification_tokens::Column::Purpose.eq(PURPOSE))
        .filter(verification_tokens::Column::UsedAt.is_null())
        .filter(verification_tokens::Column::ExpiresAt.gt(at))
        .one(&*txn)
        .await?
        .ok_or_else(invalid)?;
    let user = users::Entity::find_by_id(row.user_id)
        .filter(users::Column::DeletedAt.is_null())
        .one(&*txn)
        .await?
        .ok_or_else(invalid)?;
    // Every open reset token of the account is used up, this one included; of two resets
    // racing with the same token only one finds it unused.
    let used = verification_tokens::Entity::update_many()
        .col_expr(verification_tokens::Column::UsedAt, Expr::value(at))
        .filter(verification_tokens::Column::UserId.eq(user.id))
        .filter(verification_tokens::Column::Purpose.eq(PURPOSE))
        .filter(verification_tokens::Column::UsedAt.is_null())
        .exec(&*txn)
        .await?;
    if used.rows_affected == 0 {
        return Err(invalid());
    }
    let user_id = user.id;
    let mut changed: users::ActiveModel = user.into();
    changed.password_hash = Set(hash);
    changed.updated_at = Set(at);
    changed.update(&*txn).await?;
    let revoked = revoke_sessions(&*txn, user_id, None).await?;
    audit::record(
        &*txn,
        Audit {
            kind: audit::kind::PASSWORD_RESET,
            actor: Some(user_id),
            target: Some(user_id),
            details: serde_json::json!({ "sessionsRevoked": revoked.len() }),
            ip: client.ip.as_deref(),
        },
    )
    .await?;
    txn.commit().await?;
    security::Lockout::of_account(state, user_id).clear().await;
    announce_revoked(state, user_id, revoked);
    Ok(true)
}

/// Revokes every live session of the user but `except`, returning their ids.
pub async fn revoke_sessions(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    except: Option<Uuid>,
) -> Result<Vec<Uuid>, DbErr> {
    let mut live = sessions::Entity::find()
        .filter(sessions::Column::UserId.eq(user_id))
        .filter(sessions::Column::RevokedAt.is_null());
    if let Some(id) = except {
        live = live.filter(sessions::Column::Id.ne(id));
    }
    let ids: Vec<Uuid> = live.all(db).await?.into_iter().map(|s| s.id).collect();
    sessions::Entity::update_many()
        .col_expr(sessions::Column::RevokedAt, Expr::value(now()))
        .filter(sessions::Column::Id.is_in(ids.iter().copied()))
        .exec(db)
        .await?;
    Ok(ids)
}

/// After the commit: cached viewers forgotten, the sessions' sockets told to close.
pub fn announce_revoked(state: &AppState, user_id: Uuid, sessions: Vec<Uuid>) {
    state.viewer_changed(user_id, None);
    for session_id in sessions {
        state.publish(
            Topic::Session(session_id),
            Event::SessionRevoked { session_id },
        );
    }
}

async fn limit(state: &AppState, client: &ClientInfo) -> ApiResult<()> {
    state
        .limiter
        .hit(
            &format!("password-reset:{}", client.ip.as_deref().unwrap_or("-")),
            state.config.limits.login_per_minute,
            MINUTE,
        )
        .await
}
