//! Reading users in batches.

use entity::users;
use sea_orm::DbErr;
use uuid::Uuid;

use super::rows::{self, Positional as _};
use super::sql::Sql;
use crate::db::direct::Source;

/// Users by id, deleted or not (old messages keep their authors' names).
pub async fn many(db: &impl Source, ids: Vec<Uuid>) -> Result<Vec<users::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = Sql::new("SELECT ");
    query
        .push(&rows::columns::<users::Model>("u"))
        .push(" FROM users u WHERE u.id IN (")
        .list(ids)
        .push(")");
    rows::fetch(db, query, |row| users::Model::read(row, 0)).await
}
