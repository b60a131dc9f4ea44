//! Account security: email verification with single-use expiring tokens, TOTP two-factor
//! sign-in, password changes that sign out every other session, and the lockout that bounds
//! password guesses (at sign-in and at a password change alike).

use chrono::Duration;
use entity::{sessions, users, verification_tokens};
use rand::RngCore;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
};
use totp_rs::{Builder, Secret, Totp};
use uuid::Uuid;

use crate::auth::{self, Viewer};
use crate::db::now;
use crate::error::{ApiError, ApiResult};
use crate::mail::Mail;
use crate::realtime::{Event, Topic};
use crate::service::audit::{self, Audit};
use crate::service::validate;
use crate::state::AppState;

pub const VERIFY_TTL_HOURS: i64 = 24;
const ISSUER: &str = "Confab";
/// How long an account (or an unknown login) stays locked after `limits.login_failures`
/// failed password or two-factor attempts.
pub const LOCKOUT: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// The failed-guess count of one account's own sessions: wrong current passwords at
/// `changePassword` and wrong codes or passwords at two-factor changes. Locked, these refuse
/// sign-in to the account too (a stolen session cannot guess its way in elsewhere). Guesses at
/// sign-in are counted by `super::login_guard` instead, per address, so that no stranger can
/// lock an owner out.
pub struct Lockout<'a> {
    state: &'a AppState,
    key: String,
}

impl<'a> Lockout<'a> {
    /// The lockout of `account` when the login names one, else of the `login` string.
    pub fn new(state: &'a AppState, account: Option<Uuid>, login: &str) -> Self {
        let key = match account {
            Some(id) => format!("login-failures:account:{id}"),
            None => format!("login-failures:login:{}", auth::hash_token(login)),
        };
        Self { state, key }
    }

    /// The lockout of an account.
    pub fn of_account(state: &'a AppState, account: Uuid) -> Self {
        Self::new(state, Some(account), "")
    }

    /// RATE_LIMITED (with the seconds left) while locked.
    pub async fn check(&self) -> ApiResult<()> {
        self.state
            .limiter
            .check(&self.key, self.state.config.limits.login_failures, LOCKOUT)
            .await
    }

    /// Counts one failed attempt.
    pub async fn failed(&self) {
        let _ = self.state.limiter.hit(&self.key, u32::MAX, LOCKOUT).await;
    }

    /// Forgets the failures (a success).
    pub async fn clear(&self) {
        self.state.limiter.reset(&self.key).await;
    }
}

/// Mails the caller a link to confirm their address. Already verified: nothing to do.
pub async fn request_email_verification(state: &AppState, viewer: &Viewer) -> ApiResult<bool> {
    if viewer.user.email_verified_at.is_some() {
        return Ok(true);
    }
    let token = auth::new_token();
    token_row(
        viewer.id(),
        "verify_email",
        auth::hash_token(&token),
        Duration::hours(VERIFY_TTL_HOURS),
    )
    .insert(&*state.writer().await)
    .await?;
    let link = state
        .config
        .mail
        .link(&format!("/confirm-email?token={token}"));
    state.mailer.send(Mail {
        to: viewer.user.email.clone(),
        subject: "Confirm your email address".to_owned(),
        body: format!(
            "Confirm your address here (the link works once, for {VERIFY_TTL_HOURS} hours):\n\
             {link}\n\n\
             Or with the API: mutation {{ verifyEmail(token: \"{token}\") {{ id }} }}"
        ),
    });
    Ok(true)
}

/// How recent a sign-in must be to stand in for the password of an account that has none.
pub const FRESH_SIGN_IN_MINUTES: i64 = 10;

