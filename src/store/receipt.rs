//! Delivery receipts in batches, for the loaders: who has each message on a device, and how
//! far its recipients have got (delivered, read), each in one statement however many keys.
//!
//! A member's delivered marker counts as at or past a message when either marker is: reading
//! implies delivery, and markers written before delivery was tracked are read markers only.
//! The recipients of a message are the room's active members other than its sender.

use std::collections::HashMap;

use entity::users;
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};
use uuid::Uuid;

use super::rows::{self, Positional as _};
use super::sql::Sql;
use crate::db::direct::Source;

/// `marker` (an alias of `messages` joined on a member's marker) is at or past message `m`.
fn at_or_past(marker: &str) -> String {
    format!(
        "({marker}.created_at > m.created_at \
          OR ({marker}.created_at = m.created_at AND {marker}.id >= m.id))"
    )
}

/// Messages `m` joined with their recipients `rm` (and `extra`, more joins on them) and both
/// markers: `d` delivered, `r` read; ends open in `WHERE m.id IN (`.
fn recipients(select: &str, inner: bool, extra: &str) -> Sql {
    let join = if inner { "JOIN" } else { "LEFT JOIN" };
    Sql::new(&format!(
        "SELECT {select} FROM messages m \
         {join} room_members rm ON rm.room_id = m.room_id AND rm.left_at IS NULL \
              AND (m.sender_id IS NULL OR rm.user_id <> m.sender_id) {extra} \
         LEFT JOIN messages d ON d.id = rm.last_delivered_message_id \
         LEFT JOIN messages r ON r.id = rm.last_read_message_id \
         WHERE m.id IN ("
    ))
}

/// The users each message has reached (delivered or read), by username.
pub async fn delivered_to(
    db: &impl Source,
    message_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<users::Model>>, DbErr> {
    if message_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let select = format!("m.id, {}", rows::columns::<users::Model>("u"));
    let mut query = recipients(&select, true, "JOIN users u ON u.id = rm.user_id");
    query.list(message_ids.iter().copied()).push(&format!(
        ") AND ({} OR {}) ORDER BY m.id, u.username",
        at_or_past("d"),
        at_or_past("r")
    ));
    let found = rows::fetch(db, query, |row| {
        Ok((
            <Uuid as rows::Column>::get(row, 0)?,
            users::Model::read(row, 1)?,
        ))
    })
    .await?;
    let mut grouped: HashMap<Uuid, Vec<users::Model>> = HashMap::new();
    for (message_id, user) in found {
        grouped.entry(message_id).or_default().push(user);
    }
    Ok(grouped)
}

/// How far a message's recipients have got.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Active members other than the sender.
    pub recipients: i64,
    /// Of them, those whose delivered (or read) marker is at or past the message.
    pub delivered: i64,
    /// Of them, those whose read marker is at or past the message.
    pub read: i64,
}

#[derive(FromQueryResult)]
struct ProgressRow {
    message_id: Uuid,
    n_recipients: i64,
    n_delivered: i64,
    n_read: i64,
}

/// Each message's [`Progress`].
pub async fn progress(
    db: &impl ConnectionTrait,
    message_ids: &[Uuid],
) -> Result<HashMap<Uuid, Progress>, DbErr> {
    if message_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let (delivered, read) = (at_or_past("d"), at_or_past("r"));
    let select = format!(
        "m.id AS message_id, COUNT(rm.user_id) AS n_recipients, \
         COALESCE(SUM(CASE WHEN {delivered} OR {read} THEN 1 ELSE 0 END), 0) AS n_delivered, \
         COALESCE(SUM(CASE WHEN {read} THEN 1 ELSE 0 END), 0) AS n_read"
    );
    let mut query = recipients(&select, false, "");
    query
        .list(message_ids.iter().copied())
        .push(") GROUP BY m.id");
    let rows = ProgressRow::find_by_statement(query.statement(db.get_database_backend()))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let progress = Progress {
                recipients: row.n_recipients,
                delivered: row.n_delivered,
                read: row.n_read,
            };
            (row.message_id, progress)
        })
        .collect())
}
