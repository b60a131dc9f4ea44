//! What a verified identity does to accounts: sign in the user it is linked to, create an
//! account on a first sign-in, or link it to the signed-in user. Never by email: a verified
//! address already used by another account is left out of the new account (it gets a
//! placeholder), and nothing is ever merged.

use entity::{oidc_identities, users};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::Identity;
use crate::auth::{self, ClientInfo, Viewer};
use crate::config::OidcProviderConfig;
use crate::db::now;
use crate::error::{ApiError, ApiResult};
use crate::service::account::{SignedIn, open_session};
use crate::service::audit::{self, Audit};
use crate::service::{moderation, validate};
use crate::state::AppState;
use crate::store::kinds::UserRole;

/// The domain of the placeholder address of an account the provider gave no usable email
/// for: `.invalid` is reserved (RFC 2606), so nothing is ever delivered there.
pub const PLACEHOLDER_DOMAIN: &str = "oidc.invalid";
const RACED: &str = "this identity was just signed in elsewhere: try again";

/// Signs in the user linked to `identity`, creating the account on its first sign-in.
pub async fn sign_in(
    state: &AppState,
    provider: &OidcProviderConfig,
    identity: Identity,
    client: ClientInfo,
) -> ApiResult<SignedIn> {
    let Some(link) = linked(state, &identity).await? else {
        return create(state, provider, identity, None, client).await;
    };
    let user = super::user(state, link.user_id).await?;
    if user.deleted_at.is_some() {
        // Its account left for good (deleteAccount keeps a tombstone row): the identity is
        // free again, and signs in to a new account.
        return create(state, provider, identity, Some(link.id), client).await;
    }
    existing(state, link, user, client).await
}

async fn linked(
    state: &AppState,
    identity: &Identity,
) -> ApiResult<Option<oidc_identities::Model>> {
    Ok(oidc_identities::Entity::find()
        .filter(oidc_identities::Column::Provider.eq(&identity.provider))
        .filter(oidc_identities::Column::Subject.eq(&identity.subject))
        .one(&state.db)
        .await?)
}

async fn existing(
    state: &AppState,
    link: oidc_identities::Model,
    user: users::Model,
    client: ClientInfo,
) -> ApiResult<SignedIn> {
    // As `login` does: a banned account gets its coded answer and no session.
    moderation::refuse_banned(&user)?;
    let txn = state.write_txn().await?;
    oidc_identities::Entity::update_many()
        .col_expr(oidc_identities::Column::LastLoginAt, Expr::value(now()))
        .filter(oidc_identities::Column::Id.eq(link.id))
        .exec(&*txn)
        .await?;
    let ip = client.ip.clone();
    let (token, session) = open_session(state, &*txn, user.id, client).await?;
    record_sign_in(&*txn, &link, user.id, false, ip.as_deref()).await?;
    txn.commit().await?;
    Ok(SignedIn {
        token,
        user,
        session,
    })
}

async fn create(
    state: &AppState,
    provider: &OidcProviderConfig,
    identity: Identity,
    stale_link: Option<Uuid>,
    client: ClientInfo,
) -> ApiResult<SignedIn> {
    let username = free_username(state, &identity).await?;
    let email = verified_free_email(state, &identity).await?;
    let display_name = identity
        .name
        .as_deref()
        .and_then(|name| validate::display_name("displayName", name).ok())
        .unwrap_or_else(|| username.clone());
    // No password: `login` with one fails the ordinary way. A fresh sign-in through the
    // provider stands in for it where one is asked for (`security::confirm_password`), e.g.
    // to set one with `changePassword`.
    let password_hash = auth::NO_PASSWORD.to_owned();
    let at = now();
    let id = Uuid::now_v7();
    let (email, verified_at) = match email {
        Some(email) => (email, Some(at)),
        None => (format!("{}@{PLACEHOLDER_DOMAIN}", id.simple()), None),
    };
    let txn = state.write_txn().await?;
    if let Some(stale) = stale_link {
        oidc_identities::Entity::delete_by_id(stale)
            .exec(&*txn)
            .await?;
    }
    let user = users::ActiveModel {
        id: Set(id),
        username: Set(username),
        email: Set(email),
        display_name: Set(display_name),
        password_hash: Set(password_hash),
        role: Set(UserRole::User.as_str().to_owned()),
        status: Set("online".to_owned()),
        email_verified_at: Set(verified_at),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(&*txn)
    .await
    .map_err(raced)?;
    let link = insert_link(&*txn, &identity, user.id).await?;
    let ip = client.ip.clone();
    let (token, session) = open_session(state, &*txn, user.id, client).await?;
    record_sign_in(&*txn, &link, user.id, true, ip.as_deref()).await?;
    txn.commit().await?;
    tracing::info!(provider = %provider.name, user = %user.id, "account created by OIDC sign-in");
    Ok(SignedIn {
        token,
        user,
        session,
    })
}

/// Links `identity` to the viewer; CONFLICT when another account has it.
pub async fn link(
    state: &AppState,
    viewer: &Viewer,
    identity: Identity,
    client: &ClientInfo,
) -> ApiResult<users::Model> {
    let mut stale = None;
    if let Some(link) = linked(state, &identity).await? {
        if link.user_id == viewer.id() {
            return super::user(state, viewer.id()).await;
        }
        if super::user(state, link.user_id).await?.deleted_at.is_none() {
            return Err(ApiError::Conflict(
                "this identity is linked to another account".to_owned(),
            ));
        }
        // Linked to an account that left for good: free again.
        stale = Some(link.id);
    }
    let txn = state.write_txn().await?;
    if let Some(stale) = stale {
        oidc_identities::Entity::delete_by_id(stale)
            .exec(&*txn)
            .await?;
    }
    let link = insert_link(&*txn, &identity, viewer.id()).await?;
    audit::record(
        &*txn,
        Audit {
            kind: audit::kind::OIDC_LINKED,
            actor: Some(viewer.id()),
            target: Some(viewer.id()),
            details: serde_json::json!({ "provider": link.provider, "subject": link.subject }),
            ip: client.ip.as_deref(),
        },
    )
    .await?;
    txn.commit().await?;
    super::user(state, viewer.id()).await
}

async fn insert_link(
    db: &impl sea_orm::ConnectionTrait,
    identity: &Identity,
    user_id: Uuid,
) -> ApiResult<oidc_identities::Model> {
    let at = now();
    oidc_identities::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        provider: Set(identity.provider.clone()),
        subject: Set(identity.subject.clone()),
        email: Set(identity.email.clone().filter(|e| e.len() <= 320)),
        created_at: Set(at),
        last_login_at: Set(at),
    }
    .insert(db)
    .await
    .map_err(raced)
}

