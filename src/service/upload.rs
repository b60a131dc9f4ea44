//! A person's uploads: listing them (`myUploads`, and a room's in `Room.blobs`), and deleting
//! one, which frees the bytes once nothing else holds them (blobs are content-addressed:
//! someone else may have uploaded the same bytes). The name each keeps: `service::filename`.

use entity::{attachments, blob_uploads, blobs, users};
use sea_orm::{ColumnTrait, EntityTrait, ModelTrait, QueryFilter};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::error::{ApiError, ApiResult};
use crate::service::membership::require_member;
use crate::state::AppState;
use crate::store;
use crate::store::upload::{Owner, Upload, UploadKey};

/// A page of the caller's uploads, or of a room's (for its active members), newest first:
/// up to `limit` and whether more follow.
pub async fn page(
    state: &AppState,
    viewer: &Viewer,
    room_id: Option<Uuid>,
    after: Option<UploadKey>,
    limit: usize,
) -> ApiResult<(Vec<Upload>, bool)> {
    let owner = match room_id {
        Some(room_id) => {
            require_member(&state.reads(), viewer, room_id).await?;
            Owner::Room(room_id)
        }
        None => Owner::User(viewer.id()),
    };
    let mut rows = store::upload::page(&state.db, owner, after, limit).await?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    Ok((rows, more))
}

/// Deletes the caller's upload of `blob_id`: NOT_FOUND unless they uploaded it, CONFLICT
/// while a message they sent (not deleted) carries it. The blob and its bytes go when nothing
/// else holds them (another upload, an attachment, an avatar); returns whether they went.
pub async fn delete(state: &AppState, viewer: &Viewer, blob_id: &str) -> ApiResult<bool> {
    let not_found = || ApiError::NotFound("upload not found".to_owned());
    if !crate::service::blob::is_blob_id(blob_id) {
        return Err(not_found());
    }
    let txn = state.write_txn().await?;
    store::upload::lock(&*txn, blob_id).await?;
    let upload = blob_uploads::Entity::find_by_id((blob_id.to_owned(), viewer.id()))
        .one(&*txn)
        .await?
        .ok_or_else(not_found)?;
    if store::upload::attached_by(&*txn, viewer.id(), blob_id).await? {
        return Err(ApiError::Conflict(
            "a message you sent carries this file: delete the message first".to_owned(),
        ));
    }
    let me = users::Entity::find_by_id(viewer.id()).one(&*txn).await?;
    if me.and_then(|u| u.avatar_blob_id).as_deref() == Some(blob_id) {
        return Err(ApiError::Conflict(
            "this file is your avatar: change it first".to_owned(),
        ));
    }
    upload.delete(&*txn).await?;
    let freed = !store::upload::held(&*txn, blob_id).await?;
    if freed {
        // What holds it no longer: attachments of deleted messages (hidden already).
        attachments::Entity::delete_many()
            .filter(attachments::Column::BlobId.eq(blob_id))
            .exec(&*txn)
            .await?;
        blobs::Entity::delete_by_id(blob_id.to_owned())
            .exec(&*txn)
            .await?;
        // Before the commit: an upload of the same bytes waits for it (the row lock, or the
        // writer turn) and then finds the bytes gone, and writes them again.
        state.blobs.delete(blob_id).await?;
    }
    txn.commit().await?;
    Ok(freed)
}
