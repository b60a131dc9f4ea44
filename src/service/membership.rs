//! Membership lookups: the one definition of a live room and an active membership.

use std::collections::{HashMap, HashSet};

use entity::{room_members, rooms};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

/// The rooms (not deleted) and active memberships of `pairs` (room, user), in one statement:
/// every membership of those users in those rooms (two plain `IN` lists plan and run faster
/// than a list of pairs), then only the pairs asked for.
pub async fn lookup(
    db: &impl ConnectionTrait,
    pairs: &[(Uuid, Uuid)],
) -> Result<HashMap<(Uuid, Uuid), (rooms::Model, room_members::Model)>, DbErr> {
    let rooms: HashSet<Uuid> = pairs.iter().map(|(room, _)| *room).collect();
    let users: HashSet<Uuid> = pairs.iter().map(|(_, user)| *user).collect();
    let asked: HashSet<&(Uuid, Uuid)> = pairs.iter().collect();
    let rows = rooms::Entity::find()
        .filter(rooms::Column::Id.is_in(rooms))
        .filter(rooms::Column::DeletedAt.is_null())
        .find_also_related(room_members::Entity)
        .filter(room_members::Column::UserId.is_in(users))
        .filter(room_members::Column::LeftAt.is_null())
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(room, member)| member.map(|m| ((room.id, m.user_id), (room, m))))
        .filter(|(pair, _)| asked.contains(pair))
        .collect())
}
