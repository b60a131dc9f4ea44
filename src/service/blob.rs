//! Blobs: content-addressed uploads (id = sha256 of the bytes, stored once however often
//! uploaded), type sniffed from the bytes against an allow-list, and who may read them: their
//! uploaders and the members of rooms where they are attached.

use entity::{attachments, blob_uploads, blobs};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::now;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store;

/// Most attachments on one message.
pub const ATTACHMENTS_MAX: usize = 10;

/// Stores an upload for `uploader`; returns the blob row.
pub async fn upload(state: &AppState, uploader: Uuid, bytes: Vec<u8>) -> ApiResult<blobs::Model> {
    state
        .limiter
        .hit(
            &format!("upload:{uploader}"),
            state.config.limits.uploads_per_minute,
            std::time::Duration::from_secs(60),
        )
        .await?;
    let limits = &state.config.blobs;
    if bytes.is_empty() {
        return Err(ApiError::bad_input("file", "the file is empty"));
    }
    if bytes.len() > limits.max_bytes {
        return Err(ApiError::bad_input(
            "file",
            format!("files are at most {} bytes", limits.max_bytes),
        ));
    }
    let mime = infer::get(&bytes)
        .map(|t| t.mime_type())
        .unwrap_or("application/octet-stream");
    if !limits.mime_types.iter().any(|allowed| allowed == mime) {
        return Err(ApiError::bad_input(
            "file",
            format!(
                "files of type {mime} are not accepted (allowed: {})",
                limits.mime_types.join(", ")
            ),
        ));
    }
    let id = hex::encode(Sha256::digest(&bytes));
    let size = bytes.len() as i64;
    let store = state.blobs.clone();
    let key = id.clone();
    tokio::task::spawn_blocking(move || store.put(&key, &bytes))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;

    let at = now();
    let txn = state.write_txn().await?;
    ignore_duplicate(
        blobs::Entity::insert(blobs::ActiveModel {
            id: Set(id.clone()),
            size: Set(size),
            mime_type: Set(mime.to_owned()),
            uploader_id: Set(Some(uploader)),
            created_at: Set(at),
        })
        .on_conflict(
            OnConflict::column(blobs::Column::Id)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&*txn)
        .await,
    )?;
    ignore_duplicate(
        blob_uploads::Entity::insert(blob_uploads::ActiveModel {
            blob_id: Set(id.clone()),
            user_id: Set(uploader),
            created_at: Set(at),
        })
        .on_conflict(
            OnConflict::columns([blob_uploads::Column::BlobId, blob_uploads::Column::UserId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&*txn)
        .await,
    )?;
    let blob = blobs::Entity::find_by_id(id)
        .one(&*txn)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("blob row vanished")))?;
    txn.commit().await?;
    Ok(blob)
}

fn ignore_duplicate<T>(result: Result<T, DbErr>) -> ApiResult<()> {
    match result {
        Ok(_) | Err(DbErr::RecordNotInserted) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// Whether `id` has the shape of a blob id (64 lowercase hex digits, a sha256). Ids of any
/// other shape name no blob and are never sent to the database.
pub fn is_blob_id(id: &str) -> bool {
    id.len() == 64
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether `user_id` uploaded the blob `id` themselves (content-addressed: the same bytes
/// uploaded by two users are one blob with two uploaders).
pub async fn uploaded_by(db: &impl ConnectionTrait, user_id: Uuid, id: &str) -> ApiResult<bool> {
    if !is_blob_id(id) {
        return Ok(false);
    }
    Ok(blob_uploads::Entity::find_by_id((id.to_owned(), user_id))
        .one(db)
        .await?
        .is_some())
}

/// The blobs of `ids` that `user_id` may read: uploaded by them, or attached to a message
/// (not deleted) in a room they belong to.
pub async fn readable(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    ids: &[String],
) -> ApiResult<Vec<String>> {
    let ids: Vec<String> = ids.iter().filter(|id| is_blob_id(id)).cloned().collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(store::blob::readable(db, user_id, &ids).await?)
}

/// A blob `user_id` may read, or None (missing and forbidden look the same).
pub async fn get(state: &AppState, user_id: Uuid, id: &str) -> ApiResult<Option<blobs::Model>> {
    if readable(&state.db, user_id, &[id.to_owned()])
        .await?
        .is_empty()
    {
        return Ok(None);
    }
    Ok(blobs::Entity::find_by_id(id.to_owned())
        .one(&state.db)
        .await?)
}

/// Bytes of the distinct blobs `user_id` uploaded.
pub async fn storage_used(state: &AppState, user_id: Uuid) -> ApiResult<i64> {
    Ok(store::blob::bytes_uploaded_by(&state.db, user_id).await?)
}

/// Checks attachment ids for a message by `sender`: at most ten, distinct, each readable.
pub async fn check_attachments(
    state: &AppState,
    sender: Uuid,
    ids: &[String],
) -> ApiResult<Vec<blobs::Model>> {
    // Most messages carry no attachments: no query for them.
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut unique = ids.to_vec();
    unique.sort();
    unique.dedup();
    if unique.len() != ids.len() || ids.len() > ATTACHMENTS_MAX {
        return Err(ApiError::bad_input(
            "attachmentBlobIds",
            "at most ten distinct blobs",
        ));
    }
    let readable = readable(&state.db, sender, ids).await?;
    if readable.len() != ids.len() {
        return Err(ApiError::bad_input("attachmentBlobIds", "unknown blob"));
    }
    Ok(blobs::Entity::find()
        .filter(blobs::Column::Id.is_in(ids.iter().cloned()))
        .all(&state.db)
        .await?)
}

/// Attachment rows for a new message, with what clients show before downloading.
pub fn attachment_rows(
    state: &AppState,
    message_id: Uuid,
    found: &[blobs::Model],
) -> Vec<attachments::ActiveModel> {
    found
        .iter()
        .map(|blob| {
            let (width, height) = state.blobs.image_size(&blob.id).unzip();
            attachments::ActiveModel {
                id: Set(Uuid::now_v7()),
                message_id: Set(message_id),
                blob_id: Set(blob.id.clone()),
                filename: Set(None),
                metadata: Set(Some(serde_json::json!({
                    "mimeType": blob.mime_type,
                    "size": blob.size,
                    "width": width,
                    "height": height,
                }))),
                created_at: Set(now()),
            }
        })
        .collect()
}

/// Attachments with their blobs, per message.
pub async fn attachments_of(
    db: &impl ConnectionTrait,
    message_ids: Vec<Uuid>,
) -> Result<Vec<(attachments::Model, Option<blobs::Model>)>, DbErr> {
    attachments::Entity::find()
        .find_also_related(blobs::Entity)
        .filter(attachments::Column::MessageId.is_in(message_ids))
        .all(db)
        .await
}
