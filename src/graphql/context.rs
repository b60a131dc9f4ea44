//! Typed access to what every resolver needs from the request context.

use std::hash::Hash;
use std::sync::Arc;

use async_graphql::DataContext;
use async_graphql::dataloader::Loader;

use crate::auth::{ClientInfo, Viewer};
use crate::error::{ApiError, ApiResult};
use crate::graphql::loaders::{ChatLoader, LoadError, Loaders};
use crate::state::AppState;

// Each helper takes any context (a field's, or a selection set's in `direct`).

/// The state: the HTTP worker's (with its database pool), which the request's loaders carry,
/// else the one the schema was built with.
pub fn state<'a>(ctx: &impl DataContext<'a>) -> ApiResult<&'a AppState> {
    ctx.data_opt::<ChatLoader>()
        .map(|loaders| loaders.loader().state())
        .or_else(|| ctx.data_opt::<AppState>())
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("schema built without AppState")))
}

/// The signed-in caller, if any.
pub fn viewer<'a>(ctx: &impl DataContext<'a>) -> Option<&'a Viewer> {
    ctx.data_opt::<Viewer>()
}

/// Where the request came from (address, user agent): empty when the transport gave none.
pub fn client<'a>(ctx: &impl DataContext<'a>) -> ClientInfo {
    ctx.data_opt::<ClientInfo>().cloned().unwrap_or_default()
}

/// The caller's address, for the audit log.
pub fn client_ip<'a>(ctx: &impl DataContext<'a>) -> Option<String> {
    ctx.data_opt::<ClientInfo>().and_then(|c| c.ip.clone())
}

/// Loads one value through the request's DataLoader (batched with its siblings), out of the
/// `Arc` it travelled in (see `loaders::Loaded`): moved when this is its only holder, copied
/// otherwise.
pub async fn load<'a, K, V>(ctx: &(impl DataContext<'a> + Sync), key: K) -> ApiResult<Option<V>>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    V: Clone + Send + Sync + 'static,
    Loaders: Loader<K, Value = Arc<V>, Error = LoadError>,
{
    let loader = ctx
        .data::<ChatLoader>()
        .map_err(|_| ApiError::internal(anyhow::anyhow!("request without loaders")))?;
    // Unconstrained: awaiting a loaded value must not spend tokio's cooperative budget, or a
    // level with hundreds of fields would yield part-way and its next loads could miss the batch.
    let value = tokio::task::unconstrained(loader.load_one(key)).await?;
    Ok(value.map(|value| Arc::try_unwrap(value).unwrap_or_else(|shared| (*shared).clone())))
}

/// Loads many values through the request's DataLoader.
pub async fn load_many<'a, K>(
    ctx: &(impl DataContext<'a> + Sync),
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
