//! Persisted queries.
//!
//! Automatic persisted queries (Apollo's protocol) are always on: a client may send only the
//! sha256 of a query it sent before. With `--persisted-queries <manifest>` (Apollo's
//! persisted-query manifest JSON) the server also accepts those operations by hash, and with
//! `--persisted-queries-only` it refuses every operation not in the manifest.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use async_graphql::{Request, ServerError};
use serde::Deserialize;
use sha2::{Digest, Sha256};

#[derive(Deserialize)]
struct Manifest {
    operations: Vec<ManifestOperation>,
}

#[derive(Deserialize)]
struct ManifestOperation {
    body: String,
}

/// Known operations by the sha256 hex of their text.
#[derive(Clone, Default)]
pub struct AllowList {
    operations: Arc<HashMap<String, String>>,
    only: bool,
}

impl AllowList {
    /// Reads an Apollo persisted-query manifest (`{"operations": [{"body": "..."}, ...]}`).
    pub fn load(path: &Path, only: bool) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let manifest: Manifest = serde_json::from_str(&text)
            .with_context(|| format!("parsing the persisted-query manifest {}", path.display()))?;
        let operations = manifest
            .operations
            .into_iter()
            .map(|op| (hash(&op.body), op.body))
            .collect();
        Ok(Self {
            operations: Arc::new(operations),
            only,
        })
    }
}

pub fn hash(query: &str) -> String {
    hex::encode(Sha256::digest(query.as_bytes()))
}

fn refuse() -> ServerError {
    let mut error = ServerError::new("this server runs only its persisted operations", None);
    let ext = error.extensions.get_or_insert_with(Default::default);
    ext.set("code", "BAD_USER_INPUT");
    ext.set("reason", "PERSISTED_QUERY_NOT_ALLOWED");
    error
}

impl AllowList {
    /// Fills in the text of a manifest operation sent by hash, and with `only` refuses any
    /// other operation.
    pub fn admit(&self, request: &mut Request) -> Result<(), ServerError> {
        let named = request
            .extensions
            .get("persistedQuery")
            .and_then(|p| match p {
                async_graphql::Value::Object(map) => map.get("sha256Hash").cloned(),
                _ => None,
            })
            .and_then(|h| match h {
                async_graphql::Value::String(h) => Some(h),
                _ => None,
            });
        if request.query.is_empty() {
            if let Some(body) = named.as_ref().and_then(|h| self.operations.get(h)) {
                request.query = body.clone();
                request.extensions.remove("persistedQuery");
            }
        } else if self.only && !self.operations.contains_key(&hash(&request.query)) {
            return Err(refuse());
        }
        if self.only && request.query.is_empty() {
            return Err(refuse());
        }
        Ok(())
    }
}
