//! Uploads (GraphQL multipart request spec).

use async_graphql::{Context, Object, Result, Upload};

use crate::auth;
use crate::error::ApiError;
use crate::graphql::types::blob::Blob;
use crate::graphql::{state, viewer};
use crate::service;

#[derive(Default)]
pub struct BlobMutation;

#[Object]
impl BlobMutation {
    /// Stores a file sent as a GraphQL multipart upload. The type is sniffed from the bytes and
    /// must be allowed (JPEG, PNG, GIF, WebP by default); the size limit (10 MB by default) is
    /// enforced while the upload streams in. Uploading the same bytes again returns the same blob.
    async fn upload_blob(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The file, as a GraphQL multipart upload.")] file: Upload,
    ) -> Result<Blob> {
        let viewer = auth::require(viewer(ctx))?;
        let value = file
            .value(ctx)
            .map_err(|_| ApiError::bad_input("file", "the upload could not be read"))?;
        let bytes = tokio::task::spawn_blocking(move || {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut value.into_read(), &mut bytes).map(|_| bytes)
        })
        .await
        .map_err(ApiError::internal)?
        .map_err(|_| ApiError::bad_input("file", "the upload could not be read"))?;
        Ok(Blob(
            service::blob::upload(state(ctx)?, viewer.id(), bytes).await?,
        ))
    }
}
