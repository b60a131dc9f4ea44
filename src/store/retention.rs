//! Retention: what the maintenance worker deletes or erases once it is old enough.

use chrono::Duration;
use entity::{
    audit_events, connection_logs, email_changes, key_packages, messages, oidc_logins, sessions,
    verification_tokens,
};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use crate::db::now;

/// Deletes expired packages and those consumed more than a week ago; returns how many.
pub async fn expired_key_packages(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    let at = now();
    let done = key_packages::Entity::delete_many()
        .filter(
            Condition::any()
                .add(key_packages::Column::ExpiresAt.lte(at))
                .add(key_packages::Column::ConsumedAt.lt(at - Duration::days(7))),
        )
        .exec(db)
        .await?;
    Ok(done.rows_affected)
}

/// Deletes logs older than `days`; returns how many.
pub async fn old_connection_logs(db: &impl ConnectionTrait, days: i64) -> Result<u64, DbErr> {
    let done = connection_logs::Entity::delete_many()
        .filter(connection_logs::Column::CreatedAt.lt(now() - Duration::days(days)))
        .exec(db)
        .await?;
    Ok(done.rows_affected)
}

/// Erases the kept text of messages deleted more than `days` days ago; returns how many.
pub async fn deleted_message_texts(db: &impl ConnectionTrait, days: i64) -> Result<u64, DbErr> {
    let cutoff = now() - Duration::days(days.max(0));
    let done = messages::Entity::update_many()
        .col_expr(messages::Column::Body, Expr::value(Option::<String>::None))
        .filter(messages::Column::DeletedAt.lt(cutoff))
        .filter(messages::Column::Body.is_not_null())
        .exec(db)
        .await?;
    Ok(done.rows_affected)
}

/// Deletes sessions past their expiry and those revoked more than a day ago (a revoked token
/// is refused either way); returns how many.
pub async fn dead_sessions(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    let at = now();
    let done = sessions::Entity::delete_many()
        .filter(
            Condition::any()
                .add(sessions::Column::ExpiresAt.lte(at))
                .add(sessions::Column::RevokedAt.lt(at - Duration::days(1))),
        )
        .exec(db)
        .await?;
    Ok(done.rows_affected)
}

/// Deletes verification tokens and email changes that were used or have expired, and OpenID
/// sign-ins that expired before they came back (used ones are deleted when used); returns how
/// many.
pub async fn spent_tokens(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    let at = now();
    let tokens = verification_tokens::Entity::delete_many()
        .filter(
            Condition::any()
                .add(verification_tokens::Column::UsedAt.is_not_null())
                .add(verification_tokens::Column::ExpiresAt.lte(at)),
        )
        .exec(db)
        .await?;
    let changes = email_changes::Entity::delete_many()
        .filter(
            Condition::any()
                .add(email_changes::Column::UsedAt.is_not_null())
                .add(email_changes::Column::ExpiresAt.lte(at)),
        )
        .exec(db)
        .await?;
    let logins = oidc_logins::Entity::delete_many()
        .filter(oidc_logins::Column::ExpiresAt.lte(at))
        .exec(db)
        .await?;
    Ok(tokens.rows_affected + changes.rows_affected + logins.rows_affected)
}

/// Deletes audit rows older than `days`; returns how many.
pub async fn old_audit_events(db: &impl ConnectionTrait, days: i64) -> Result<u64, DbErr> {
    let done = audit_events::Entity::delete_many()
        .filter(audit_events::Column::CreatedAt.lt(now() - Duration::days(days.max(0))))
        .exec(db)
        .await?;
    Ok(done.rows_affected)
}
