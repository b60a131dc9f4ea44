//! Accounts and sessions: register, sign in and out, list and revoke sessions.

use entity::{sessions, users};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use crate::auth::{self, ClientInfo, Viewer};
use crate::db::now;
use crate::error::{ApiError, ApiResult};
use crate::realtime::{Event, Topic};
use crate::service::audit::{self, Audit};
use crate::service::login_guard::LoginGuard;
use crate::service::{moderation, security, two_factor, validate};
use crate::state::AppState;
use crate::store::kinds::UserRole;

pub struct RegisterInput {
    pub username: String,
    pub email: String,
    pub password: String,
    pub display_name: Option<String>,
}

pub struct LoginInput {
    pub login: String,
    pub password: String,
    /// Required when the account has two-factor sign-in on (or `recovery_code`).
    pub totp_code: Option<String>,
    /// A one-time recovery code in place of `totp_code`.
    pub recovery_code: Option<String>,
}

/// A new session: the token is returned here once and never again.
pub struct SignedIn {
    pub token: String,
    pub user: users::Model,
    pub session: sessions::Model,
}

const BAD_CREDENTIALS: &str = "unknown login or wrong password";
const MINUTE: std::time::Duration = std::time::Duration::from_secs(60);

/// Creates a user (role `user`, choosing to appear `online` when connected) and signs them in,
/// in one transaction.
pub async fn register(
    state: &AppState,
    input: RegisterInput,
    client: ClientInfo,
) -> ApiResult<SignedIn> {
    let limits = &state.config.limits;
    state
        .limiter
        .hit(
            &format!("register:{}", client.ip.as_deref().unwrap_or("-")),
            limits.register_per_minute,
            MINUTE,
        )
        .await?;
    // Every field is checked, and every bad one reported at once.
    let mut problems = Vec::new();
    let username = validate::username("username", &input.username)
        .map_err(|err| problems.push(err))
        .ok();
    let email = validate::email("email", &input.email)
        .map_err(|err| problems.push(err))
        .ok();
    if let Err(err) = validate::password("password", &input.password) {
        problems.push(err);
    }
    let display_name = match input.display_name.as_deref() {
        Some(name) => validate::display_name("displayName", name)
            .map_err(|err| problems.push(err))
            .ok(),
        None => username.clone(),
    };
    if let Some(problem) = ApiError::all(problems) {
        return Err(problem);
    }
    let (Some(username), Some(email), Some(display_name)) = (username, email, display_name) else {
        return Err(ApiError::internal(anyhow::anyhow!(
            "register: a check failed silently"
        )));
    };
    ensure_free(state, users::Column::Username, &username, "username").await?;
    ensure_free(state, users::Column::Email, &email, "email").await?;
    let password_hash = auth::hash_password(input.password).await?;

    let now = now();
    let txn = state.write_txn().await?;
    let user = users::ActiveModel {
        id: Set(Uuid::now_v7()),
        username: Set(username),
        email: Set(email),
        display_name: Set(display_name),
        password_hash: Set(password_hash),
        role: Set(UserRole::User.as_str().to_owned()),
        status: Set("online".to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&*txn)
    .await
    .map_err(|err| conflict_or(err, "username or email already taken"))?;
    let (token, session) = open_session(state, &*txn, user.id, client).await?;
    txn.commit().await?;
    Ok(SignedIn {
        token,
        user,
        session,
    })
}

/// Signs in by username or email. Unknown users, deleted users and wrong passwords get the
/// same answer after the same amount of work. Failures count against the account the login
/// names, however it is spelled (username or email), or against the login itself when it
/// names no account, so known and unknown logins lock the same way.
pub async fn login(state: &AppState, input: LoginInput, client: ClientInfo) -> ApiResult<SignedIn> {
    let limits = &state.config.limits;
    let ip_key = format!("login-ip:{}", client.ip.as_deref().unwrap_or("-"));
    state
        .limiter
        .hit(&ip_key, limits.login_per_minute, MINUTE)
        .await?;
    let login = input.login.trim().to_lowercase();
    let user = find_by_login(state, &login).await?;
    let known = user.as_ref().map(|u| u.id);
    // Guesses are stopped per address and slowed per account, never so that a stranger
    // locks the owner out (`login_guard`).
    let lockout = LoginGuard::new(state, known, &login, client.ip.as_deref());
    lockout.check().await?;
    // The account's own session guessing its password (`changePassword`) locks sign-in too.
    if let Some(id) = known {
        security::Lockout::of_account(state, id).check().await?;
    }
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let verified = auth::verify_password(input.password, hash).await?;
    let Some(user) = user.filter(|_| verified) else {
        lockout.failed().await;
        // Known and unknown logins alike: the same write, so timing tells nothing.
        failed_login(state, known, "password", &client).await?;
        return Err(ApiError::Unauthenticated(BAD_CREDENTIALS.to_owned()));
    };
    // Only after the password: a ban is nobody else's business.
    moderation::refuse_banned(&user)?;
    // A recovery code stands in for the TOTP code (when no TOTP code is sent).
    let recovery = input
        .recovery_code
        .as_deref()
        .filter(|_| user.totp_enabled_at.is_some() && input.totp_code.is_none());
    let step = if user.totp_enabled_at.is_some() && recovery.is_none() {
        let secret = user.totp_secret.as_deref().unwrap_or_default();
        let Some(code) = input.totp_code.as_deref() else {
            return Err(ApiError::Unauthenticated(
                "two-factor code required: send totpCode or recoveryCode".to_owned(),
            ));
        };
        let Some(step) = security::code_step(secret, &user.username, code)? else {
            lockout.failed().await;
            failed_login(state, Some(user.id), "totp", &client).await?;
            return Err(ApiError::Unauthenticated(BAD_CREDENTIALS.to_owned()));
        };
        Some(step)
    } else {
        None
    };
    let writer = state.writer().await;
    if let Some(step) = step
        && !security::claim_code_step(&*writer, user.id, step).await?
    {
        lockout.failed().await;
        return Err(ApiError::Unauthenticated(
            "two-factor code already used: wait for the next one".to_owned(),
        ));
    }
    if let Some(code) = recovery
        && !two_factor::claim(&*writer, user.id, code).await?
    {
        drop(writer);
        lockout.failed().await;
        failed_login(state, Some(user.id), "recovery_code", &client).await?;
        return Err(ApiError::Unauthenticated(BAD_CREDENTIALS.to_owned()));
    }
    lockout.succeeded().await;
    security::Lockout::of_account(state, user.id).clear().await;
    let (token, session) = open_session(state, &*writer, user.id, client).await?;
    Ok(SignedIn {
        token,
        user,
        session,
    })
}

/// Records a failed sign-in in the audit log (`account` None: the login names no account).
async fn failed_login(
    state: &AppState,
    account: Option<Uuid>,
    factor: &str,
    client: &ClientInfo,
) -> ApiResult<()> {
    audit::record(
        &*state.writer().await,
        Audit {
            kind: audit::kind::LOGIN_FAILED,
            actor: None,
            target: account,
            details: serde_json::json!({ "factor": factor }),
            ip: client.ip.as_deref(),
        },
    )
    .await
}

/// The live account a (trimmed, lowercase) login names: an email when it has an `@`, else a
/// username. A login no account could have (control characters) is looked up nowhere.
async fn find_by_login(state: &AppState, login: &str) -> ApiResult<Option<users::Model>> {
    if login.is_empty() || login.chars().any(char::is_control) {
        return Ok(None);
    }
    let column = if login.contains('@') {
        users::Column::Email
    } else {
        users::Column::Username
    };
    Ok(users::Entity::find()
        .filter(column.eq(login))
        .filter(users::Column::DeletedAt.is_null())
        .one(&state.db)
        .await?)
}

/// Revokes the caller's own session.
pub async fn logout(state: &AppState, viewer: &Viewer, ip: Option<&str>) -> ApiResult<bool> {
    revoke(state, viewer, viewer.session_id, ip).await
}

/// Revokes one of the caller's sessions; another user's session is NOT_FOUND.
pub async fn revoke(
    state: &AppState,
    viewer: &Viewer,
    session_id: Uuid,
    ip: Option<&str>,
) -> ApiResult<bool> {
    let session = sessions::Entity::find_by_id(session_id)
        .filter(sessions::Column::UserId.eq(viewer.id()))
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::NotFound("session not found".to_owned()))?;
    if session.revoked_at.is_none() {
        let mut active: sessions::ActiveModel = session.into();
        active.revoked_at = Set(Some(now()));
        let txn = state.write_txn().await?;
        active.update(&*txn).await?;
        audit::record(
            &*txn,
            Audit {
                kind: audit::kind::SESSION_REVOKED,
                actor: Some(viewer.id()),
                target: Some(viewer.id()),
                details: serde_json::json!({ "sessionId": session_id }),
                ip,
            },
        )
        .await?;
        txn.commit().await?;
        state.viewer_changed(viewer.id(), Some(session_id));
        // Open sockets of the session close when they hear this.
        state.publish(
            Topic::Session(session_id),
            Event::SessionRevoked { session_id },
        );
    }
    Ok(true)
}