/// Checks the caller's password (`field` names it in the error) under their [`Lockout`]:
/// BAD_USER_INPUT when wrong (counted), RATE_LIMITED while locked. The caller clears the
/// lockout when the whole operation succeeds. An account without a password (made through an
/// OpenID provider, [`auth::NO_PASSWORD`]) confirms with a fresh sign-in instead: the session
/// making the request was opened within [`FRESH_SIGN_IN_MINUTES`]; what `password` says is
/// then not looked at.
pub async fn confirm_password(
    state: &AppState,
    viewer: &Viewer,
    password: String,
    field: &'static str,
) -> ApiResult<()> {
    let lockout = Lockout::of_account(state, viewer.id());
    lockout.check().await?;
    if viewer.user.password_hash == auth::NO_PASSWORD {
        let fresh = sessions::Entity::find_by_id(viewer.session_id)
            .filter(
                sessions::Column::CreatedAt.gt(now() - Duration::minutes(FRESH_SIGN_IN_MINUTES)),
            )
            .one(&state.db)
            .await?
            .is_some();
        return if fresh {
            Ok(())
        } else {
            Err(ApiError::bad_input(
                field,
                format!(
                    "this account has no password: sign in again with your provider, then \
                     try within {FRESH_SIGN_IN_MINUTES} minutes"
                ),
            ))
        };
    }
    if !auth::verify_password(password, Some(viewer.user.password_hash.clone())).await? {
        lockout.failed().await;
        return Err(ApiError::bad_input(field, "wrong password"));
    }
    Ok(())
}

/// A new single-use token of `purpose` for `user_id` (only its hash is stored), valid for `ttl`.
pub fn token_row(
    user_id: Uuid,
    purpose: &str,
    token_hash: String,
    ttl: Duration,
) -> verification_tokens::ActiveModel {
    let at = now();
    verification_tokens::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        purpose: Set(purpose.to_owned()),
        token_hash: Set(token_hash),
        created_at: Set(at),
        expires_at: Set(at + ttl),
        used_at: Set(None),
    }
}

