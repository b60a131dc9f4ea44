//! Contact requests and blocks.

use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use crate::auth;
use crate::graphql::types::contact::Contact;
use crate::graphql::{state, viewer};
use crate::service;

#[derive(Default)]
pub struct ContactMutation;

#[Object]
impl ContactMutation {
    /// Asks a user to become a contact (accepts instead if they already asked the caller).
    async fn request_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user.")] user_id: Uuid,
    ) -> Result<Contact> {
        let viewer = auth::require(viewer(ctx))?;
        Ok(Contact(
            service::contact::request(state(ctx)?, viewer, user_id).await?,
        ))
    }

    /// Accepts a user's pending request.
    async fn accept_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user.")] user_id: Uuid,
    ) -> Result<Contact> {
        let viewer = auth::require(viewer(ctx))?;
        Ok(Contact(
            service::contact::accept(state(ctx)?, viewer, user_id).await?,
        ))
    }

    /// Declines or withdraws a request, removes a contact, or lifts the caller's block.
    async fn decline_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user.")] user_id: Uuid,
    ) -> Result<bool> {
        let viewer = auth::require(viewer(ctx))?;
        Ok(service::contact::decline(state(ctx)?, viewer, user_id).await?)
    }

    /// Blocks a user: they can no longer open a direct room with or message the caller.
    async fn block_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user.")] user_id: Uuid,
    ) -> Result<Contact> {
        let viewer = auth::require(viewer(ctx))?;
        Ok(Contact(
            service::contact::block(state(ctx)?, viewer, user_id).await?,
        ))
    }
}
