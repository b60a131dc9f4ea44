//! Where blob bytes live: a local directory (`--blob-store dir`, the default) or S3-compatible
//! object storage (`--blob-store s3`), both behind `object_store`, read and written as streams.
//!
//! Blobs are content-addressed (id = sha256 hex), so a write of an id that exists is skipped
//! and nothing is ever overwritten with different bytes. Both backends keep the layout the
//! directory always had: `<first two hex digits>/<id>`. A write becomes visible whole or not at
//! all: the directory writes a staging file and renames it; S3 shows an object only once its
//! single PUT or its multipart upload completes, and an upload that fails is aborted.
//! Memory per write is bounded by [`PART`], whatever the file's size.

mod s3;

use std::ops::Range;
use std::path::PathBuf;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{
    Attribute, Attributes, ObjectStore, PutMultipartOptions, PutOptions, PutPayload, WriteMultipart,
};

use crate::config::{BlobBackend, BlobConfig};

/// Bytes read, buffered and sent at a time: one S3 multipart part (S3's least but the last).
pub const PART: usize = 5 << 20;
/// How much of an image is read to find its width and height (JPEG puts EXIF first).
const IMAGE_HEAD: u64 = 64 << 10;
/// How long a readiness probe waits for the store.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);
/// Image sizes remembered (blobs never change, so neither do they): a page of uploads or
/// attachments asks the store once per image, not once per request.
const SIZES_CACHED: usize = 8192;

type SizeCache = Arc<std::sync::Mutex<lru::LruCache<String, Option<(u32, u32)>>>>;

fn size_cache() -> SizeCache {
    let capacity = std::num::NonZeroUsize::new(SIZES_CACHED).unwrap_or(std::num::NonZeroUsize::MIN);
    Arc::new(std::sync::Mutex::new(lru::LruCache::new(capacity)))
}

/// The store could not be asked or refused (down, unreachable, credentials refused).
#[derive(Debug)]
pub struct StoreError(pub object_store::Error);

impl From<object_store::Error> for StoreError {
    fn from(err: object_store::Error) -> Self {
        Self(err)
    }
}

impl From<tokio::task::JoinError> for StoreError {
    fn from(err: tokio::task::JoinError) -> Self {
        Self(object_store::Error::JoinError { source: err })
    }
}

impl From<std::io::Error> for StoreError {
    fn from(err: std::io::Error) -> Self {
        Self(object_store::Error::Generic {
            store: "confab",
            source: Box::new(err),
        })
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for StoreError {}

/// A blob's bytes as they stream out of the store, and how many there are.
pub struct Reading {
    pub size: u64,
    pub stream: BoxStream<'static, Result<bytes::Bytes, std::io::Error>>,
}

/// The blob store; cheap to clone.
#[derive(Clone)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
    /// S3 only: signs the short-lived URLs `--blob-redirect` sends readers to.
    signer: Option<Arc<dyn Signer>>,
    /// Whether objects carry their Content-Type and Content-Disposition (S3, so a presigned
    /// URL serves them right; the directory keeps none).
    attributes: bool,
    /// Width and height by id, for images read before.
    sizes: SizeCache,
}

impl BlobStore {
    /// The store `config` names; for S3 nothing is contacted yet (`/readyz` does).
    pub fn from_config(config: &BlobConfig) -> anyhow::Result<Self> {
        if config.redirect && config.backend != BlobBackend::S3 {
            anyhow::bail!("--blob-redirect needs --blob-store s3 (a directory has no URLs)");
        }
        match config.backend {
            BlobBackend::Dir => Ok(Self::dir(config.dir.clone())?),
            BlobBackend::S3 => {
                let s3 = Arc::new(s3::build(&config.s3)?);
                Ok(Self {
                    store: s3.clone(),
                    signer: Some(s3),
                    attributes: true,
                    sizes: size_cache(),
                })
            }
        }
    }

