//! Blob rows: recording one, which of some blobs a user may read, and bytes stored.

use entity::blobs;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, FromQueryResult, Set};
use uuid::Uuid;

use super::sql::Sql;

#[derive(FromQueryResult)]
struct Found {
    id: String,
}

/// The blobs of `ids` that `user_id` uploaded, that are attached to a message (not deleted)
/// in a room they belong to, or that someone uploaded for a live room they belong to.
pub async fn readable(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    ids: &[String],
) -> Result<Vec<String>, DbErr> {
    let mut query = Sql::new("SELECT blob_id AS id FROM blob_uploads WHERE user_id = ");
    query
        .bind(user_id)
        .push(" AND blob_id IN (")
        .list(ids.iter().cloned())
        .push(
            ") UNION SELECT a.blob_id AS id FROM attachments a \
             JOIN messages m ON m.id = a.message_id AND m.deleted_at IS NULL \
             JOIN room_members rm ON rm.room_id = m.room_id AND rm.user_id = ",
        )
        .bind(user_id)
        .push(" AND rm.left_at IS NULL WHERE a.blob_id IN (")
        .list(ids.iter().cloned())
        .push(
            ") UNION SELECT u.blob_id AS id FROM blob_uploads u \
             JOIN rooms r ON r.id = u.room_id AND r.deleted_at IS NULL \
             JOIN room_members rm ON rm.room_id = u.room_id AND rm.user_id = ",
        )
        .bind(user_id)
        .push(" AND rm.left_at IS NULL WHERE u.blob_id IN (")
        .list(ids.iter().cloned())
        .push(")");
    let rows = Found::find_by_statement(query.statement(db.get_database_backend()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

#[derive(FromQueryResult)]
struct Total {
    total: Option<i64>,
}

async fn total(db: &impl ConnectionTrait, query: Sql) -> Result<i64, DbErr> {
    let row = Total::find_by_statement(query.statement(db.get_database_backend()))
        .one(db)
        .await?;
    Ok(row.and_then(|r| r.total).unwrap_or(0))
}

/// Bytes of the distinct blobs `user_id` uploaded.
pub async fn bytes_uploaded_by(db: &impl ConnectionTrait, user_id: Uuid) -> Result<i64, DbErr> {
    let mut query = Sql::new(
        "SELECT CAST(SUM(b.size) AS BIGINT) AS total \
         FROM blob_uploads u JOIN blobs b ON b.id = u.blob_id WHERE u.user_id = ",
    );
    query.bind(user_id);
    total(db, query).await
}

/// Bytes of all stored blobs.
pub async fn bytes_stored(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    total(
        db,
        Sql::new("SELECT CAST(SUM(size) AS BIGINT) AS total FROM blobs"),
    )
    .await
}

/// Records the blob `id` (its bytes already in the store) unless it is recorded: content
/// addressing makes a second record of the same id the same blob.
pub async fn record(
    db: &impl ConnectionTrait,
    id: &str,
    size: i64,
    mime: &str,
    uploader: Uuid,
    at: chrono::DateTime<chrono::FixedOffset>,
) -> Result<(), DbErr> {
    let row = blobs::ActiveModel {
        id: Set(id.to_owned()),
        size: Set(size),
        mime_type: Set(mime.to_owned()),
        uploader_id: Set(Some(uploader)),
        created_at: Set(at),
    };
    let inserted = blobs::Entity::insert(row)
        .on_conflict(
            OnConflict::column(blobs::Column::Id)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await;
    match inserted {
        Ok(_) | Err(DbErr::RecordNotInserted) => Ok(()),
        Err(err) => Err(err),
    }
}
