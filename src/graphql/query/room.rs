//! Rooms the caller belongs to.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use crate::auth::{self, Viewer};
use crate::graphql::types::{Room, cursor};
use crate::graphql::{state, viewer};
use crate::service;
use crate::service::page::{DEFAULT_PAGE, MAX_PAGE, Page};
use crate::state::AppState;

pub type RoomConnection = Connection<String, Room>;

#[derive(Default)]
pub struct RoomQuery;

#[Object]
impl RoomQuery {
    /// A room the caller is a member of; null otherwise (whether or not it exists).
    async fn room(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<Room>> {
        let viewer = auth::require(viewer(ctx))?;
        Ok(service::room::visible(state(ctx)?, viewer, id)
            .await?
            .map(Room))
    }

    /// The caller's rooms, newest activity first. At most 100 a page.
    #[graphql(
        complexity = "first.or(last).unwrap_or(DEFAULT_PAGE as i32).clamp(1, MAX_PAGE as i32) as usize * child_complexity"
    )]
    async fn my_rooms(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<RoomConnection> {
        let viewer = auth::require(viewer(ctx))?;
        let page = Page::from_args(
            first,
            cursor::decode("after", after.as_deref())?,
            last,
            cursor::decode("before", before.as_deref())?,
            Page::Forward {
                after: None,
                limit: DEFAULT_PAGE,
            },
        )?;
        Ok(rooms_of(state(ctx)?, viewer, viewer.id(), page).await?)
    }
}

/// A page of the rooms `member_id` shares with the viewer, as a Relay connection.
pub async fn rooms_of(
    state: &AppState,
    viewer: &Viewer,
    member_id: Uuid,
    page: Page,
) -> crate::error::ApiResult<RoomConnection> {
    let slice = service::room::shared_with(state, viewer, member_id, page).await?;
    let mut connection = Connection::new(slice.has_previous, slice.has_next);
    connection.edges.extend(
        slice
            .items
            .into_iter()
            .map(|(room, key)| Edge::new(cursor::encode(key), Room(room))),
    );
    Ok(connection)
}
