//! Reading memberships: how many a room has, and each room's members with their users.

use entity::{room_members, users};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

use super::rows;
use super::sql::Sql;

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
    db: &impl ConnectionTrait,
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
