//! A room and a room membership on the wire.

use chrono::{DateTime, FixedOffset};
use entity::{room_members, rooms};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

type Time = DateTime<FixedOffset>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Room {
    pub id: Uuid,
    pub kind: String,
    pub name: Option<String>,
    pub topic: Option<String>,
    /// Carried as the local event carries it; the GraphQL type decides who is shown it.
    pub join_code: Option<String>,
    pub max_members: Option<i32>,
    pub created_by: Uuid,
    pub epoch: i64,
    pub direct_key: Option<String>,
    pub archived_at: Option<Time>,
    pub created_at: Time,
    pub updated_at: Time,
    pub deleted_at: Option<Time>,
}

impl From<&rooms::Model> for Room {
    fn from(room: &rooms::Model) -> Self {
        let rooms::Model {
            id,
            kind,
            name,
            topic,
            join_code,
            max_members,
            created_by,
            epoch,
            direct_key,
            archived_at,
            created_at,
            updated_at,
            deleted_at,
        } = room;
        Self {
            id: *id,
            kind: kind.clone(),
            name: name.clone(),
            topic: topic.clone(),
            join_code: join_code.clone(),
            max_members: *max_members,
            created_by: *created_by,
            epoch: *epoch,
            direct_key: direct_key.clone(),
            archived_at: *archived_at,
            created_at: *created_at,
            updated_at: *updated_at,
            deleted_at: *deleted_at,
        }
    }
}

impl From<Room> for rooms::Model {
    fn from(room: Room) -> Self {
        let Room {
            id,
            kind,
            name,
            topic,
            join_code,
            max_members,
            created_by,
            epoch,
            direct_key,
            archived_at,
            created_at,
            updated_at,
            deleted_at,
        } = room;
        Self {
            id,
            kind,
            name,
            topic,
            join_code,
            max_members,
            created_by,
            epoch,
            direct_key,
            archived_at,
            created_at,
            updated_at,
            deleted_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub room_id: Uuid,
    pub user_id: Uuid,
    pub role: String,
    pub joined_at: Time,
    pub left_at: Option<Time>,
    pub last_delivered_message_id: Option<Uuid>,
    pub last_read_message_id: Option<Uuid>,
    pub muted_until: Option<Time>,
}

impl From<&room_members::Model> for Member {
    fn from(member: &room_members::Model) -> Self {
        let room_members::Model {
            room_id,
            user_id,
            role,
            joined_at,
            left_at,
            last_delivered_message_id,
            last_read_message_id,
            muted_until,
        } = member;
        Self {
            room_id: *room_id,
            user_id: *user_id,
            role: role.clone(),
            joined_at: *joined_at,
            left_at: *left_at,
            last_delivered_message_id: *last_delivered_message_id,
            last_read_message_id: *last_read_message_id,
            muted_until: *muted_until,
        }
    }
}

impl From<Member> for room_members::Model {
    fn from(member: Member) -> Self {
        let Member {
            room_id,
            user_id,
            role,
            joined_at,
            left_at,
            last_delivered_message_id,
            last_read_message_id,
            muted_until,
        } = member;
        Self {
            room_id,
            user_id,
            role,
            joined_at,
            left_at,
            last_delivered_message_id,
            last_read_message_id,
            muted_until,
        }
    }
}
