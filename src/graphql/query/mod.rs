//! The Query root, merged from one object per domain.

use async_graphql::MergedObject;

mod user;

#[derive(MergedObject, Default)]
pub struct Query(user::UserQuery);
