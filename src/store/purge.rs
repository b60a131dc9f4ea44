//! Deleting a room for good: every row that belongs to it, in a fixed number of statements
//! whatever its size (no statement per message), on the caller's transaction.
//!
//! Rooms are deleted hard, not softly: a room's messages, reactions, attachments, members and
//! their stints, calls and their sessions and connection logs, and the notifications that
//! point at it go with its row, so nothing is left to read and nothing dangles. Uploads made
//! for the room stay their uploaders' (their room reference is cleared). The search index
//! follows the messages by itself (FTS5 triggers on SQLite, an expression index on
//! PostgreSQL). [`notifications_from`] clears what others got from a deleted account.

use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr};
use uuid::Uuid;

use super::sql::Sql;

/// Deletes room `room_id` and everything that belongs to it. The caller holds the room's row
/// lock (or, on SQLite, the writer turn) and commits. Returns how many messages went.
pub async fn room(db: &impl ConnectionTrait, room_id: Uuid) -> Result<u64, DbErr> {
    let messages = "(SELECT id FROM messages WHERE room_id = ";
    let calls = "(SELECT id FROM calls WHERE room_id = ";
    // Children first, so no foreign key has anything left to act on.
    exec(
        db,
        "DELETE FROM message_reactions WHERE message_id IN ",
        Some(messages),
        room_id,
    )
    .await?;
    exec(
        db,
        "DELETE FROM attachments WHERE message_id IN ",
        Some(messages),
        room_id,
    )
    .await?;
    exec(
        db,
        "DELETE FROM room_member_stints WHERE room_id = ",
        None,
        room_id,
    )
    .await?;
    exec(
        db,
        "DELETE FROM room_members WHERE room_id = ",
        None,
        room_id,
    )
    .await?;
    exec(
        db,
        "UPDATE blob_uploads SET room_id = NULL WHERE room_id = ",
        None,
        room_id,
    )
    .await?;
    exec(
        db,
        "DELETE FROM connection_logs WHERE call_session_id IN \
         (SELECT id FROM call_sessions WHERE call_id IN ",
        Some(calls),
        room_id,
    )
    .await?;
    exec(
        db,
        "DELETE FROM connection_logs WHERE room_id = ",
        None,
        room_id,
    )
    .await?;
    exec(
        db,
        "DELETE FROM call_sessions WHERE call_id IN ",
        Some(calls),
        room_id,
    )
    .await?;
    exec(db, "DELETE FROM calls WHERE room_id = ", None, room_id).await?;
    let messages = exec(db, "DELETE FROM messages WHERE room_id = ", None, room_id).await?;
    exec(db, "DELETE FROM room_seqs WHERE room_id = ", None, room_id).await?;
    // Notifications about the room (added to it, mentioned in it) name it in their data.
    let backend = db.get_database_backend();
    let mut query = Sql::new(match backend {
        DatabaseBackend::Postgres => "DELETE FROM notifications WHERE data->>'roomId' = ",
        _ => "DELETE FROM notifications WHERE json_extract(data, '$.roomId') = ",
    });
    query.bind(room_id.to_string());
    db.execute_raw(query.statement(backend)).await?;
    exec(db, "DELETE FROM rooms WHERE id = ", None, room_id).await?;
    Ok(messages)
}

/// Runs `head` + `room_id` (inside `open` ... `)` when given, closing every parenthesis
/// `head` and `open` opened); returns the rows affected.
async fn exec(
    db: &impl ConnectionTrait,
    head: &str,
    open: Option<&str>,
    room_id: Uuid,
) -> Result<u64, DbErr> {
    let mut query = Sql::new(head);
    if let Some(open) = open {
        query.push(open);
    }
    query.bind(room_id);
    let closing = head.matches('(').count() + open.map_or(0, |o| o.matches('(').count());
    query.push(&")".repeat(closing));
    let done = db
        .execute_raw(query.statement(db.get_database_backend()))
        .await?;
    Ok(done.rows_affected())
}

/// Deletes the notifications others got from `user_id` (a contact request, a mention, being
/// added to a room: their titles carry the sender's name), when the account is deleted.
pub async fn notifications_from(db: &impl ConnectionTrait, user_id: Uuid) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let field = |key: &str| match backend {
        DatabaseBackend::Postgres => format!("data->>'{key}'"),
        _ => format!("json_extract(data, '$.{key}')"),
    };
    let id = user_id.to_string();
    let mut query = Sql::new("DELETE FROM notifications WHERE ");
    query
        .push(&field("userId"))
        .push(" = ")
        .bind(id.clone())
        .push(" OR ")
        .push(&field("senderId"))
        .push(" = ")
        .bind(id.clone())
        .push(" OR ")
        .push(&field("addedBy"))
        .push(" = ")
        .bind(id);
    let done = db.execute_raw(query.statement(backend)).await?;
    Ok(done.rows_affected())
}