/// The caller's live sessions, newest first.
pub async fn sessions(state: &AppState, viewer: &Viewer) -> ApiResult<Vec<sessions::Model>> {
    Ok(sessions::Entity::find()
        .filter(sessions::Column::UserId.eq(viewer.id()))
        .filter(sessions::Column::RevokedAt.is_null())
        .filter(sessions::Column::ExpiresAt.gt(now()))
        .order_by_desc(sessions::Column::CreatedAt)
        .order_by_desc(sessions::Column::Id)
        .all(&state.db)
        .await?)
}

pub(crate) async fn open_session(
    state: &AppState,
    db: &impl sea_orm::ConnectionTrait,
    user_id: Uuid,
    client: ClientInfo,
) -> ApiResult<(String, sessions::Model)> {
    let token = auth::new_token();
    let now = now();
    let session = sessions::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        token_hash: Set(auth::hash_token(&token)),
        user_agent: Set(client.user_agent.as_deref().map(user_agent)),
        ip: Set(client.ip),
        created_at: Set(now),
        last_active_at: Set(now),
        expires_at: Set(now + state.config.auth.session_ttl()),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok((token, session))
}

/// A User-Agent as stored with a session: control characters (a NUL would not even fit a
/// PostgreSQL text column) dropped, at most 512 characters.
fn user_agent(raw: &str) -> String {
    raw.chars().filter(|c| !c.is_control()).take(512).collect()
}

async fn ensure_free(
    state: &AppState,
    column: users::Column,
    value: &str,
    field: &str,
) -> ApiResult<()> {
    let taken = users::Entity::find()
        .filter(column.eq(value))
        .one(&state.db)
        .await?
        .is_some();
    if taken {
        Err(ApiError::Conflict(format!("{field} already taken")))
    } else {
        Ok(())
    }
}

/// A unique violation that slipped past the pre-checks (two concurrent registrations).
fn conflict_or(err: sea_orm::DbErr, message: &str) -> ApiError {
    match ApiError::from(err) {
        ApiError::Conflict(_) => ApiError::Conflict(message.to_owned()),
        other => other,
    }
}
