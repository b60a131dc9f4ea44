//! A multipart upload's body, spooled to a temporary file as it arrives, so no upload is ever
//! held whole in memory: its file parts are counted and the GraphQL request parsed from that
//! file (async-graphql copies each file part to a temporary file of its own, which
//! `uploadBlob` streams to the blob store).

use std::io::Write;
use std::os::unix::fs::FileExt;

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes, BytesMut};
use async_graphql::BatchRequest;
use async_graphql::http::MultipartOptions;
use futures_util::{Stream, StreamExt, TryStreamExt};

use super::MAX_FILES;
use crate::state::AppState;

/// Bytes gathered before each write to the spool file.
const FLUSH: usize = 256 << 10;
/// Bytes read from the spool file at a time.
const READ: usize = 64 << 10;

/// Why a multipart body was refused: the status and what the client is told.
pub(super) type Refusal = (StatusCode, String);

/// The GraphQL request of a multipart body of at most `--blob-max-bytes` + 1 MiB.
pub(super) async fn receive(
    state: &AppState,
    content_type: &str,
    payload: web::Payload,
) -> Result<BatchRequest, Refusal> {
    let limit = state.config.blobs.max_bytes + 1024 * 1024;
    let file = spool(payload, limit).await?;
    let malformed = |err: &dyn std::fmt::Display| {
        (StatusCode::BAD_REQUEST, format!("malformed request: {err}"))
    };
    let files = count_files(content_type, read(&file).map_err(|e| malformed(&e))?)
        .await
        .map_err(|e| malformed(&e))?;
    if files > MAX_FILES {
        return Err((
            StatusCode::BAD_REQUEST,
            format!("a request may carry at most {MAX_FILES} files, not {files}"),
        ));
    }
    let options = MultipartOptions::default()
        .max_file_size(state.config.blobs.max_bytes)
        .max_num_files(MAX_FILES);
    let reader = Box::pin(read(&file).map_err(|e| malformed(&e))?).into_async_read();
    async_graphql::http::receive_batch_body(Some(content_type), reader, options)
        .await
        .map_err(|e| malformed(&e))
}

/// Writes `payload` to a temporary file (gone once closed), refusing it past `limit` bytes.
async fn spool(mut payload: web::Payload, limit: usize) -> Result<std::fs::File, Refusal> {
    let failed = |err: std::io::Error| {
        tracing::error!(error = %err, "spooling an upload");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the upload could not be stored".to_owned(),
        )
    };
    let mut file = tempfile::tempfile().map_err(failed)?;
    let (mut pending, mut total) = (BytesMut::new(), 0);
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else {
            return Err((
                StatusCode::BAD_REQUEST,
                "the request body could not be read".to_owned(),
            ));
        };
        total += chunk.len();
        if total > limit {
            return Err((
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body too large: the limit is {limit} bytes"),
            ));
        }
        pending.extend_from_slice(&chunk);
        if pending.len() >= FLUSH {
            file = write(file, pending.split().freeze())
                .await
                .map_err(failed)?;
        }
    }
    write(file, pending.freeze()).await.map_err(failed)
}

/// Appends `bytes` to `file`, off the async threads.
async fn write(mut file: std::fs::File, bytes: Bytes) -> std::io::Result<std::fs::File> {
    tokio::task::spawn_blocking(move || file.write_all(&bytes).map(|()| file))
        .await
        .map_err(std::io::Error::other)?
}

/// The spool file from its start, a chunk at a time, read off the async threads. Reads are
/// positioned (`pread`), not through the file's shared cursor: multer reads ahead and drops
/// the stream with a read still running, which must not move where the next reader starts.
fn read(
    file: &std::fs::File,
) -> std::io::Result<impl Stream<Item = std::io::Result<Bytes>> + Send + 'static> {
    let file = std::sync::Arc::new(file.try_clone()?);
    Ok(futures_util::stream::try_unfold(0u64, move |at| {
        let file = file.clone();
        async move {
            let chunk = tokio::task::spawn_blocking(move || {
                let mut buf = vec![0; READ];
                let n = file.read_at(&mut buf, at)?;
                buf.truncate(n);
                Ok::<_, std::io::Error>(buf)
            })
            .await
            .map_err(std::io::Error::other)??;
            let next = at + chunk.len() as u64;
            Ok((!chunk.is_empty()).then(|| (Bytes::from(chunk), next)))
        }
    }))
}

/// The file parts of a multipart body (the parts with a file name), counted with the parser
/// async-graphql uses, before any of them is written anywhere. (async-graphql's
/// `MultipartOptions::max_num_files` only sizes the stream limit: it counts nothing.)
async fn count_files(
    content_type: &str,
    body: impl Stream<Item = std::io::Result<Bytes>> + Send + 'static,
) -> Result<usize, multer::Error> {
    let boundary = multer::parse_boundary(content_type)?;
    let mut multipart = multer::Multipart::new(body, boundary);
    let mut files = 0;
    while let Some(field) = multipart.next_field().await? {
        if field.file_name().is_some() {
            files += 1;
            if files > MAX_FILES {
                break;
            }
        }
    }
    Ok(files)
}