/// Confirms an address with a token from [`request_email_verification`]; each works once.
pub async fn verify_email(
    state: &AppState,
    token: &str,
    ip: Option<&str>,
) -> ApiResult<users::Model> {
    let invalid = || ApiError::bad_input("token", "invalid or expired token");
    let at = now();
    let txn = state.write_txn().await?;
    let row = verification_tokens::Entity::find()
        .filter(verification_tokens::Column::TokenHash.eq(auth::hash_token(token.trim())))
        .filter(verification_tokens::Column::Purpose.eq("verify_email"))
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
    let mut used: verification_tokens::ActiveModel = row.into();
    used.used_at = Set(Some(at));
    used.update(&*txn).await?;
    let mut verified: users::ActiveModel = user.into();
    verified.email_verified_at = Set(Some(at));
    verified.updated_at = Set(at);
    let user = verified.update(&*txn).await?;
    audit::record(
        &*txn,
        Audit {
            kind: audit::kind::EMAIL_VERIFIED,
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

fn totp(secret: impl Into<Secret>, account: &str) -> ApiResult<Totp> {
    Builder::new()
        .with_secret(secret)
        .with_issuer(Some(ISSUER))
        .with_account_name(account)
        .build()
        .map_err(|err| ApiError::internal(anyhow::anyhow!("totp: {err:?}")))
}

/// A fresh TOTP secret for the caller, pending until [`confirm_totp`] proves the app has it.
/// Returns (base32 secret, otpauth URI).
pub async fn enable_totp(state: &AppState, viewer: &Viewer) -> ApiResult<(String, String)> {
    if viewer.user.totp_enabled_at.is_some() {
        return Err(ApiError::Conflict(
            "two-factor sign-in is already on".to_owned(),
        ));
    }
    let mut bytes = vec![0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    let secret = Secret::from(bytes.clone()).to_base32();
    let uri = totp(bytes, &viewer.user.username)?
        .to_url()
        .map_err(|err| ApiError::internal(anyhow::anyhow!("totp url: {err:?}")))?;
    let mut user: users::ActiveModel = viewer.user.clone().into();
    user.totp_secret = Set(Some(secret.clone()));
    user.updated_at = Set(now());
    user.update(&*state.writer().await).await?;
    state.viewer_changed(viewer.id(), None);
    Ok((secret, uri))
}

/// Turns two-factor sign-in on once a current code from the pending secret checks out.
pub async fn confirm_totp(
    state: &AppState,
    viewer: &Viewer,
    code: &str,
    ip: Option<&str>,
) -> ApiResult<users::Model> {
    if viewer.user.totp_enabled_at.is_some() {
        return Err(ApiError::Conflict(
            "two-factor sign-in is already on".to_owned(),
        ));
    }
    let Some(secret) = viewer.user.totp_secret.as_deref() else {
        return Err(ApiError::bad_input("code", "call enableTotp first"));
    };
    let Some(step) = code_step(secret, &viewer.user.username, code)? else {
        return Err(ApiError::bad_input("code", "wrong or expired code"));
    };
    let mut user: users::ActiveModel = viewer.user.clone().into();
    user.totp_enabled_at = Set(Some(now()));
    // The confirming code counts as used: it cannot sign in afterwards.
    user.totp_last_step = Set(Some(step));
    user.updated_at = Set(now());
    let txn = state.write_txn().await?;
    let user = user.update(&*txn).await?;
    audit::record(
        &*txn,
        Audit {
            kind: audit::kind::TOTP_ENABLED,
            actor: Some(viewer.id()),
            target: Some(viewer.id()),
            details: serde_json::json!({}),
            ip,
        },
    )
    .await?;
    txn.commit().await?;
    state.viewer_changed(viewer.id(), None);
    Ok(user)
}

/// The time step `code` belongs to, if it is current for the base32 `secret` (one step of
/// clock skew allowed).
pub fn code_step(secret: &str, account: &str, code: &str) -> ApiResult<Option<i64>> {
    let secret = Secret::try_from_base32(secret)
        .map_err(|err| ApiError::internal(anyhow::anyhow!("stored totp secret: {err:?}")))?;
    Ok(totp(secret, account)?
        .check_current(code.trim())
        .and_then(|step| i64::try_from(step).ok()))
}

/// Records `step` as the user's last accepted code, unless a code of that step or a later one
/// was accepted before: false then. One conditional UPDATE, so of two sign-ins racing with the
/// same code only one gets it (RFC 6238, section 5.2: a code is accepted once).
pub async fn claim_code_step(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    step: i64,
) -> Result<bool, DbErr> {
    let claimed = users::Entity::update_many()
        .col_expr(users::Column::TotpLastStep, Expr::value(step))
        .filter(users::Column::Id.eq(user_id))
        .filter(
            Condition::any()
                .add(users::Column::TotpLastStep.is_null())
                .add(users::Column::TotpLastStep.lt(step)),
        )
        .exec(db)
        .await?;
    Ok(claimed.rows_affected == 1)
}

/// Changes the caller's password after checking the current one (under the account's
/// [`Lockout`]); every other session of the caller is revoked (and its sockets closed).
pub async fn change_password(
    state: &AppState,
    viewer: &Viewer,
    current: String,
    new: String,
    ip: Option<&str>,
) -> ApiResult<bool> {
    validate::password("newPassword", &new)?;
    // Wrong current passwords count like wrong passwords at sign-in: a stolen session cannot
    // guess its way to the password.
    confirm_password(state, viewer, current, "currentPassword").await?;
    Lockout::of_account(state, viewer.id()).clear().await;
    let hash = auth::hash_password(new).await?;
    let at = now();
    let txn = state.write_txn().await?;
    let mut user: users::ActiveModel = viewer.user.clone().into();
    user.password_hash = Set(hash);
    user.updated_at = Set(at);
    user.update(&*txn).await?;
    let others = sessions::Entity::find()
        .filter(sessions::Column::UserId.eq(viewer.id()))
        .filter(sessions::Column::Id.ne(viewer.session_id))
        .filter(sessions::Column::RevokedAt.is_null())
        .all(&*txn)
        .await?;
    sessions::Entity::update_many()
        .col_expr(
            sessions::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(at),
        )
        .filter(sessions::Column::Id.is_in(others.iter().map(|s| s.id)))
        .exec(&*txn)
        .await?;
    audit::record(
        &*txn,
        Audit {
            kind: audit::kind::PASSWORD_CHANGED,
            actor: Some(viewer.id()),
            target: Some(viewer.id()),
            details: serde_json::json!({ "sessionsRevoked": others.len() }),
            ip,
        },
    )
    .await?;
    txn.commit().await?;
    // Every session of the caller: theirs holds the old password hash.
    state.viewer_changed(viewer.id(), None);
    for session in others {
        state.publish(
            Topic::Session(session.id),
            Event::SessionRevoked {
                session_id: session.id,
            },
        );
    }
    Ok(true)
}
