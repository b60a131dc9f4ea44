//! Reading users in batches.

use entity::users;
use sea_orm::DbErr;
use uuid::Uuid;

use super::rows;
use crate::db::direct::Source;

/// Users by id, deleted or not (old messages keep their authors' names).
pub async fn many(db: &impl Source, ids: Vec<Uuid>) -> Result<Vec<users::Model>, DbErr> {
    rows::by_id(db, ids).await
}
