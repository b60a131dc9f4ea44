//! MLS key packages: handing one out exactly once.

use entity::key_packages;
use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, FromQueryResult};
use uuid::Uuid;

use super::sql::Sql;
use crate::db::now;

/// Marks `owner`'s oldest unexpired package for `cipher_suite` consumed by `claimer` and
/// returns it, in one statement (row-locked with SKIP LOCKED on PostgreSQL; SQLite runs
/// writes one at a time), so concurrent claims never get the same package.
pub async fn claim(
    db: &impl ConnectionTrait,
    claimer: Uuid,
    owner: Uuid,
    cipher_suite: i32,
) -> Result<Option<key_packages::Model>, DbErr> {
    let backend = db.get_database_backend();
    let at = now();
    let mut query = Sql::new("UPDATE key_packages SET consumed_at = ");
    query
        .bind(at)
        .push(", consumed_by = ")
        .bind(claimer)
        .push(" WHERE id = (SELECT id FROM key_packages WHERE owner_id = ")
        .bind(owner)
        .push(" AND cipher_suite = ")
        .bind(cipher_suite)
        .push(" AND consumed_at IS NULL AND expires_at > ")
        .bind(at)
        .push(" ORDER BY created_at, id LIMIT 1");
    if backend == DatabaseBackend::Postgres {
        query.push(" FOR UPDATE SKIP LOCKED");
    }
    query.push(") RETURNING *");
    key_packages::Model::find_by_statement(query.statement(backend))
        .one(db)
        .await
}
