//! Rooms the caller belongs to.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use crate::auth::{self, Viewer};
use crate::graphql::fastpath::Fast;
use crate::graphql::types::room::MessageConnection;
use crate::graphql::types::{Message, Room, cursor};
use crate::graphql::{state, viewer};
use crate::state::AppState;
use crate::store::page::{DEFAULT_PAGE, MAX_PAGE, Page};
use crate::{service, store};

pub type RoomConnection = Connection<cursor::Cursor, Room>;

#[derive(Default)]
pub struct RoomQuery;

#[Object]
impl RoomQuery {
    /// A room the caller is a member of; null otherwise (whether or not it exists).
    async fn room(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The room.")] id: Uuid,
    ) -> Result<Option<Room>> {
        let viewer = auth::require(viewer(ctx))?;
        Ok(service::room::visible(state(ctx)?, viewer, id)
            .await?
            .map(Room))
    }

    /// A message in a room the caller is an active member of (deleted ones too, as the room's
    /// history shows them); NOT_FOUND otherwise, whether or not it exists.
    async fn message(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The message.")] id: Uuid,
    ) -> Result<Fast<Message>> {
        let viewer = auth::require(viewer(ctx))?;
        let (message, _) = service::message::visible(state(ctx)?, viewer, id).await?;
        Ok(Fast(Message::new(message)))
    }

    /// The caller's rooms, newest activity first: archived ones only (`archived: true`), those
    /// not archived only (`false`), or all (omitted or null). At most 100 a page.
    #[graphql(
        complexity = "first.or(last).unwrap_or(DEFAULT_PAGE as i32).clamp(1, MAX_PAGE as i32) as usize * child_complexity"
    )]
    async fn my_rooms(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many items, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Continue after this cursor.")] after: Option<String>,
        #[graphql(desc = "How many items counting back from the end, at most 100.")] last: Option<
            i32,
        >,
        #[graphql(desc = "Continue before this cursor.")] before: Option<String>,
        #[graphql(
            desc = "True: archived rooms only; false: rooms not archived only; null or omitted: all."
        )]
        archived: Option<bool>,
    ) -> Result<RoomConnection> {
        let viewer = auth::require(viewer(ctx))?;
        let page = cursor::page(
            first,
            after.as_deref(),
            last,
            before.as_deref(),
            Page::Forward {
                after: None,
                limit: DEFAULT_PAGE,
            },
        )?;
        Ok(rooms_of(state(ctx)?, viewer, viewer.id(), page, archived).await?)
    }
}

#[derive(Default)]
pub struct SearchQuery;

#[Object]
impl SearchQuery {
    /// Messages whose body contains all the words of `query`, best match first, in the
    /// caller's rooms (or one of them). Deleted messages are never found. At most 100 a page.
    #[graphql(
        complexity = "first.unwrap_or(DEFAULT_PAGE as i32).clamp(1, MAX_PAGE as i32) as usize * child_complexity"
    )]
    async fn search_messages(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Words to find; all must match.")] query: String,
        #[graphql(desc = "Search one room only.")] room_id: Option<Uuid>,
        #[graphql(desc = "How many items, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Continue after this cursor.")] after: Option<String>,
    ) -> Result<MessageConnection> {
        let viewer = auth::require(viewer(ctx))?;
        let Page::Forward { limit, .. } = Page::from_args(
            first,
            None,
            None,
            None,
            Page::Forward {
                after: None,
                limit: DEFAULT_PAGE,
            },
        )?
        else {
            return Err(crate::error::ApiError::bad_input("first", "pass first").into());
        };
        let offset = cursor::decode_offset("after", after.as_deref())?;
        let mut found =
            service::search::search(state(ctx)?, viewer, &query, room_id, offset, limit as u64)
                .await?;
        let has_next = found.len() > limit;
        found.truncate(limit);
        let mut connection = Connection::new(offset > 0, has_next);
        connection
            .edges
            .extend(found.into_iter().enumerate().map(|(i, m)| {
                Edge::new(
                    cursor::Cursor::Offset(offset + i as u64 + 1),
                    Fast(Message::new(m)),
                )
            }));
        Ok(connection)
    }
}

/// A page of the rooms `member_id` shares with the viewer (archived or not, as `archived`
/// says; both when `None`), as a Relay connection.
pub async fn rooms_of(
    state: &AppState,
    viewer: &Viewer,
    member_id: Uuid,
    page: Page,
    archived: Option<bool>,
) -> crate::error::ApiResult<RoomConnection> {
    let slice =
        store::room::shared_with(&state.reads(), viewer.id(), member_id, page, archived).await?;
    Ok(cursor::connection(
        slice,
        |(_, key)| *key,
        |(room, _)| Room(room),
    ))
}
