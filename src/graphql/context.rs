//! Typed access to what every resolver needs from the request context.

use std::hash::Hash;

use async_graphql::Context;
use async_graphql::dataloader::Loader;

use crate::auth::Viewer;
use crate::error::{ApiError, ApiResult};
use crate::graphql::loaders::{ChatLoader, LoadError, Loaders};
use crate::state::AppState;

/// The shared state the schema was built with.
pub fn state<'a>(ctx: &Context<'a>) -> ApiResult<&'a AppState> {
    ctx.data::<AppState>()
        .map_err(|_| ApiError::internal(anyhow::anyhow!("schema built without AppState")))
}

/// The signed-in caller, if any.
pub fn viewer<'a>(ctx: &Context<'a>) -> Option<&'a Viewer> {
    ctx.data_opt::<Viewer>()
}

/// Loads one value through the request's DataLoader (batched with its siblings).
pub async fn load<K>(ctx: &Context<'_>, key: K) -> ApiResult<Option<<Loaders as Loader<K>>::Value>>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    Loaders: Loader<K, Error = LoadError>,
{
    let loader = ctx
        .data::<ChatLoader>()
        .map_err(|_| ApiError::internal(anyhow::anyhow!("request without loaders")))?;
    // Unconstrained: awaiting a loaded value must not spend tokio's cooperative budget, or a
    // level with hundreds of fields would yield part-way and its next loads could miss the batch.
    Ok(tokio::task::unconstrained(loader.load_one(key)).await?)
}

/// Loads many values through the request's DataLoader.
pub async fn load_many<K>(
    ctx: &Context<'_>,
    keys: impl IntoIterator<Item = K>,
) -> ApiResult<std::collections::HashMap<K, <Loaders as Loader<K>>::Value>>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    Loaders: Loader<K, Error = LoadError>,
{
    let loader = ctx
        .data::<ChatLoader>()
        .map_err(|_| ApiError::internal(anyhow::anyhow!("request without loaders")))?;
    Ok(tokio::task::unconstrained(loader.load_many(keys)).await?)
}
