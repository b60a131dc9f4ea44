//! Uploaded files and message attachments.

use async_graphql::{Context, Json, Object, Result};
use chrono::{DateTime, Utc};
use entity::{attachments, blobs};
use uuid::Uuid;

use super::utc;
use crate::graphql::state;

/// A stored file. Its id is the sha256 of its bytes: the same bytes always have the same id.
pub struct Blob(pub blobs::Model);

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
        Ok(dimensions(ctx, &self.0.id).await?.map(|(w, _)| w as i32))
    }

    /// Pixel height, for images.
    async fn height(&self, ctx: &Context<'_>) -> Result<Option<i32>> {
        Ok(dimensions(ctx, &self.0.id).await?.map(|(_, h)| h as i32))
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

async fn dimensions(ctx: &Context<'_>, id: &str) -> Result<Option<(u32, u32)>> {
    let store = state(ctx)?.blobs.clone();
    let id = id.to_owned();
    Ok(tokio::task::spawn_blocking(move || store.image_size(&id))
        .await
        .unwrap_or(None))
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
        self.blob.clone().map(Blob)
    }

    /// The file's name as the sender gave it.
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
