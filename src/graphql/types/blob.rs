//! Uploaded files and message attachments.

use async_graphql::connection::{Connection, CursorType, Edge, OpaqueCursor};
use async_graphql::{Context, Json, Object, Result};
use chrono::{DateTime, Utc};
use entity::{attachments, blob_uploads, blobs};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Room, User, utc};
use crate::error::ApiError;
use crate::graphql::loaders::extra::UploadSeen;
use crate::graphql::loaders::{MembersOf, RoomId, UserId};
use crate::graphql::{load, state, viewer};
use crate::service::blob::is_image;
use crate::store::page::{DEFAULT_PAGE, MAX_PAGE};
use crate::store::upload::UploadKey;
use crate::{auth, service};

/// A stored file. Its id is the sha256 of its bytes: the same bytes always have the same id.
/// `upload` is the upload it was listed or stored through, when known (else it is loaded:
/// the caller's own, or one made for a room they belong to).
pub struct Blob(pub blobs::Model, pub Option<blob_uploads::Model>);

impl Blob {
    pub fn new(model: blobs::Model) -> Self {
        Self(model, None)
    }

    async fn upload(&self, ctx: &Context<'_>) -> Result<Option<blob_uploads::Model>> {
        if let Some(upload) = &self.1 {
            return Ok(Some(upload.clone()));
        }
        Ok(load(ctx, UploadSeen(self.0.id.clone())).await?)
    }
}

/// A stored file. Its id is the sha256 of its bytes: the same bytes always have the same id.
#[Object]
impl Blob {
    /// sha256 of the bytes, hex.
    async fn id(&self) -> &str {
        &self.0.id
    }

    /// Bytes.
    async fn size(&self) -> i64 {
        self.0.size
    }

    /// The type sniffed from the bytes (not what the client claimed).
    async fn mime_type(&self) -> &str {
        &self.0.mime_type
    }

    /// Pixel width, for images.
    async fn width(&self, ctx: &Context<'_>) -> Result<Option<i32>> {
        Ok(dimensions(ctx, &self.0).await?.map(|(w, _)| w as i32))
    }

    /// Pixel height, for images.
    async fn height(&self, ctx: &Context<'_>) -> Result<Option<i32>> {
        Ok(dimensions(ctx, &self.0).await?.map(|(_, h)| h as i32))
    }

    /// The file's name as it was uploaded (sanitised: no path, no control characters, at most
    /// 200 characters, the extension kept): the caller's upload's, else that of an upload made
    /// for a room they belong to; null when none was given.
    async fn filename(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.upload(ctx).await?.and_then(|u| u.filename))
    }

    /// The conversation the upload was made for (`uploadBlob(roomId:)`), while the caller is
    /// an active member of it; its members may read the blob, and lose it when they leave.
    async fn room(&self, ctx: &Context<'_>) -> Result<Option<Room>> {
        let Some(room_id) = self.upload(ctx).await?.and_then(|u| u.room_id) else {
            return Ok(None);
        };
        let me = viewer(ctx).map(|v| v.id());
        let members = load(ctx, MembersOf(room_id)).await?.unwrap_or_default();
        if !members.iter().any(|(m, _)| Some(m.user_id) == me) {
            return Ok(None);
        }
        Ok(load(ctx, RoomId(room_id))
            .await?
            .filter(|room| room.deleted_at.is_none())
            .map(Room))
    }

    /// Who uploaded it, as far as the caller can tell (themself, or a member of a room it was
    /// uploaded for); null otherwise.
    async fn uploaded_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(upload) = self.upload(ctx).await? else {
            return Ok(None);
        };
        Ok(load(ctx, UserId(upload.user_id)).await?.map(User::new))
    }

    /// When that upload was made (the blob's `createdAt` is when the bytes were first stored,
    /// by anyone).
    async fn uploaded_at(&self, ctx: &Context<'_>) -> Result<Option<DateTime<Utc>>> {
        Ok(self.upload(ctx).await?.map(|u| utc(u.created_at)))
    }

    /// Where to GET the bytes (send the same Authorization header).
    async fn url(&self) -> String {
        format!("/blobs/{}", self.0.id)
    }

    /// When it was first stored.
    async fn created_at(&self) -> DateTime<Utc> {
        utc(self.0.created_at)
    }
}

