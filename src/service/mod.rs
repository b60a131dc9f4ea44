//! The rules of Confab: plain async functions over `(&AppState, &Viewer, input)`.
//!
//! Nothing here knows about HTTP or GraphQL; resolvers are thin wrappers around these.

pub mod account;
pub mod account_deletion;
pub mod admin;
pub mod audit;
pub mod blob;
pub mod call;
pub mod connection_log;
pub mod contact;
pub mod deletion;
pub mod export;
pub mod filename;
pub mod identity;
pub mod login_guard;
pub mod member;
pub mod membership;
pub mod message;
pub mod mls;
pub mod moderation;
pub mod notification;
pub mod oidc;
pub mod presence;
pub mod receipt;
pub mod recovery;
pub mod room;
pub mod search;
pub mod security;
pub mod session;
pub mod two_factor;
pub mod upload;
pub mod user;
pub mod validate;