async fn record_sign_in(
    db: &impl sea_orm::ConnectionTrait,
    link: &oidc_identities::Model,
    user_id: Uuid,
    created: bool,
    ip: Option<&str>,
) -> ApiResult<()> {
    audit::record(
        db,
        Audit {
            kind: audit::kind::OIDC_LOGIN,
            actor: Some(user_id),
            target: Some(user_id),
            details: serde_json::json!({
                "provider": link.provider,
                "subject": link.subject,
                "created": created,
            }),
            ip,
        },
    )
    .await
}

/// A unique violation here means a concurrent sign-in of the same identity (or a name taken
/// in between): CONFLICT, and the transaction rolls back.
fn raced(err: sea_orm::DbErr) -> ApiError {
    match ApiError::from(err) {
        ApiError::Conflict(_) => ApiError::Conflict(RACED.to_owned()),
        other => other,
    }
}

/// A username from `preferred_username` or the email's local part, in the registration
/// alphabet, made unique with a suffix (deleted accounts' names count as taken, as at
/// registration).
async fn free_username(state: &AppState, identity: &Identity) -> ApiResult<String> {
    let base = base_username(identity);
    let mut candidates: Vec<String> = vec![base.clone()];
    candidates.extend((2..10).map(|n| format!("{base}_{n}")));
    for candidate in candidates {
        if !taken(state, users::Column::Username, &candidate).await? {
            return Ok(candidate);
        }
    }
    // Crowded: a random suffix (the unique index still has the last word).
    Ok(format!(
        "{base}_{}",
        &Uuid::now_v7().simple().to_string()[20..26]
    ))
}

fn base_username(identity: &Identity) -> String {
    let raw = identity
        .preferred_username
        .as_deref()
        .or_else(|| identity.email.as_deref().and_then(|e| e.split('@').next()))
        .unwrap_or("user");
    let mut name: String = raw
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '_' => c,
            _ => '_',
        })
        .take(24)
        .collect();
    if name.trim_matches('_').is_empty() {
        name = "user".to_owned();
    }
    while name.chars().count() < 3 {
        name.push('_');
    }
    name
}

/// The token's email when the provider says it is verified, it is a valid address and no
/// account (deleted ones included) has it; None otherwise.
async fn verified_free_email(state: &AppState, identity: &Identity) -> ApiResult<Option<String>> {
    let Some(email) = identity
        .email
        .as_deref()
        .filter(|_| identity.email_verified)
    else {
        return Ok(None);
    };
    let Ok(email) = validate::email("email", email) else {
        return Ok(None);
    };
    if taken(state, users::Column::Email, &email).await? {
        return Ok(None);
    }
    Ok(Some(email))
}

async fn taken(state: &AppState, column: users::Column, value: &str) -> ApiResult<bool> {
    Ok(users::Entity::find()
        .filter(column.eq(value))
        .one(&state.db)
        .await?
        .is_some())
}

#[cfg(test)]
mod tests {
    use super::{Identity, base_username};

    fn identity(preferred: Option<&str>, email: Option<&str>) -> Identity {
        Identity {
            provider: "p".to_owned(),
            subject: "s".to_owned(),
            email: email.map(str::to_owned),
            email_verified: true,
            preferred_username: preferred.map(str::to_owned),
            name: None,
        }
    }

    #[test]
    fn usernames_fit_the_registration_rules() {
        assert_eq!(base_username(&identity(Some("Alice"), None)), "alice");
        assert_eq!(
            base_username(&identity(None, Some("j.doe@x.test"))),
            "j_doe"
        );
        assert_eq!(base_username(&identity(Some("é"), None)), "user");
        assert_eq!(base_username(&identity(Some("al"), None)), "al_");
        assert_eq!(base_username(&identity(None, None)), "user");
        assert_eq!(
            base_username(&identity(Some(&"x".repeat(40)), None)).len(),
            24
        );
    }
}
