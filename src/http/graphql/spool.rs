//! A multipart upload's body, spooled to a temporary file as it arrives, so no upload is ever
//! held whole in memory: its file parts are counted and the GraphQL request parsed from that
//! file (async-graphql copies each file part to a temporary file of its own, which
//! `uploadBlob` streams to the blob store).

use std::io::Write;
use std::os::unix::fs::FileExt;

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes, BytesMut};
use async_graphql::http::MultipartOptions;
use async_graphql::{BatchRequest, ParseRequestError};
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
    let files = count_files(content_type, read(&file).await.map_err(|e| unreadable(&e))?)
        .await
        .map_err(refusal)?;
    if files > MAX_FILES {
        return Err((
            StatusCode::BAD_REQUEST,
            format!("a request may carry at most {MAX_FILES} files, not {files}"),
        ));
    }
    let options = MultipartOptions::default()
        .max_file_size(state.config.blobs.max_bytes)
        .max_num_files(MAX_FILES);
    let reader = Box::pin(read(&file).await.map_err(|e| unreadable(&e))?).into_async_read();
    async_graphql::http::receive_batch_body(Some(content_type), reader, options)
        .await
        .map_err(|err| match err {
            // async-graphql's message for these leaves out what multer found.
            ParseRequestError::InvalidMultipart(err) => refusal(err),
            err => malformed(&err),
        })
}

fn malformed(err: &dyn std::fmt::Display) -> Refusal {
    (StatusCode::BAD_REQUEST, format!("malformed request: {err}"))
}

/// What multer found in a spooled body: the client's mistake, or the spool failing us.
fn refusal(err: multer::Error) -> Refusal {
    match err {
        multer::Error::StreamReadFailed(err) => unreadable(&*err),
        err => malformed(&err),
    }
}

/// The spool file could not be read back: the server's fault, not the request's.
fn unreadable(err: &dyn std::fmt::Display) -> Refusal {
    tracing::error!(error = %err, "reading a spooled upload back");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "the upload could not be read back".to_owned(),
    )
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
///
/// The first chunk is read before the stream is made, so the stream yields it on its first
/// poll. multer 3.1 needs that: looking for the first boundary, it polls the stream a second
/// time when the first poll brought nothing, and when that second poll brings the data and
/// the end of the stream together it answers "incomplete multipart stream" without looking
/// at the data. With every read waiting on a blocking thread, both reads finishing between
/// two polls did happen (8 of 6,000 concurrent uploads).
async fn read(
    file: &std::fs::File,
) -> std::io::Result<impl Stream<Item = std::io::Result<Bytes>> + Send + 'static> {
    let file = std::sync::Arc::new(file.try_clone()?);
    let first = read_at(file.clone(), 0).await?;
    let rest = futures_util::stream::try_unfold(first.len() as u64, move |at| {
        let file = file.clone();
        async move {
            let chunk = read_at(file, at).await?;
            let next = at + chunk.len() as u64;
            Ok((!chunk.is_empty()).then_some((chunk, next)))
        }
    });
    let first = (!first.is_empty()).then_some(Ok(first));
    Ok(futures_util::stream::iter(first).chain(rest))
}

/// Up to `READ` bytes of `file` from `at` (none at its end), read on a blocking thread.
async fn read_at(file: std::sync::Arc<std::fs::File>, at: u64) -> std::io::Result<Bytes> {
    tokio::task::spawn_blocking(move || {
        let mut buf = vec![0; READ];
        let n = file.read_at(&mut buf, at)?;
        buf.truncate(n);
        Ok(Bytes::from(buf))
    })
    .await
    .map_err(std::io::Error::other)?
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

#[cfg(test)]
mod tests {
    use std::io::Write;

    use futures_util::{FutureExt, StreamExt};

    use super::{READ, read};

    /// multer 3.1 misreads a body whose first chunk and end arrive together after a first
    /// poll that brought nothing (`read`'s comment): the spool's stream must not start with
    /// a wait.
    #[tokio::test]
    async fn the_first_chunk_is_there_at_the_first_poll() {
        let body: Vec<u8> = (0..READ + 10).map(|i| (i % 251) as u8).collect();
        let mut file = tempfile::tempfile().expect("temp file");
        file.write_all(&body).expect("write");
        let mut stream = Box::pin(read(&file).await.expect("read"));
        let first = stream
            .next()
            .now_or_never()
            .expect("the first chunk without waiting")
            .expect("a chunk")
            .expect("read");
        assert_eq!(first.as_ref(), &body[..READ]);
        let rest = stream.next().await.expect("the rest").expect("read");
        assert_eq!(rest.as_ref(), &body[READ..]);
        assert!(stream.next().await.is_none());
    }
}
