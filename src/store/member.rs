//! Memberships: how many a room has, each room's members with their users, and moving a
//! member's receipt markers forward.

use entity::{room_members, users};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter,
    QuerySelect,
};
use uuid::Uuid;

use super::rows;
use super::sql::Sql;
use crate::db::direct::Source;

/// Active members of a room.
pub async fn active_count(db: &impl ConnectionTrait, room_id: Uuid) -> Result<u64, DbErr> {
    room_members::Entity::find()
        .filter(room_members::Column::RoomId.eq(room_id))
        .filter(room_members::Column::LeftAt.is_null())
        .count(db)
        .await
}

/// The active members of each room with their users, longest-standing first.
pub async fn active_in(
    db: &impl Source,
    room_ids: Vec<Uuid>,
) -> Result<Vec<(room_members::Model, Option<users::Model>)>, DbErr> {
    if room_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = Sql::new("SELECT ");
    query
        .push(&rows::columns::<room_members::Model>("m"))
        .push(", ")
        .push(&rows::columns::<users::Model>("u"))
        .push(" FROM room_members m LEFT JOIN users u ON u.id = m.user_id WHERE m.room_id IN (")
        .list(room_ids)
        .push(") AND m.left_at IS NULL ORDER BY m.joined_at, m.user_id");
    rows::fetch(db, query, rows::joined).await
}

/// Active members of a room in `role` (`owner`, `admin`, `member`).
pub async fn count_role(
    db: &impl ConnectionTrait,
    room_id: Uuid,
    role: &str,
) -> Result<u64, DbErr> {
    room_members::Entity::find()
        .filter(room_members::Column::RoomId.eq(room_id))
        .filter(room_members::Column::LeftAt.is_null())
        .filter(room_members::Column::Role.eq(role))
        .count(db)
        .await
}

/// Locks the member's row until the transaction ends (PostgreSQL; SQLite's writer turn
/// already serialises writers).
pub async fn lock(db: &impl ConnectionTrait, room_id: Uuid, user_id: Uuid) -> Result<(), DbErr> {
    room_members::Entity::find_by_id((room_id, user_id))
        .lock_exclusive()
        .one(db)
        .await?;
    Ok(())
}

/// A member's receipt marker in `room_members`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// `last_delivered_message_id`.
    Delivered,
    /// `last_read_message_id`.
    Read,
}

impl Marker {
    fn column(self) -> &'static str {
        match self {
            Self::Delivered => "last_delivered_message_id",
            Self::Read => "last_read_message_id",
        }
    }
}

/// Moves the active member's `marker` to `target_id` in one statement, only when none of the
/// markers in `not_past` is already at or past the target in `(created_at, id)` order, so
/// concurrent marks from two devices never move a marker backward. Returns the row when it
/// moved.
pub async fn advance_marker(
    db: &impl ConnectionTrait,
    room_id: Uuid,
    user_id: Uuid,
    marker: Marker,
    target_id: Uuid,
    not_past: &[Marker],
) -> Result<Option<room_members::Model>, DbErr> {
    let mut query = Sql::new("UPDATE room_members SET ");
    query
        .push(marker.column())
        .push(" = ")
        .bind(target_id)
        .push(" WHERE room_id = ")
        .bind(room_id)
        .push(" AND user_id = ")
        .bind(user_id)
        .push(" AND left_at IS NULL");
    for other in not_past {
        query
            .push(" AND NOT EXISTS (SELECT 1 FROM messages c JOIN messages t ON t.id = ")
            .bind(target_id)
            .push(" WHERE c.id = room_members.")
            .push(other.column())
            .push(" AND (c.created_at, c.id) >= (t.created_at, t.id))");
    }
    query.push(" RETURNING *");
    room_members::Model::find_by_statement(query.statement(db.get_database_backend()))
        .one(db)
        .await
}
