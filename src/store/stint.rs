//! Membership history: one `room_member_stints` row per stint of a user in a room, opened
//! when they join (or rejoin) and closed when they leave, always in the transaction that
//! changes their `room_members` row.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset};
use entity::room_member_stints;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, FromQueryResult, Set};
use uuid::Uuid;

use super::call_history::{Order, numbered, slices};
use super::page::{Page, Slice};
use super::sql::Sql;

/// Opens a stint for each of `user_ids` in `room_id`, from `at`.
pub async fn open(
    db: &impl ConnectionTrait,
    room_id: Uuid,
    user_ids: &[Uuid],
    at: DateTime<FixedOffset>,
) -> Result<(), DbErr> {
    if user_ids.is_empty() {
        return Ok(());
    }
    room_member_stints::Entity::insert_many(user_ids.iter().map(|user_id| {
        room_member_stints::ActiveModel {
            id: Set(Uuid::now_v7()),
            room_id: Set(room_id),
            user_id: Set(*user_id),
            joined_at: Set(at),
            left_at: Set(None),
        }
    }))
    .exec(db)
    .await?;
    Ok(())
}

/// Closes the open stint of `user_id` in `room_id` at `at`.
pub async fn close(
    db: &impl ConnectionTrait,
    room_id: Uuid,
    user_id: Uuid,
    at: DateTime<FixedOffset>,
) -> Result<(), DbErr> {
    let mut query = Sql::new("UPDATE room_member_stints SET left_at = ");
    query
        .bind(at)
        .push(" WHERE room_id = ")
        .bind(room_id)
        .push(" AND user_id = ")
        .bind(user_id)
        .push(" AND left_at IS NULL");
    db.execute_raw(query.statement(db.get_database_backend()))
        .await?;
    Ok(())
}

/// A page of each room's stints, newest first on `(joined_at, id)`: one statement for any
/// number of rooms.
pub async fn of_rooms(
    db: &impl ConnectionTrait,
    room_ids: &[Uuid],
    page: Page,
) -> Result<HashMap<Uuid, Slice<room_member_stints::Model>>, DbErr> {
    if room_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut inner = Sql::new(
        "SELECT s.*, s.room_id AS parent, s.joined_at AS at FROM room_member_stints s \
         WHERE s.room_id IN (",
    );
    inner.list(room_ids.iter().copied()).push(")");
    let statement = numbered(inner, page, Order::NewestFirst).statement(db.get_database_backend());
    let found = db.query_all_raw(statement).await?;
    let mut rows = Vec::with_capacity(found.len());
    for row in found {
        let stint = room_member_stints::Model::from_query_result(&row, "")?;
        rows.push((stint.room_id, stint));
    }
    Ok(slices(room_ids, page, rows))
}
