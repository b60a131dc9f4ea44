//! The GraphQL API: one schema built by [`schema_builder`], shared by the server, the tests and
//! `confab export-schema`. Root objects are merged per domain; resolvers are thin and call
//! `crate::service`.

use async_graphql::{Schema, SchemaBuilder};

use crate::state::AppState;

mod context;
pub mod fastpath;
mod introspection;
pub mod limits;
pub mod loaders;
pub mod mutation;
pub mod persisted;
mod pipeline;
pub mod query;
pub mod receipts;
pub mod subscription;
pub mod types;
mod wording;

pub use context::{client, client_ip, load, load_many, state, viewer};
pub use pipeline::Pipeline;

pub type AppSchema = Schema<query::Query, mutation::Mutation, subscription::Subscription>;

/// The schema without runtime data; [`build_schema`] adds the configured limits.
pub fn schema_builder()
-> SchemaBuilder<query::Query, mutation::Mutation, subscription::Subscription> {
    Schema::build(
        query::Query::default(),
        mutation::Mutation::default(),
        subscription::Subscription,
    )
    // The built-in scalars' descriptions are written for Rust programmers ("Implement the
    // DateTime<Utc> scalar"); these are for the clients reading schema.graphql.
    .override_output_type_description::<chrono::DateTime<chrono::Utc>>(
        "A point in time, UTC, as an RFC 3339 string: `2026-12-06T17:31:31.123456+00:00`. Inputs may carry any offset (`2026-12-06T18:31:31+01:00`, `Z`) and are read as that instant; a time outside the years 1 to 9999 is BAD_USER_INPUT.",
    )
    .override_output_type_description::<uuid::Uuid>(
        "An id: a UUID string, `0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b` (ids Confab makes are version 7, ordered by creation time). Inputs are read in any case, also without hyphens; anything else is BAD_USER_INPUT naming the argument.",
    )
    .override_output_type_description::<query::room::RoomConnection>(
        "A page of rooms (Relay connection): `edges { cursor node }`, `nodes`, `pageInfo`.",
    )
    .override_output_type_description::<types::blob::UploadConnection>(
        "A page of uploads, newest first (Relay connection): `edges { cursor node }`, `nodes`, `pageInfo`; each node is the blob with that upload's `filename`, `room`, `uploadedBy`, `uploadedAt`.",
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
    .override_output_type_description::<types::call_history::CallHistoryConnection>(
        "A page of calls (Relay connection): `edges { cursor node }`, `nodes`, `pageInfo`.",
    )
    .override_output_type_description::<types::call_history::ConnectionLogEntryConnection>(
        "A page of connection events (Relay connection): `edges { cursor node }`, `nodes`, `pageInfo`.",
    )
    .override_output_type_description::<types::member_history::MemberStintConnection>(
        "A page of membership stints (Relay connection): `edges { cursor node }`, `nodes`, `pageInfo`.",
    )
    .override_output_type_description::<query::AuditEventConnection>(
        "A page of audit events, newest first (Relay connection): `edges { cursor node }`, `nodes`, `pageInfo`.",
    )
}

/// The executable schema, holding the shared state, behind the request pipeline. The schema
/// has no extensions: see [`pipeline`] for why. With `--introspection=false` it answers no
/// `__schema` or `__type` and names no field in its errors ("Did you mean ...?"); the SDL
/// ([`sdl`], `confab export-schema`) does not depend on that setting.
pub fn build_schema(state: AppState, allow_list: Option<persisted::AllowList>) -> Pipeline {
    let limits = &state.config.limits;
    let shape = limits::ShapeLimits::from(limits);
    let introspection = state.config.exposure.introspection;
    let mut builder = schema_builder()
        .limit_depth(limits.depth)
        .limit_complexity(limits.complexity);
    if !introspection {
        // Both show the schema: refusing one and not the other would hide nothing. The
        // pipeline refuses introspection with an error (`introspection::refuse`); this
        // switch alone would answer it with null.
        builder = builder.disable_introspection().disable_suggestions();
    }
    let schema = builder.data(state).finish();
    Pipeline::new(schema, shape, allow_list, introspection)
}

/// The SDL clients generate code from; `schema.graphql` must equal this.
pub fn sdl() -> String {
    schema_builder().finish().sdl()
}
