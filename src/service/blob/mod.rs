//! Blobs: content-addressed uploads (id = sha256 of the bytes, stored once however often
//! uploaded), type sniffed from the bytes against an allow-list (or opaque, in MLS rooms), and
//! who may read them: their uploaders, the members of rooms where they are attached, and the
//! members of the room an upload was made for. Listing and deleting uploads: `service::upload`.

use entity::{blob_uploads, blobs};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, Set};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::db::now;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store;

mod attach;

pub use attach::{Attached, attachment_rows, attachments_of, check_attachments};

/// Most attachments on one message.
pub const ATTACHMENTS_MAX: usize = 10;

/// What an upload says besides its bytes.
#[derive(Default)]
pub struct UploadInput {
    /// The file's name as the client sent it (sanitised here).
    pub filename: Option<String>,
    /// The conversation the upload is for: the uploader must be an active member; its members
    /// may read it while they belong.
    pub room_id: Option<Uuid>,
    /// Opaque bytes (an MLS-encrypted file): not sniffed, stored and served as
    /// `application/octet-stream`, allowed whatever `--blob-mime-types` says, in a room that
    /// uses MLS only (`room_id` given, its epoch past 0).
    pub opaque: bool,
}

/// The type stored for opaque uploads.
pub const OPAQUE: &str = "application/octet-stream";

/// How much of an upload's start its type is sniffed from.
const SNIFF_BYTES: usize = 64 << 10;

/// What one read of an upload's file tells: its content address, its size, its first bytes.
struct Digest {
    id: String,
    size: u64,
    head: Vec<u8>,
}

/// Reads `file` from its start once, a chunk at a time, off the async threads.
async fn digest(file: &std::fs::File) -> ApiResult<Digest> {
    let mut file = file.try_clone().map_err(ApiError::internal)?;
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Seek};
        file.rewind()?;
        let (mut hasher, mut size, mut head) = (Sha256::new(), 0u64, Vec::new());
        let mut buf = vec![0; 64 << 10];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            let chunk = buf.get(..n).unwrap_or_default();
            hasher.update(chunk);
            if head.len() < SNIFF_BYTES {
                head.extend_from_slice(chunk.get(..SNIFF_BYTES - head.len()).unwrap_or(chunk));
            }
            size += n as u64;
        }
        Ok::<_, std::io::Error>(Digest {
            id: hex::encode(hasher.finalize()),
            size,
            head,
        })
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|_| ApiError::bad_input("file", "the upload could not be read"))
}

/// Stores an upload for `uploader` from `file` (the spooled multipart part, streamed to the
/// blob store, never read whole into memory); returns the blob row and the uploader's upload.
pub async fn upload(
    state: &AppState,
    uploader: Uuid,
    file: std::fs::File,
    input: UploadInput,
) -> ApiResult<(blobs::Model, blob_uploads::Model)> {
    state
        .limiter
        .hit(
            &format!("upload:{uploader}"),
            state.config.limits.uploads_per_minute,
            std::time::Duration::from_secs(60),
        )
        .await?;
    let limits = &state.config.blobs;
    let Digest { id, size, head } = digest(&file).await?;
    if size == 0 {
        return Err(ApiError::bad_input("file", "the file is empty"));
    }
    if size > limits.max_bytes as u64 {
        return Err(ApiError::bad_input(
            "file",
            format!("files are at most {} bytes", limits.max_bytes),
        ));
    }
    if let Some(room_id) = input.room_id {
        let (room, _) = store::room::with_membership(&state.db, room_id, uploader)
            .await?
            .ok_or_else(crate::service::membership::not_found)?;
        if input.opaque && room.epoch < 1 {
            return Err(ApiError::bad_input(
                "opaque",
                "opaque uploads are for rooms that use MLS (epoch 1 or later)",
            ));
        }
    } else if input.opaque {
        return Err(ApiError::bad_input(
            "roomId",
            "an opaque upload names the MLS room it is for",
        ));
    }
    let mime = if input.opaque {
        OPAQUE
    } else {
        infer::get(&head).map(|t| t.mime_type()).unwrap_or(OPAQUE)
    };
    if !input.opaque && !limits.mime_types.iter().any(|allowed| allowed == mime) {
        return Err(ApiError::bad_input(
            "file",
            format!(
                "files of type {mime} are not accepted (allowed: {})",
                limits.mime_types.join(", ")
            ),
        ));
    }
    let filename = input
        .filename
        .as_deref()
        .and_then(crate::service::filename::sanitize);
    put(state, &id, &file, size, mime).await?;
    let size = i64::try_from(size).map_err(ApiError::internal)?;

    let at = now();
    let txn = state.write_txn().await?;
    store::blob::record(&*txn, &id, size, mime, uploader, at).await?;
    let upload = match blob_uploads::Entity::find_by_id((id.clone(), uploader))
        .one(&*txn)
        .await?
    {
        // Uploading again renames the upload and may name a room; it keeps its time.
        Some(found) => {
            let mut active: blob_uploads::ActiveModel = found.clone().into();
            if filename.is_some() {
                active.filename = Set(filename);
            }
            if input.room_id.is_some() {
                active.room_id = Set(input.room_id);
            }
            active.update(&*txn).await?
        }
        None => {
            // The same user uploading the same bytes twice at once: one row (PostgreSQL runs
            // both; SQLite one after the other).
            ignore_duplicate(
                blob_uploads::Entity::insert(blob_uploads::ActiveModel {
                    blob_id: Set(id.clone()),
                    user_id: Set(uploader),
                    created_at: Set(at),
                    filename: Set(filename),
                    room_id: Set(input.room_id),
                })
                .on_conflict(
                    OnConflict::columns([
                        blob_uploads::Column::BlobId,
                        blob_uploads::Column::UserId,
                    ])
                    .do_nothing()
                    .to_owned(),
                )
                .exec_without_returning(&*txn)
                .await,
            )?;
            blob_uploads::Entity::find_by_id((id.clone(), uploader))
                .one(&*txn)
                .await?
                .ok_or_else(|| ApiError::internal(anyhow::anyhow!("upload row vanished")))?
        }
    };
    let blob = blobs::Entity::find_by_id(id.clone())
        .one(&*txn)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("blob row vanished")))?;
    // `deleteUpload` may have removed the bytes between the write above and this transaction
    // (it removes them before its commit, so by now that is visible): write them again.
    put(state, &id, &file, size as u64, mime).await?;
    txn.commit().await?;
    Ok((blob, upload))
}

/// Streams `file` to the store as `id` unless stored (`BlobStore::put_file` checks).
async fn put(
    state: &AppState,
    id: &str,
    file: &std::fs::File,
    size: u64,
    mime: &str,
) -> ApiResult<()> {
    let file = file.try_clone().map_err(ApiError::internal)?;
    Ok(state
        .blobs
        .put_file(id, file, size, mime, disposition(mime))
        .await?)
}

/// How a browser is to take bytes of `mime`: images inline, anything else (a type allowed by
/// `--blob-mime-types`, opaque MLS bytes) as a download, never rendered.
pub fn disposition(mime: &str) -> &'static str {
    if is_image(mime) {
        "inline"
    } else {
        "attachment"
    }
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

/// Whether bytes of `mime` type are an image a browser may show inline (and whose size is
/// read); anything else is served as a download.
pub fn is_image(mime: &str) -> bool {
    mime.starts_with("image/") && mime != "image/svg+xml"
}
