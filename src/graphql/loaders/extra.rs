//! Loaders for upload and message-count reads, kept apart from the others (the parent file
//! is full): the upload of a blob a reader sees, and how many messages a room holds.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use entity::blob_uploads;
use uuid::Uuid;

use super::{LoadError, Loaded, Loaders, shared};
use crate::store;

/// The floor of a page of messages (`Room.messages(since:)`).
pub type Since = Option<chrono::DateTime<chrono::FixedOffset>>;

/// The upload of a blob (by id) that the viewer sees: their own, else one made for a room
/// they belong to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UploadSeen(pub String);

/// How many messages (not deleted) a room holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MessageCountOf(pub Uuid);

impl Loader<UploadSeen> for Loaders {
    type Value = Arc<blob_uploads::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[UploadSeen]) -> Loaded<UploadSeen, blob_uploads::Model> {
        let Some(viewer) = self.viewer_id else {
            return Ok(HashMap::new());
        };
        let ids: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
        let mut seen: HashMap<UploadSeen, blob_uploads::Model> = HashMap::new();
        for upload in store::upload::seen_by(&self.state.db, viewer, &ids).await? {
            let key = UploadSeen(upload.blob_id.clone());
            // The viewer's own upload first; else the earliest made for one of their rooms.
            let better = match seen.get(&key) {
                None => true,
                Some(kept) => {
                    kept.user_id != viewer
                        && (upload.user_id == viewer || upload.created_at < kept.created_at)
                }
            };
            if better {
                seen.insert(key, upload);
            }
        }
        Ok(shared(seen))
    }
}

impl Loader<MessageCountOf> for Loaders {
    type Value = Arc<i64>;
    type Error = LoadError;

    async fn load(&self, keys: &[MessageCountOf]) -> Loaded<MessageCountOf, i64> {
        let rooms: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let counts = store::room::message_counts(&self.state.db, &rooms).await?;
        Ok(shared(
            keys.iter()
                .map(|k| (*k, counts.get(&k.0).copied().unwrap_or(0))),
        ))
    }
}
