//! Typed access to what every resolver needs from the request context.

use async_graphql::Context;

use crate::auth::Viewer;
use crate::error::{ApiError, ApiResult};
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
