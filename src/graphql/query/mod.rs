//! The Query root, merged from one object per domain.

use async_graphql::MergedObject;

mod admin;
pub use admin::AuditEventConnection;
mod call;
mod contact;
pub use contact::ContactConnection;
pub use notification::NotificationConnection;
mod mls;
mod notification;
mod oidc;
pub mod room;
mod user;

/// Reads: the caller, users, rooms and messages, contacts, notifications, files, MLS supply,
/// statistics.
#[derive(MergedObject, Default)]
pub struct Query(
    user::UserQuery,
    room::RoomQuery,
    room::SearchQuery,
    notification::NotificationQuery,
    contact::ContactQuery,
    mls::MlsQuery,
    admin::AdminQuery,
    call::CallQuery,
    oidc::OidcQuery,
);
