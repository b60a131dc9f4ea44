//! Uploads: a user's own (`myUploads`), a room's (`Room.blobs`), the one a reader sees of a
//! blob, and what still holds a blob's bytes when an upload is deleted.

use chrono::{DateTime, FixedOffset};
use entity::{blob_uploads, blobs};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, Order, QueryFilter,
    QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::sql::Sql;

/// A position in a list of uploads, newest first: `(created_at, blob_id, user_id)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadKey {
    pub at: DateTime<FixedOffset>,
    pub blob_id: String,
    pub user_id: Uuid,
}

/// An upload with its blob.
pub type Upload = (blob_uploads::Model, blobs::Model);

/// Up to `limit + 1` uploads (the probe tells whether more follow) of `user_id` or naming
/// `room_id`, newest first, after `after`.
pub async fn page(
    db: &impl ConnectionTrait,
    owner: Owner,
    after: Option<UploadKey>,
    limit: usize,
) -> Result<Vec<Upload>, DbErr> {
    use blob_uploads::Column as C;
    let mut query = blob_uploads::Entity::find().find_also_related(blobs::Entity);
    query = match owner {
        Owner::User(id) => query.filter(C::UserId.eq(id)),
        Owner::Room(id) => query.filter(C::RoomId.eq(id)),
    };
    if let Some(key) = after {
        // A row value: an index range from the cursor on, as `page::keyset` does.
        let row = Expr::tuple([
            C::CreatedAt.into_expr(),
            C::BlobId.into_expr(),
            C::UserId.into_expr(),
        ]);
        let at = Expr::tuple([
            Expr::val(key.at),
            Expr::val(key.blob_id),
            Expr::val(key.user_id),
        ]);
        query = query.filter(row.lt(at));
    }
    let rows = query
        .order_by(C::CreatedAt, Order::Desc)
        .order_by(C::BlobId, Order::Desc)
        .order_by(C::UserId, Order::Desc)
        .limit((limit + 1) as u64)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(upload, blob)| Some((upload, blob?)))
        .collect())
}

/// Whose uploads a [`page`] lists.
#[derive(Clone, Copy)]
pub enum Owner {
    User(Uuid),
    Room(Uuid),
}

/// The uploads of `blob_ids` that `user_id` may see: their own, and those naming a live room
/// they are an active member of.
pub async fn seen_by(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    blob_ids: &[String],
) -> Result<Vec<blob_uploads::Model>, DbErr> {
    if blob_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = Sql::new(
        "SELECT u.blob_id, u.user_id, u.created_at, u.filename, u.room_id FROM blob_uploads u \
         WHERE u.blob_id IN (",
    );
    query
        .list(blob_ids.iter().cloned())
        .push(") AND (u.user_id = ")
        .bind(user_id)
        .push(
            " OR u.room_id IN (SELECT rm.room_id FROM room_members rm \
             JOIN rooms r ON r.id = rm.room_id AND r.deleted_at IS NULL \
             WHERE rm.left_at IS NULL AND rm.user_id = ",
        )
        .bind(user_id)
        .push("))");
    blob_uploads::Model::find_by_statement(query.statement(db.get_database_backend()))
        .all(db)
        .await
}

#[derive(FromQueryResult)]
struct Found {
    found: i64,
}

async fn exists(db: &impl ConnectionTrait, query: Sql) -> Result<bool, DbErr> {
    let mut wrapped = Sql::new("SELECT CAST(CASE WHEN EXISTS (");
    wrapped
        .append(query)
        .push(") THEN 1 ELSE 0 END AS BIGINT) AS found");
    let row = Found::find_by_statement(wrapped.statement(db.get_database_backend()))
        .one(db)
        .await?;
    Ok(row.is_some_and(|r| r.found == 1))
}

/// Whether a message `user_id` sent (not deleted) has `blob_id` attached.
pub async fn attached_by(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    blob_id: &str,
) -> Result<bool, DbErr> {
    let mut query = Sql::new(
        "SELECT 1 FROM attachments a JOIN messages m ON m.id = a.message_id \
         AND m.deleted_at IS NULL WHERE a.blob_id = ",
    );
    query
        .bind(blob_id)
        .push(" AND m.sender_id = ")
        .bind(user_id);
    exists(db, query).await
}

/// Whether anything still holds `blob_id`: an upload, an attachment of a message that is not
/// deleted, an avatar.
pub async fn held(db: &impl ConnectionTrait, blob_id: &str) -> Result<bool, DbErr> {
    let mut query = Sql::new("SELECT 1 FROM blob_uploads WHERE blob_id = ");
    query
        .bind(blob_id)
        .push(
            " UNION ALL SELECT 1 FROM attachments a JOIN messages m ON m.id = a.message_id \
             AND m.deleted_at IS NULL WHERE a.blob_id = ",
        )
        .bind(blob_id)
        .push(" UNION ALL SELECT 1 FROM users WHERE avatar_blob_id = ")
        .bind(blob_id);
    exists(db, query).await
}

/// Locks the row of `blob_id` until the transaction ends (PostgreSQL; SQLite writes one at a
/// time), so an upload of the same bytes waits for a delete that may remove them.
pub async fn lock(db: &impl ConnectionTrait, blob_id: &str) -> Result<(), DbErr> {
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        blobs::Entity::find_by_id(blob_id.to_owned())
            .lock_exclusive()
            .one(db)
            .await?;
    }
    Ok(())
}
