//! The DataLoaders of delivery receipts (`Message.deliveredTo`, `Message.status`), beside
//! [`super::loaders`] and built the same way: one statement per level of a query, whatever
//! the number of messages.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use entity::users;
use uuid::Uuid;

use crate::graphql::loaders::{LoadError, Loaders};
use crate::store;
use crate::store::receipt::Progress;

/// The users a message has reached (delivered or read), other than its sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DeliveredTo(pub Uuid);

/// How far a message's recipients have got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProgressOf(pub Uuid);

impl Loader<DeliveredTo> for Loaders {
    type Value = Arc<Vec<users::Model>>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[DeliveredTo],
    ) -> Result<HashMap<DeliveredTo, Arc<Vec<users::Model>>>, LoadError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let mut found = store::receipt::delivered_to(&self.state().db, &ids).await?;
        Ok(keys
            .iter()
            .map(|k| (*k, Arc::new(found.remove(&k.0).unwrap_or_default())))
            .collect())
    }
}

impl Loader<ProgressOf> for Loaders {
    type Value = Arc<Progress>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[ProgressOf],
    ) -> Result<HashMap<ProgressOf, Arc<Progress>>, LoadError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let found = store::receipt::progress(&self.state().db, &ids).await?;
        Ok(keys
            .iter()
            .map(|k| (*k, Arc::new(found.get(&k.0).copied().unwrap_or_default())))
            .collect())
    }
}
