//! The rules of Confab: plain async functions over `(&AppState, &Viewer, input)`.
//!
//! Nothing here knows about HTTP or GraphQL; resolvers are thin wrappers around these.

pub mod account;
pub mod user;
pub mod validate;
