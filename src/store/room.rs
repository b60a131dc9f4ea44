//! Reading rooms: a room with the caller's membership, the rooms two users share by latest
//! activity, rooms by id, how many messages rooms hold.

use std::collections::HashMap;
use std::sync::LazyLock;

use entity::{room_members, rooms};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryTrait,
};
use uuid::Uuid;

use super::page::{Key, Page, Slice, keyset};
use super::rows::{self, Positional as _};
use super::sql::Sql;
use crate::db::direct::Source;

/// A live room and `user_id`'s active membership of it, if both exist.
pub async fn with_membership(
    db: &impl Source,
    room_id: Uuid,
    user_id: Uuid,
) -> Result<Option<(rooms::Model, room_members::Model)>, DbErr> {
    // Every room-scoped query and mutation starts here: one statement, read by position.
    static SELECT: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {}, {} FROM rooms r JOIN room_members m ON m.room_id = r.id WHERE r.id = ",
            rows::columns::<rooms::Model>("r"),
            rows::columns::<room_members::Model>("m"),
        )
    });
    let mut query = Sql::new(&SELECT);
    query
        .bind(room_id)
        .push(" AND r.deleted_at IS NULL AND m.user_id = ")
        .bind(user_id)
        .push(" AND m.left_at IS NULL");
    let found = rows::fetch(db, query, |row| {
        Ok((
            rooms::Model::read(row, 0)?,
            room_members::Model::read(row, rooms::Model::COLUMNS)?,
        ))
    })
    .await?;
    Ok(found.into_iter().next())
}

/// Rooms `member_id` belongs to that the caller also belongs to (all the caller's rooms when
/// `member_id` is the caller), latest activity (last message, else creation) first. Keyed on
/// `(activity, id)`; "after" walks toward older activity. `archived`: only archived rooms
/// (true), only rooms not archived (false), or both (`None`). One statement, read by position
/// (on SQLite's readers where `db` has them).
pub async fn shared_with(
    db: &impl Source,
    viewer_id: Uuid,
    member_id: Uuid,
    page: Page,
    archived: Option<bool>,
) -> Result<Slice<(rooms::Model, Key)>, DbErr> {
    let (cursor, limit, newest_first) = match page {
        Page::Forward { after, limit } => (after, limit, true),
        Page::Backward { before, limit } => (before, limit, false),
    };
    static SELECT: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {}, r.activity_at FROM ( \
               SELECT r.*, COALESCE((SELECT MAX(m.created_at) FROM messages m WHERE m.room_id = r.id), r.created_at) AS activity_at \
               FROM rooms r \
               JOIN room_members rm ON rm.room_id = r.id AND rm.user_id = ",
            rows::columns::<rooms::Model>("r")
        )
    });
    let mut query = Sql::new(&SELECT);
    query
        .bind(member_id)
        .push(" AND rm.left_at IS NULL JOIN room_members rv ON rv.room_id = r.id AND rv.user_id = ")
        .bind(viewer_id)
        .push(" AND rv.left_at IS NULL WHERE r.deleted_at IS NULL");
    match archived {
        Some(true) => query.push(" AND r.archived_at IS NOT NULL"),
        Some(false) => query.push(" AND r.archived_at IS NULL"),
        None => &mut query,
    };
    query.push(") r");
    if let Some(key) = cursor {
        let op = if newest_first { " < " } else { " > " };
        query
            .push(" WHERE (r.activity_at")
            .push(op)
            .bind(key.at)
            .push(" OR (r.activity_at = ")
            .bind(key.at)
            .push(" AND r.id")
            .push(op)
            .bind(key.id)
            .push("))");
    }
    let order = if newest_first { "DESC" } else { "ASC" };
    query
        .push(&format!(
            " ORDER BY r.activity_at {order}, r.id {order} LIMIT "
        ))
        .bind((limit + 1) as i64);
    let items = rows::fetch(db, query, |row| {
        let room = rooms::Model::read(row, 0)?;
        let key = Key {
            at: row.time(rooms::Model::COLUMNS)?,
            id: room.id,
        };
        Ok((room, key))
    })
    .await?;
    Ok(Slice::from_probe(page, items))
}

/// A page of the rooms not deleted, oldest first (`keyset` on creation), read by position.
pub async fn live(db: &impl Source, page: Page) -> Result<Slice<rooms::Model>, DbErr> {
    let query = keyset(
        rooms::Entity::find().filter(rooms::Column::DeletedAt.is_null()),
        rooms::Column::CreatedAt,
        rooms::Column::Id,
        page,
        false,
    );
    let statement = query.build(db.get_database_backend());
    let rows = rows::fetch_statement(db, statement, |row| rooms::Model::read(row, 0)).await?;
    Ok(Slice::from_probe(page, rows))
}

/// Rooms by id.
pub async fn many(db: &impl Source, ids: Vec<Uuid>) -> Result<Vec<rooms::Model>, DbErr> {
    rows::by_id(db, ids).await
}

#[derive(FromQueryResult)]
struct RoomCount {
    room_id: Uuid,
    n: i64,
}

/// How many messages (not deleted) each of `room_ids` holds, in one statement: a count of
/// each room's range of the `(room_id, created_at, id)` index.
pub async fn message_counts(
    db: &impl ConnectionTrait,
    room_ids: &[Uuid],
) -> Result<HashMap<Uuid, i64>, DbErr> {
    if room_ids.is_empty() {
        return Ok(Default::default());
    }
    let mut query = Sql::new("SELECT room_id, COUNT(*) AS n FROM messages WHERE room_id IN (");
    query
        .list(room_ids.iter().copied())
        .push(") AND deleted_at IS NULL GROUP BY room_id");
    let rows = RoomCount::find_by_statement(query.statement(db.get_database_backend()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.room_id, r.n)).collect())
}