    /// A directory: `<root>/<first two hex digits>/<id>` (created if missing).
    pub fn dir(root: impl Into<PathBuf>) -> std::io::Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root)?;
        let local = LocalFileSystem::new_with_prefix(&root).map_err(std::io::Error::other)?;
        Ok(Self {
            store: Arc::new(local),
            signer: None,
            attributes: false,
            sizes: size_cache(),
        })
    }

    /// The key of `id`; None for anything but a sha256 hex, which never reaches the store.
    fn path(id: &str) -> Option<Path> {
        if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(Path::from(format!("{}/{id}", &id[..2])))
    }

    fn key(id: &str) -> Result<Path, StoreError> {
        Self::path(id).ok_or_else(|| {
            StoreError(object_store::Error::InvalidPath {
                source: object_store::path::Error::EmptySegment {
                    path: "not a blob id".to_owned(),
                },
            })
        })
    }

    fn attributes_for(&self, mime: &str, disposition: &str) -> Attributes {
        let mut attributes = Attributes::new();
        if self.attributes {
            attributes.insert(Attribute::ContentType, mime.to_owned().into());
            attributes.insert(Attribute::ContentDisposition, disposition.to_owned().into());
        }
        attributes
    }

    /// Whether `id` is stored.
    pub async fn contains(&self, id: &str) -> Result<bool, StoreError> {
        match self.store.head(&Self::key(id)?).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }

    /// Stores `bytes` under `id` unless already there (small things built in memory, such as
    /// an export archive).
    pub async fn put(
        &self,
        id: &str,
        bytes: Vec<u8>,
        mime: &str,
        disposition: &str,
    ) -> Result<(), StoreError> {
        if self.contains(id).await? {
            return Ok(());
        }
        let options = PutOptions {
            attributes: self.attributes_for(mime, disposition),
            ..PutOptions::default()
        };
        self.store
            .put_opts(&Self::key(id)?, PutPayload::from(bytes), options)
            .await?;
        Ok(())
    }

    /// Streams `size` bytes of `file` from its start to `id` unless already there, a
    /// [`PART`] at a time: one PUT when it fits in one, else a multipart upload that is aborted
    /// if anything fails. Runs on a task of its own, so a caller that goes away mid-write
    /// leaves no upload half done.
    pub async fn put_file(
        &self,
        id: &str,
        file: std::fs::File,
        size: u64,
        mime: &str,
        disposition: &str,
    ) -> Result<(), StoreError> {
        if self.contains(id).await? {
            return Ok(());
        }
        let path = Self::key(id)?;
        let attributes = self.attributes_for(mime, disposition);
        let store = self.store.clone();
        tokio::spawn(async move { write_file(store, path, file, size, attributes).await }).await?
    }

    /// The bytes of `id` as a stream, if stored.
    pub async fn get(&self, id: &str) -> Result<Option<Reading>, StoreError> {
        let Some(path) = Self::path(id) else {
            return Ok(None);
        };
        match self.store.get(&path).await {
            Ok(found) => Ok(Some(Reading {
                size: found.meta.size,
                stream: found
                    .into_stream()
                    .map(|chunk| chunk.map_err(std::io::Error::other))
                    .boxed(),
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// The bytes of `id` in `range`, which must lie within it.
    pub async fn read_range(
        &self,
        id: &str,
        range: Range<u64>,
    ) -> Result<bytes::Bytes, StoreError> {
        Ok(self.store.get_range(&Self::key(id)?, range).await?)
    }

    fn sizes_cache(&self) -> std::sync::MutexGuard<'_, lru::LruCache<String, Option<(u32, u32)>>> {
        self.sizes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Width and height when `id` (of `size` bytes) is an image, read from its first bytes.
    pub async fn image_size(&self, id: &str, size: i64) -> Option<(u32, u32)> {
        if let Some(known) = self.sizes_cache().get(id) {
            return *known;
        }
        let end = u64::try_from(size).ok()?.min(IMAGE_HEAD);
        // Not remembered when the store did not answer: next time it may.
        let head = self.read_range(id, 0..end).await.ok()?;
        let found = imagesize::blob_size(&head).ok().and_then(|found| {
            Some((
                u32::try_from(found.width).ok()?,
                u32::try_from(found.height).ok()?,
            ))
        });
        self.sizes_cache().put(id.to_owned(), found);
        found
    }

    /// Removes the bytes of `id`; removing what is not there is no error.
    pub async fn delete(&self, id: &str) -> Result<(), StoreError> {
        match self.store.delete(&Self::key(id)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    /// Whether readers can be sent to a presigned URL (S3).
    pub fn can_presign(&self) -> bool {
        self.signer.is_some()
    }

    /// A URL that GETs `id` without credentials for `ttl`; None for the directory.
    pub async fn presigned(&self, id: &str, ttl: Duration) -> Option<Result<url::Url, StoreError>> {
        let signer = self.signer.as_ref()?;
        let path = match Self::key(id) {
            Ok(path) => path,
            Err(err) => return Some(Err(err)),
        };
        Some(
            signer
                .signed_url(reqwest::Method::GET, &path, ttl)
                .await
                .map_err(StoreError),
        )
    }

    /// Whether the store answers: a listing of one prefix (a missing bucket or refused
    /// credentials fail it, as does no answer within a few seconds).
    pub async fn ready(&self) -> bool {
        let probe = Path::from("readyz");
        matches!(
            tokio::time::timeout(PROBE_TIMEOUT, self.store.list_with_delimiter(Some(&probe))).await,
            Ok(Ok(_))
        )
    }
}

/// Reads up to `len` bytes of `file` from where it stands, off the async threads.
async fn read_chunk(
    mut file: std::fs::File,
    len: usize,
) -> Result<(Vec<u8>, std::fs::File), StoreError> {
    Ok(tokio::task::spawn_blocking(move || {
        let mut buf = Vec::with_capacity(len);
        std::io::Read::read_to_end(&mut std::io::Read::take(&mut file, len as u64), &mut buf)?;
        Ok::<_, std::io::Error>((buf, file))
    })
    .await??)
}

async fn write_file(
    store: Arc<dyn ObjectStore>,
    path: Path,
    mut file: std::fs::File,
    size: u64,
    attributes: Attributes,
) -> Result<(), StoreError> {
    std::io::Seek::rewind(&mut file)?;
    if size <= PART as u64 {
        let (bytes, _) = read_chunk(file, PART).await?;
        let options = PutOptions {
            attributes,
            ..PutOptions::default()
        };
        store
            .put_opts(&path, PutPayload::from(bytes), options)
            .await?;
        return Ok(());
    }
    let options = PutMultipartOptions {
        attributes,
        ..PutMultipartOptions::default()
    };
    let upload = store.put_multipart_opts(&path, options).await?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
    loop {
        // One part in flight while the next is read: two parts of memory at most.
        let next = match writer.wait_for_capacity(1).await {
            Ok(()) => read_chunk(file, PART).await,
            Err(err) => Err(err.into()),
        };
        match next {
            Ok((chunk, _)) if chunk.is_empty() => break,
            Ok((chunk, rest)) => {
                file = rest;
                writer.put(chunk.into());
            }
            Err(err) => {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(error = %abort, "aborting a multipart upload");
                }
                return Err(err);
            }
        }
    }
    writer.finish().await?;
    Ok(())
}
