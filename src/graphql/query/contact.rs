//! The caller's contacts.

use async_graphql::connection::Connection;
use async_graphql::{Context, Object, Result};

use crate::auth;
use crate::graphql::types::contact::{Contact, ContactStatus};
use crate::graphql::types::cursor;
use crate::graphql::{state, viewer};
use crate::service;
use crate::store::page::{DEFAULT_PAGE, Key, MAX_PAGE};

pub type ContactConnection = Connection<cursor::Cursor, Contact>;

#[derive(Default)]
pub struct ContactQuery;

#[Object]
impl ContactQuery {
    /// The caller's contacts, oldest first, optionally of one status (BLOCKED lists the users
    /// the caller blocked).
    #[graphql(
        complexity = "first.unwrap_or(DEFAULT_PAGE as i32).clamp(1, MAX_PAGE as i32) as usize * child_complexity"
    )]
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only contacts with this status.")] status: Option<ContactStatus>,
        #[graphql(desc = "How many items, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Continue after this cursor.")] after: Option<String>,
    ) -> Result<ContactConnection> {
        let viewer = auth::require(viewer(ctx))?;
        let page = cursor::forward(first, after.as_deref())?;
        let slice =
            service::contact::list(state(ctx)?, viewer, status.map(ContactStatus::as_db), page)
                .await?;
        Ok(cursor::connection(
            slice,
            |c| Key {
                at: c.created_at,
                id: c.contact_id,
            },
            Contact,
        ))
    }
}
