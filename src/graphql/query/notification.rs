//! The caller's notification inbox.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Object, Result};

use crate::auth;
use crate::graphql::types::cursor;
use crate::graphql::types::event::Notification;
use crate::graphql::{state, viewer};
use crate::service;
use crate::service::page::{DEFAULT_PAGE, Key, MAX_PAGE, Page};

pub type NotificationConnection = Connection<String, Notification>;

#[derive(Default)]
pub struct NotificationQuery;

#[Object]
impl NotificationQuery {
    /// The caller's notifications, newest first; only unread ones with `unreadOnly: true`.
    #[graphql(
        complexity = "first.unwrap_or(DEFAULT_PAGE as i32).clamp(1, MAX_PAGE as i32) as usize * child_complexity"
    )]
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        unread_only: Option<bool>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<NotificationConnection> {
        let viewer = auth::require(viewer(ctx))?;
        let page = Page::from_args(
            first,
            cursor::decode("after", after.as_deref())?,
            None,
            None,
            Page::Forward {
                after: None,
                limit: DEFAULT_PAGE,
            },
        )?;
        let slice = service::notification::list(
            &state(ctx)?.db,
            viewer,
            unread_only.unwrap_or(false),
            page,
        )
        .await?;
        let mut connection = Connection::new(slice.has_previous, slice.has_next);
        connection.edges.extend(slice.items.into_iter().map(|n| {
            let key = Key {
                at: n.created_at,
                id: n.id,
            };
            Edge::new(cursor::encode(key), Notification(n))
        }));
        Ok(connection)
    }
}
