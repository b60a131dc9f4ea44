//! Unread counts: a member's messages after their read marker, not deleted, not their own,
//! worked out from the room's message sequence instead of counted one by one.
//!
//! Every message has `seq`, its place in its room (1, 2, 3, ... without gaps; see
//! [`super::seq`]), and `room_seqs.last_seq` is the room's newest. For a member whose marker
//! is the message of seq `s` (0 without a marker):
//!
//! ```text
//! unread = last_seq - s - (deleted messages after s) - (own undeleted messages after s)
//! ```
//!
//! The two subtracted terms are index range scans of a partial index that holds only deleted
//! messages and of the member's own messages: neither reads the unread messages themselves,
//! so the cost does not grow with how many there are (migration 36 explains the indexes).
//! "After the marker" is after it in the room's sequence, the order messages were committed
//! in, which is the order the pages show them in except for two sends to one room committed
//! within the same few milliseconds in the other order than their `created_at`.

use std::collections::HashMap;

use sea_orm::DbErr;
use uuid::Uuid;

use super::rows;
use super::sql::Sql;
use crate::db::direct::Source;

/// Unread messages for `user_id` per room (see the module's documentation).
pub async fn unread_counts(
    db: &impl Source,
    user_id: Uuid,
    room_ids: &[Uuid],
) -> Result<HashMap<Uuid, i64>, DbErr> {
    if room_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut members = Sql::new("rm.user_id = ");
    members
        .bind(user_id)
        .push(" AND rm.room_id IN (")
        .list(room_ids.iter().copied())
        .push(")");
    Ok(unread_of_members(db, "rm.room_id", members)
        .await?
        .into_iter()
        .collect())
}

/// The unread counts of `users` (active members) in one room, in one statement.
pub async fn unread_counts_in(
    db: &impl Source,
    room_id: Uuid,
    users: &[Uuid],
) -> Result<Vec<(Uuid, i64)>, DbErr> {
    let mut members = Sql::new("rm.room_id = ");
    members
        .bind(room_id)
        .push(" AND rm.left_at IS NULL AND rm.user_id IN (")
        .list(users.iter().copied())
        .push(")");
    unread_of_members(db, "rm.user_id", members).await
}

/// Each unread count of the memberships `rm` that `members` selects, keyed by `key` (a column
/// of `rm`).
async fn unread_of_members(
    db: &impl Source,
    key: &str,
    members: Sql,
) -> Result<Vec<(Uuid, i64)>, DbErr> {
    let mut query = Sql::new("SELECT ");
    query
        .push(key)
        .push(" AS id, ")
        .push(UNREAD_OF_MEMBER)
        .push(" AS n FROM ")
        .push(MEMBER_MARKERS)
        .push(" WHERE ")
        .append(members);
    rows::fetch(db, query, |row| Ok((row.uuid(0)?, row.int64(1)?))).await
}

/// Each membership `rm` with its room's newest seq `q.last_seq` (no row before the first
/// message) and its read marker's seq `r.seq` (none without a marker, or one whose message
/// is gone: like no marker, as everywhere else).
const MEMBER_MARKERS: &str = "room_members rm \
    LEFT JOIN messages r ON r.id = rm.last_read_message_id AND r.room_id = rm.room_id \
    LEFT JOIN room_seqs q ON q.room_id = rm.room_id";

/// The unread count of the member `rm` (see [`MEMBER_MARKERS`]). The marker's seq is repeated
/// in each subquery rather than named once, so that each stays a plain index range from it.
const UNREAD_OF_MEMBER: &str = "COALESCE(q.last_seq, 0) - COALESCE(r.seq, 0) \
    - (SELECT COUNT(*) FROM messages d WHERE d.room_id = rm.room_id \
       AND d.deleted_at IS NOT NULL AND d.seq > COALESCE(r.seq, 0)) \
    - (SELECT COUNT(*) FROM messages o WHERE o.sender_id = rm.user_id \
       AND o.room_id = rm.room_id AND o.seq > COALESCE(r.seq, 0) AND o.deleted_at IS NULL)";
