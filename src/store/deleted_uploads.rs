//! The uploads a deleted account leaves behind, removed by maintenance once the retention
//! period has passed (`workers::maintenance::deleted_uploads`).

use chrono::Duration;
use entity::{attachments, blob_uploads, blobs, users};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

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