async fn dimensions(ctx: &Context<'_>, blob: &blobs::Model) -> Result<Option<(u32, u32)>> {
    // Only images: opaque bytes may happen to look like one.
    if !is_image(&blob.mime_type) {
        return Ok(None);
    }
    Ok(state(ctx)?.blobs.image_size(&blob.id, blob.size).await)
}

/// A file attached to a message.
pub struct Attachment {
    pub model: attachments::Model,
    pub blob: Option<blobs::Model>,
}

/// A file attached to a message.
#[Object]
impl Attachment {
    /// Stable id.
    async fn id(&self) -> Uuid {
        self.model.id
    }

    /// The file.
    async fn blob(&self) -> Option<Blob> {
        self.blob.clone().map(Blob::new)
    }

    /// The file's name as the sender uploaded it (sanitised), or as uploaded for the room.
    async fn filename(&self) -> Option<&str> {
        self.model.filename.as_deref()
    }

    /// `mimeType`, `size`, `width`, `height` as known when it was attached.
    async fn metadata(&self) -> Option<Json<serde_json::Value>> {
        self.model.metadata.clone().map(Json)
    }

    /// Where to GET the bytes.
    async fn url(&self) -> String {
        format!("/blobs/{}", self.model.blob_id)
    }
}

/// The position of an upload in a list of uploads, newest first.
#[derive(Clone)]
pub struct UploadCursor(UploadKey);

#[derive(Serialize, Deserialize)]
struct UploadCursorKey(i64, String, Uuid);

impl CursorType for UploadCursor {
    type Error = &'static str;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        let OpaqueCursor(UploadCursorKey(micros, blob_id, user_id)) =
            OpaqueCursor::decode_cursor(s).map_err(|_| "not a valid cursor")?;
        let at = DateTime::from_timestamp_micros(micros).ok_or("not a valid cursor")?;
        Ok(Self(UploadKey {
            at: at.fixed_offset(),
            blob_id,
            user_id,
        }))
    }

    fn encode_cursor(&self) -> String {
        let key = &self.0;
        OpaqueCursor(UploadCursorKey(
            key.at.timestamp_micros(),
            key.blob_id.clone(),
            key.user_id,
        ))
        .encode_cursor()
    }
}

/// Uploads, newest first, with the upload each was listed through.
pub type UploadConnection = Connection<UploadCursor, Blob>;

/// A page of the caller's uploads (`room` None) or of a room's: `first` at most 100 (20 by
/// default), after the cursor `after`.
pub async fn uploads(
    ctx: &Context<'_>,
    room: Option<Uuid>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<UploadConnection> {
    let viewer = auth::require(viewer(ctx))?;
    let limit = match first {
        None => DEFAULT_PAGE,
        Some(n) => usize::try_from(n)
            .ok()
            .filter(|n| *n <= MAX_PAGE)
            .ok_or_else(|| {
                ApiError::bad_input("first", format!("first must be between 0 and {MAX_PAGE}"))
            })?,
    };
    let after = match after {
        None => None,
        Some(cursor) => Some(
            UploadCursor::decode_cursor(&cursor)
                .map_err(|_| ApiError::bad_input("after", "not a valid cursor"))?
                .0,
        ),
    };
    let has_previous = after.is_some();
    let (rows, more) = service::upload::page(state(ctx)?, viewer, room, after, limit).await?;
    let mut connection = Connection::new(has_previous, more);
    connection
        .edges
        .extend(rows.into_iter().map(|(upload, blob)| {
            let key = UploadKey {
                at: upload.created_at,
                blob_id: upload.blob_id.clone(),
                user_id: upload.user_id,
            };
            Edge::new(UploadCursor(key), Blob(blob, Some(upload)))
        }));
    Ok(connection)
}
