//! The GraphQL API: one schema built by [`schema_builder`], shared by the server, the tests and
//! `confab export-schema`. Root objects are merged per domain; resolvers are thin and call
//! `crate::service`.

use async_graphql::{Schema, SchemaBuilder};

use crate::state::AppState;

mod context;
mod extension;
pub mod limits;
pub mod loaders;
pub mod mutation;
pub mod query;
pub mod subscription;
pub mod types;

pub use context::{load, load_many, state, viewer};
pub use extension::RequestId;

/// Nesting deeper than this is refused before execution.
pub const MAX_DEPTH: usize = 16;
/// The summed cost of the fields of one operation (a field costs 1, a page `first` times more).
pub const MAX_COMPLEXITY: usize = 5_000;

pub type AppSchema = Schema<query::Query, mutation::Mutation, subscription::Subscription>;

/// The schema with its limits and extensions but without runtime data.
pub fn schema_builder()
-> SchemaBuilder<query::Query, mutation::Mutation, subscription::Subscription> {
    Schema::build(
        query::Query::default(),
        mutation::Mutation::default(),
        subscription::Subscription,
    )
    .override_output_type_description::<query::room::RoomConnection>(
        "A page of rooms (Relay connection): `edges { cursor node }`, `nodes`, `pageInfo`.",
    )
    .override_output_type_description::<types::room::MessageConnection>(
        "A page of messages (Relay connection): `edges { cursor node }`, `nodes`, `pageInfo`.",
    )
    .override_output_type_description::<query::NotificationConnection>(
        "A page of notifications (Relay connection): `edges { cursor node }`, `nodes`, `pageInfo`.",
    )
    .override_output_type_description::<query::ContactConnection>(
        "A page of contacts (Relay connection): `edges { cursor node }`, `nodes`, `pageInfo`.",
    )
    .limit_depth(MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY)
    .extension(extension::ErrorCodes)
}

/// The executable schema, holding the shared state.
pub fn build_schema(state: AppState) -> AppSchema {
    schema_builder()
        .extension(limits::ShapeLimits::from(&state.config.limits))
        .data(state)
        .finish()
}

/// The SDL clients generate code from; `schema.graphql` must equal this.
pub fn sdl() -> String {
    schema_builder().finish().sdl()
}
