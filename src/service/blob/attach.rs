//! Attaching blobs to messages: the checks a message's attachment ids pass, the rows that
//! record them, and reading them back.

use entity::{attachments, blobs};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::{ATTACHMENTS_MAX, is_image, readable};
use crate::db::now;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store;

/// A blob to attach, with the name the sender knows it by (their upload's, else one of an
/// upload made for a room they belong to).
pub struct Attached {
    pub blob: blobs::Model,
    pub filename: Option<String>,
    /// Width and height, when it is an image (read from the store before any transaction).
    pub dimensions: Option<(u32, u32)>,
}

/// Checks attachment ids for a message by `sender`: at most ten, distinct, each readable.
pub async fn check_attachments(
    state: &AppState,
    sender: Uuid,
    ids: &[String],
) -> ApiResult<Vec<Attached>> {
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
    let mut names = std::collections::HashMap::new();
    for upload in store::upload::seen_by(&state.db, sender, ids).await? {
        if upload.filename.is_some()
            && (upload.user_id == sender || !names.contains_key(&upload.blob_id))
        {
            names.insert(upload.blob_id, upload.filename);
        }
    }
    let blobs = blobs::Entity::find()
        .filter(blobs::Column::Id.is_in(ids.iter().cloned()))
        .all(&state.db)
        .await?;
    let mut found = Vec::with_capacity(blobs.len());
    for blob in blobs {
        let dimensions = if is_image(&blob.mime_type) {
            state.blobs.image_size(&blob.id, blob.size).await
        } else {
            None
        };
        found.push(Attached {
            filename: names.remove(&blob.id).flatten(),
            dimensions,
            blob,
        });
    }
    Ok(found)
}

/// Attachment rows for a new message, with what clients show before downloading.
pub fn attachment_rows(message_id: Uuid, found: &[Attached]) -> Vec<attachments::ActiveModel> {
    found
        .iter()
        .map(
            |Attached {
                 blob,
                 filename,
                 dimensions,
             }| {
                let (width, height) = dimensions.unzip();
                attachments::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    message_id: Set(message_id),
                    blob_id: Set(blob.id.clone()),
                    filename: Set(filename.clone()),
                    metadata: Set(Some(serde_json::json!({
                        "mimeType": blob.mime_type,
                        "size": blob.size,
                        "width": width,
                        "height": height,
                    }))),
                    created_at: Set(now()),
                }
            },
        )
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
