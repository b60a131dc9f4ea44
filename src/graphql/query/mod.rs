//! The Query root, merged from one object per domain.

use async_graphql::MergedObject;

mod admin;
mod contact;
mod mls;
mod notification;
pub mod room;
mod user;

#[derive(MergedObject, Default)]
pub struct Query(
    user::UserQuery,
    room::RoomQuery,
    room::SearchQuery,
    notification::NotificationQuery,
    contact::ContactQuery,
    mls::MlsQuery,
    admin::AdminQuery,
);
