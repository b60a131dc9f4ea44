//! Reading the history of calls: a page of each room's calls (newest first), a page of each
//! call's connection events (oldest first), a page of connection events by room, user, kind
//! and time (newest first), the caller's call session with its call, and the room a join code
//! names.
//!
//! The pages of many parents come from one statement, numbered per parent with
//! `ROW_NUMBER()`: a room list asking for each room's calls, or a call list asking for each
//! call's events, costs one statement whatever its length.

use std::collections::HashMap;

use entity::{call_sessions, calls, connection_logs, rooms};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter};
use uuid::Uuid;

use chrono::{DateTime, FixedOffset};

use super::page::{Key, Page, Slice, keyset};
use super::sql::Sql;

/// Which way a list runs on its `(time, id)` key.
#[derive(Clone, Copy)]
pub(super) enum Order {
    OldestFirst,
    NewestFirst,
}

/// The key comparison and direction a page walks in: a forward page walks in list order, a
/// backward one against it (see [`Slice::from_probe`]).
fn walk(page: Page, order: Order) -> (Option<Key>, usize, &'static str, &'static str) {
    let descending = matches!(
        (page, order),
        (Page::Forward { .. }, Order::NewestFirst) | (Page::Backward { .. }, Order::OldestFirst)
    );
    let (cursor, limit) = match page {
        Page::Forward { after, limit } => (after, limit),
        Page::Backward { before, limit } => (before, limit),
    };
    if descending {
        (cursor, limit, "<", "DESC")
    } else {
        (cursor, limit, ">", "ASC")
    }
}

/// One page per parent: `inner` selects the rows with their parent id as `parent` and their
/// key as `at, id`; each parent's first `limit + 1` rows past `cursor` are kept, in walking
/// order.
pub(super) fn numbered(inner: Sql, page: Page, order: Order) -> Sql {
    let (cursor, limit, op, direction) = walk(page, order);
    let mut query = Sql::new(
        "SELECT t.* FROM (SELECT i.*, ROW_NUMBER() OVER (PARTITION BY i.parent ORDER BY i.at ",
    );
    query
        .push(direction)
        .push(", i.id ")
        .push(direction)
        .push(") AS rn FROM (")
        .append(inner)
        .push(") i");
    if let Some(key) = cursor {
        // A row value, as `page::keyset` compares: both backends read it as a range.
        query
            .push(" WHERE (i.at, i.id) ")
            .push(op)
            .push(" (")
            .bind(key.at)
            .push(", ")
            .bind(key.id)
            .push(")");
    }
    query
        .push(") t WHERE t.rn <= ")
        .bind(i64::try_from(limit + 1).unwrap_or(i64::MAX))
        .push(" ORDER BY t.parent, t.rn");
    query
}

/// Groups rows by parent into one slice per asked parent (empty for those without rows).
pub(super) fn slices<T>(
    parents: &[Uuid],
    page: Page,
    rows: Vec<(Uuid, T)>,
) -> HashMap<Uuid, Slice<T>> {
    let mut grouped: HashMap<Uuid, Vec<T>> = HashMap::new();
    for (parent, row) in rows {
        grouped.entry(parent).or_default().push(row);
    }
    parents
        .iter()
        .map(|id| {
            (
                *id,
                Slice::from_probe(page, grouped.remove(id).unwrap_or_default()),
            )
        })
        .collect()
}

/// A page of each room's calls, live and ended, newest first on `(started_at, id)`.
pub async fn calls_of_rooms(
    db: &impl ConnectionTrait,
    room_ids: &[Uuid],
    page: Page,
) -> Result<HashMap<Uuid, Slice<calls::Model>>, DbErr> {
    if room_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut inner = Sql::new(
        "SELECT c.*, c.room_id AS parent, c.started_at AS at FROM calls c WHERE c.room_id IN (",
    );
    inner.list(room_ids.iter().copied()).push(")");
    let statement = numbered(inner, page, Order::NewestFirst).statement(db.get_database_backend());
    let found = db.query_all_raw(statement).await?;
    let mut rows = Vec::with_capacity(found.len());
    for row in found {
        let call = calls::Model::from_query_result(&row, "")?;
        rows.push((call.room_id, call));
    }
    Ok(slices(room_ids, page, rows))
}

/// A page of each call's connection events (those that name one of its sessions), oldest
/// first on `(created_at, id)`.
pub async fn events_of_calls(
    db: &impl ConnectionTrait,
    call_ids: &[Uuid],
    page: Page,
) -> Result<HashMap<Uuid, Slice<connection_logs::Model>>, DbErr> {
    if call_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut inner = Sql::new(
        "SELECT l.*, s.call_id AS parent, l.created_at AS at FROM connection_logs l \
         JOIN call_sessions s ON s.id = l.call_session_id WHERE s.call_id IN (",
    );
    inner.list(call_ids.iter().copied()).push(")");
    let statement = numbered(inner, page, Order::OldestFirst).statement(db.get_database_backend());
    let found = db.query_all_raw(statement).await?;
    let mut rows = Vec::with_capacity(found.len());
    for row in found {
        let parent: Uuid = row.try_get("", "parent")?;
        rows.push((parent, connection_logs::Model::from_query_result(&row, "")?));
    }
    Ok(slices(call_ids, page, rows))
}

/// A call session with its call, if the session exists.
pub async fn session_with_call(
    db: &impl ConnectionTrait,
    session_id: Uuid,
) -> Result<Option<(call_sessions::Model, calls::Model)>, DbErr> {
    let found = call_sessions::Entity::find_by_id(session_id)
        .find_also_related(calls::Entity)
        .one(db)
        .await?;
    Ok(found.and_then(|(session, call)| Some((session, call?))))
}

/// The live (not deleted, not archived) group room with this join code, if any.
pub async fn room_with_code(
    db: &impl ConnectionTrait,
    code: &str,
) -> Result<Option<rooms::Model>, DbErr> {
    rooms::Entity::find()
        .filter(rooms::Column::JoinCode.eq(code))
        .filter(rooms::Column::Kind.eq(super::kinds::RoomKind::Group.as_str()))
        .filter(rooms::Column::DeletedAt.is_null())
        .filter(rooms::Column::ArchivedAt.is_null())
        .one(db)
        .await
}

/// Which connection events [`events`] reads: every given part must hold.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub room_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub event: Option<&'static str>,
    pub since: Option<DateTime<FixedOffset>>,
    pub until: Option<DateTime<FixedOffset>>,
}

/// A page of connection events matching `filter`, newest first on `(created_at, id)` (the
/// `(room_id, created_at)` and `(user_id, created_at)` indexes serve a room's and a user's).
pub async fn events(
    db: &impl ConnectionTrait,
    filter: &EventFilter,
    page: Page,
) -> Result<Slice<connection_logs::Model>, DbErr> {
    use connection_logs::Column;
    let mut query = connection_logs::Entity::find();
    if let Some(room_id) = filter.room_id {
        query = query.filter(Column::RoomId.eq(room_id));
    }
    if let Some(user_id) = filter.user_id {
        query = query.filter(Column::UserId.eq(user_id));
    }
    if let Some(event) = filter.event {
        query = query.filter(Column::Event.eq(event));
    }
    if let Some(since) = filter.since {
        query = query.filter(Column::CreatedAt.gte(since));
    }
    if let Some(until) = filter.until {
        query = query.filter(Column::CreatedAt.lt(until));
    }
    let rows = keyset(query, Column::CreatedAt, Column::Id, page, true)
        .all(db)
        .await?;
    Ok(Slice::from_probe(page, rows))
}
