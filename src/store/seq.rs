//! Numbering each room's messages: `messages.seq` is 1, 2, 3, ... per room with no gaps, and
//! `room_seqs.last_seq` the room's newest, which unread counts are worked out from
//! (`store::unread`). A number is taken in the transaction that writes its message, so a
//! rolled-back write gives it back. The message writer numbers its batches in its own
//! statement (`workers::message_writer`); this is for every other writer of messages. A row
//! written with seq 0 (by a previous release during a rolling upgrade) is numbered by a
//! trigger (migration 36).

use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

use super::sql::Sql;

/// Takes the next seq of room `room_id`, on the caller's transaction. On PostgreSQL the
/// counter's row stays locked until that transaction ends, so two writers to one room take
/// their numbers in turn; on SQLite the writer turn does the same.
pub async fn next(db: &impl ConnectionTrait, room_id: Uuid) -> Result<i64, DbErr> {
    let mut query = Sql::new("INSERT INTO room_seqs (room_id, last_seq) VALUES (");
    query.bind(room_id).push(
        ", 1) ON CONFLICT (room_id) DO UPDATE SET last_seq = room_seqs.last_seq + 1 \
         RETURNING last_seq",
    );
    let row = db
        .query_one_raw(query.statement(db.get_database_backend()))
        .await?
        .ok_or_else(|| DbErr::Custom("numbering a message returned no row".to_owned()))?;
    row.try_get("", "last_seq")
}

/// Sets every room's counter to its newest message's seq, after messages were loaded or
/// deleted in bulk behind the writers (the benchmark and demo seeds). Those must leave each
/// room's seqs 1..n without gaps: loaded in order, or deleted from the end (else
/// [`renumber`]).
pub async fn recount(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    db.execute_unprepared("DELETE FROM room_seqs").await?;
    db.execute_unprepared(
        "INSERT INTO room_seqs (room_id, last_seq) \
         SELECT room_id, MAX(seq) FROM messages GROUP BY room_id",
    )
    .await?;
    Ok(())
}

/// Numbers every room's messages 1..n again in their present order and resets the counters:
/// for whoever deletes message rows by hand from the middle of a room, which leaves a gap that
/// unread counts would count as a message. Each changed number is first made negative, so the
/// unique (room, seq) never sees two rows with one number on the way.
pub async fn renumber(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    db.execute_unprepared(
        "UPDATE messages SET seq = -s.n FROM (SELECT id, ROW_NUMBER() OVER \
         (PARTITION BY room_id ORDER BY seq) AS n FROM messages) AS s \
         WHERE messages.id = s.id AND messages.seq <> s.n",
    )
    .await?;
    db.execute_unprepared("UPDATE messages SET seq = -seq WHERE seq < 0")
        .await?;
    recount(db).await
}
