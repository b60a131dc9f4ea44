//! Uploads (GraphQL multipart request spec) and deleting them.

use async_graphql::{Context, Object, Result, Upload};
use uuid::Uuid;

use crate::auth;
use crate::error::ApiError;
use crate::graphql::types::blob::Blob;
use crate::graphql::{state, viewer};
use crate::service;
use crate::service::blob::UploadInput;

#[derive(Default)]
pub struct BlobMutation;

#[Object]
impl BlobMutation {
    /// Stores a file sent as a GraphQL multipart upload. The type is sniffed from the bytes and
    /// must be allowed (JPEG, PNG, GIF, WebP by default); the size limit (10 MB by default) is
    /// enforced while the upload streams in. Uploading the same bytes again returns the same
    /// blob. The file's name (the multipart part's filename) is kept, sanitised. With `roomId`
    /// the upload is for that room: its members may read it while they belong (`Room.blobs`).
    /// With `opaque` (MLS rooms only), the bytes are not sniffed: any file is stored as
    /// `application/octet-stream` and served as a download.
    async fn upload_blob(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The file, as a GraphQL multipart upload.")] file: Upload,
        #[graphql(
            desc = "The room the file is for: the caller must be an active member; its members may read it while they belong."
        )]
        room_id: Option<Uuid>,
        #[graphql(
            desc = "Opaque (encrypted) bytes for an MLS room (its epoch past 0; `roomId` required): not sniffed, stored as application/octet-stream.",
            default
        )]
        opaque: bool,
    ) -> Result<Blob> {
        let viewer = auth::require(viewer(ctx))?;
        let value = file
            .value(ctx)
            .map_err(|_| ApiError::bad_input("file", "the upload could not be read"))?;
        let input = UploadInput {
            filename: Some(value.filename),
            room_id,
            opaque,
        };
        // The part is a temporary file already (the multipart parser spooled it there):
        // the service streams it to the store.
        let (blob, upload) =
            service::blob::upload(state(ctx)?, viewer.id(), value.content, input).await?;
        Ok(Blob(blob, Some(upload)))
    }

    /// Deletes the caller's upload of a blob: NOT_FOUND unless they uploaded it, CONFLICT
    /// while a message they sent (not deleted) carries it or it is their avatar. The bytes are
    /// removed, and stop counting toward storage, once nothing else holds them (another
    /// upload of the same bytes, an attachment, an avatar). Returns whether they were removed.
    async fn delete_upload(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The blob (sha256 hex).")] id: String,
    ) -> Result<bool> {
        let viewer = auth::require(viewer(ctx))?;
        Ok(service::upload::delete(state(ctx)?, viewer, &id).await?)
    }
}
