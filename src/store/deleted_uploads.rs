//! What maintenance removes of the files deleted accounts and rooms leave behind
//! (`workers::maintenance::deleted_uploads`): a deleted account's uploads once the retention
//! period has passed, and blobs nothing refers to any more.

use chrono::Duration;
use entity::{attachments, blob_uploads, blobs, users};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::sql::Sql;
use crate::db::now;

/// Most uploads of deleted accounts one maintenance round removes.
pub const PER_ROUND: u64 = 500;

/// Uploads of accounts deleted more than `days` days ago (at most [`PER_ROUND`]): deletes
/// those upload rows and, of their blobs, the rows of those nothing holds any more (no other
/// upload, attachment of a live message or avatar; attachments of deleted messages that still
/// name them go too). Returns the ids of the blobs deleted: the caller removes their bytes
/// before it commits (as `deleteUpload` does).
pub async fn remove(db: &impl ConnectionTrait, days: i64) -> Result<Vec<String>, DbErr> {
    let cutoff = now() - Duration::days(days.max(0));
    let deleted_users = Query::select()
        .column(users::Column::Id)
        .from(users::Entity)
        .and_where(users::Column::DeletedAt.lt(cutoff))
        .to_owned();
    let uploads: Vec<(String, Uuid)> = blob_uploads::Entity::find()
        .select_only()
        .column(blob_uploads::Column::BlobId)
        .column(blob_uploads::Column::UserId)
        .filter(blob_uploads::Column::UserId.in_subquery(deleted_users))
        .limit(PER_ROUND)
        .into_tuple()
        .all(db)
        .await?;
    let mut freed = Vec::new();
    for (blob_id, user_id) in uploads {
        // An upload of the same bytes waits for this transaction, then writes them again.
        super::upload::lock(db, &blob_id).await?;
        blob_uploads::Entity::delete_by_id((blob_id.clone(), user_id))
            .exec(db)
            .await?;
        if super::upload::held(db, &blob_id).await? {
            continue;
        }
        attachments::Entity::delete_many()
            .filter(attachments::Column::BlobId.eq(blob_id.as_str()))
            .exec(db)
            .await?;
        blobs::Entity::delete_by_id(blob_id.clone())
            .exec(db)
            .await?;
        freed.push(blob_id);
    }
    Ok(freed)
}

/// Blobs nothing refers to any more (no upload, no attachment, no avatar), such as those only a
/// deleted room's messages carried, at most [`PER_ROUND`]: deletes their rows and returns
/// their ids, whose bytes the caller removes before it commits.
pub async fn unreferenced(db: &impl ConnectionTrait) -> Result<Vec<String>, DbErr> {
    const NONE_REFER: &str = "NOT EXISTS (SELECT 1 FROM blob_uploads u WHERE u.blob_id = b.id) \
         AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.blob_id = b.id) \
         AND b.id NOT IN (SELECT avatar_blob_id FROM users WHERE avatar_blob_id IS NOT NULL)";
    let backend = db.get_database_backend();
    let mut query = Sql::new("SELECT b.id FROM blobs b WHERE ");
    query.push(NONE_REFER).push(&format!(" LIMIT {PER_ROUND}"));
    let candidates: Vec<String> = db
        .query_all_raw(query.statement(backend))
        .await?
        .iter()
        .map(|row| row.try_get::<String>("", "id"))
        .collect::<Result<_, _>>()?;
    let mut freed = Vec::new();
    for id in candidates {
        // Locked, then checked again: an upload of the same bytes committed meanwhile keeps it.
        super::upload::lock(db, &id).await?;
        let mut delete =
            Sql::new("DELETE FROM blobs WHERE id IN (SELECT b.id FROM blobs b WHERE b.id = ");
        delete
            .bind(id.clone())
            .push(" AND ")
            .push(NONE_REFER)
            .push(")");
        if db
            .execute_raw(delete.statement(backend))
            .await?
            .rows_affected()
            == 1
        {
            freed.push(id);
        }
    }
    Ok(freed)
}
