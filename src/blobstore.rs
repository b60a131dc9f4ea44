//! Where blob bytes live. Blobs are content-addressed (id = sha256 hex), so a write of an id
//! that exists is a no-op and nothing is ever overwritten with different bytes.

use std::io;
use std::path::{Path, PathBuf};

pub trait BlobStore: Send + Sync + 'static {
    /// Stores `bytes` under `id` unless already there.
    fn put(&self, id: &str, bytes: &[u8]) -> io::Result<()>;
    /// The bytes of `id`, if stored.
    fn get(&self, id: &str) -> io::Result<Option<Vec<u8>>>;
    /// Whether `id` is stored.
    fn contains(&self, id: &str) -> io::Result<bool> {
        Ok(self.get(id)?.is_some())
    }
    /// Removes the bytes of `id`; removing what is not there is no error.
    fn delete(&self, id: &str) -> io::Result<()>;
    /// Width and height when `id` is an image.
    fn image_size(&self, id: &str) -> Option<(u32, u32)> {
        let bytes = self.get(id).ok()??;
        let size = imagesize::blob_size(&bytes).ok()?;
        Some((size.width as u32, size.height as u32))
    }
}

/// A directory: `<root>/<first two hex digits>/<id>`, written through a temporary file and a
/// rename so a reader never sees half a blob.
pub struct DirStore {
    root: PathBuf,
}

impl DirStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path(&self, id: &str) -> Option<PathBuf> {
        // Ids are sha256 hex; anything else never touches the file system.
        if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(self.root.join(&id[..2]).join(id))
    }
}

fn invalid() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "not a blob id")
}

impl BlobStore for DirStore {
    fn put(&self, id: &str, bytes: &[u8]) -> io::Result<()> {
        let path = self.path(id).ok_or_else(invalid)?;
        if path.exists() {
            return Ok(());
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let temp = dir.join(format!(".{id}.{}", uuid::Uuid::now_v7().simple()));
        std::fs::write(&temp, bytes)?;
        std::fs::rename(&temp, &path)
    }

    fn get(&self, id: &str) -> io::Result<Option<Vec<u8>>> {
        let Some(path) = self.path(id) else {
            return Ok(None);
        };
        match std::fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err),
        }
    }

    fn contains(&self, id: &str) -> io::Result<bool> {
        Ok(self.path(id).ok_or_else(invalid)?.exists())
    }

    fn delete(&self, id: &str) -> io::Result<()> {
        match std::fs::remove_file(self.path(id).ok_or_else(invalid)?) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
            _ => Ok(()),
        }
    }

    fn image_size(&self, id: &str) -> Option<(u32, u32)> {
        let size = imagesize::size(self.path(id)?).ok()?;
        Some((size.width as u32, size.height as u32))
    }
}
