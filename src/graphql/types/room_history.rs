//! A room's history as a connection (`Room.messages`): Relay arguments, the order, and an
//! optional `since` floor, read through the `MessagesOf` loader.

use async_graphql::{Context, Result};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::cursor;
use super::message::Message;
use super::room::{MessageConnection, MessageOrder};
use crate::graphql::fastpath::Fast;
use crate::graphql::load;
use crate::graphql::loaders::MessagesOf;
use crate::service::validate;
use crate::store::page::{DEFAULT_PAGE, Key, Page, Slice};

/// Relay arguments, as the client sent them.
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

/// One page of the room's messages in `order`; with `since`, of those created after it (and
/// then, with no size or cursor, the first 20 of them rather than the latest 20).
pub async fn messages(
    ctx: &Context<'_>,
    room_id: Uuid,
    args: PageArgs,
    order: MessageOrder,
    since: Option<DateTime<Utc>>,
) -> Result<Box<MessageConnection>> {
    let since = since
        .map(|at| validate::time("since", at.fixed_offset()))
        .transpose()?;
    let latest = if since.is_some() {
        Page::Forward {
            after: None,
            limit: DEFAULT_PAGE,
        }
    } else {
        Page::Backward {
            before: None,
            limit: DEFAULT_PAGE,
        }
    };
    let newest_first = order == MessageOrder::NewestFirst;
    let default = if newest_first {
        latest.reversed()
    } else {
        latest
    };
    let PageArgs {
        first,
        after,
        last,
        before,
    } = args;
    let mut page = cursor::page(first, after.as_deref(), last, before.as_deref(), default)?;
    if newest_first {
        page = page.reversed();
    }
    let mut slice = load(ctx, MessagesOf(room_id, page, since))
        .await?
        .unwrap_or_else(|| Slice {
            items: Vec::new(),
            has_previous: false,
            has_next: false,
        });
    if newest_first {
        slice = slice.reversed();
    }
    Ok(Box::new(cursor::connection(
        slice,
        |(m, _)| Key {
            at: m.created_at,
            id: m.id,
        },
        |(m, sender)| Fast(Message::with_sender(m, sender)),
    )))
}
