//! The Mutation root, merged from one object per domain. Mutations take one `input` object and
//! return a payload.

use async_graphql::MergedObject;

mod account;

#[derive(MergedObject, Default)]
pub struct Mutation(account::AccountMutation);
