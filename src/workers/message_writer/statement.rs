//! The message writer's statements: a batch's checked INSERT, numbered in each room (see
//! `store::seq`), and the senders' read markers moved.

use entity::messages;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Value};
use uuid::Uuid;

use crate::store::sql::Sql;

/// The batch's statement, whose rows are the ids written and their seqs.
///
/// PostgreSQL: a data-modifying CTE is atomic by itself: one round trip, no transaction. The
/// batch is one JSON value, so the statement's text is the same for any batch: prepared once
/// per connection, where a VALUES list of N rows is a statement of its own for every N, each
/// parsed and planned anew. The rooms' counters move first (an upsert that waits for, then
/// reads, the counter another transaction holds), and the messages take the numbers below
/// them: the same numbers the counters' new values end at, whatever committed meanwhile.
///
/// SQLite: the whole transaction of [`sqlite`]'s statements in one call (the writer of an
/// in-memory database, which has no thread of its own).
pub fn write(backend: DbBackend, messages: &[&messages::Model]) -> Sql {
    if backend == DbBackend::Postgres {
        let mut q = Sql::new("WITH batch(");
        q.push(COLUMNS)
            .push(") AS (")
            .append(from_json(messages))
            .push("), checked AS (")
            .push(CHECKED)
            .push(
                "), counted AS (INSERT INTO room_seqs (room_id, last_seq) \
                 SELECT room_id, COUNT(*) FROM checked GROUP BY room_id \
                 ON CONFLICT (room_id) DO UPDATE SET last_seq = room_seqs.last_seq + excluded.last_seq \
                 RETURNING room_id, last_seq), ins AS (",
            )
            .push(INSERT)
            .push("SELECT checked.*, counted.last_seq - COUNT(*) OVER (PARTITION BY checked.room_id) + ")
            .push(PLACE)
            .push(
                " FROM checked JOIN counted ON counted.room_id = checked.room_id \
                 RETURNING id, room_id, sender_id, created_at, seq), v AS (",
            )
            .append(newest(Sql::new("ins")))
            .push("), marker AS (")
            .push(UPDATE_MARKERS)
            .push(") SELECT id, seq FROM ins");
        return q;
    }
    let [insert, seqs, markers] = sqlite(messages);
    let mut q = Sql::new("BEGIN IMMEDIATE; ");
    q.append(insert)
        .push("; ")
        .append(seqs)
        .push("; ")
        .append(markers)
        .push("; COMMIT");
    q
}

/// The batch's statements on SQLite, to run in one transaction in the writer turn, which no
/// other write shares: the checked INSERT, whose rows are the ids written and their seqs (the
/// messages take numbers after their rooms' counters), the counters moved to their rooms'
/// newest, and the senders' read markers moved.
pub fn sqlite(messages: &[&messages::Model]) -> [Sql; 3] {
    let mut insert = Sql::new("WITH batch(");
    insert
        .push(COLUMNS)
        .push(") AS (VALUES ")
        .append(rows(messages))
        .push(") ")
        .push(INSERT)
        .push(
            "SELECT checked.*, COALESCE((SELECT last_seq FROM room_seqs s \
             WHERE s.room_id = checked.room_id), 0) + ",
        )
        .push(PLACE)
        .push(" FROM (")
        .push(CHECKED)
        .push(") checked WHERE true RETURNING id, seq");
    let mut seqs = Sql::new(
        "INSERT INTO room_seqs (room_id, last_seq) SELECT room_id, MAX(seq) FROM messages \
         WHERE id IN (",
    );
    seqs.list(messages.iter().map(|m| m.id)).push(
        ") GROUP BY room_id \
         ON CONFLICT (room_id) DO UPDATE SET last_seq = excluded.last_seq",
    );
    [insert, seqs, markers(messages.iter().map(|m| m.id))]
}

/// Moves each sender's read marker forward to their newest of `ids`.
fn markers(ids: impl IntoIterator<Item = Uuid>) -> Sql {
    let mut q = Sql::new("WITH v AS (");
    q.append(newest_of_ids(ids)).push(") ").push(UPDATE_MARKERS);
    q
}

/// Moves each sender's read marker forward to their newest of `ids` (already written, or
/// written by the same transaction).
pub async fn move_read_markers(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<(), DbErr> {
    db.execute_raw(markers(ids.iter().copied()).statement(db.get_database_backend()))
        .await?;
    Ok(())
}

const COLUMNS: &str = "id, room_id, sender_id, kind, body, reply_to_id, metadata, created_at";
/// The batch's messages whose sender may send them: the room is live and not archived, the
/// sender an active member, in a direct room neither has blocked the other (a block is kept
/// on both sides), and a reply's message is in the room and not deleted. The same rules as
/// `service::message::send` checks one by one when a message is refused.
const CHECKED: &str = "SELECT b.id, b.room_id, b.sender_id, b.kind, b.body, b.reply_to_id, \
    b.metadata, b.created_at \
    FROM batch b JOIN rooms r ON r.id = b.room_id \
    JOIN room_members rm ON rm.room_id = b.room_id AND rm.user_id = b.sender_id \
    WHERE r.deleted_at IS NULL AND r.archived_at IS NULL AND rm.left_at IS NULL \
    AND (r.direct_key IS NULL OR NOT EXISTS (SELECT 1 FROM contacts c \
      JOIN room_members peer ON peer.room_id = b.room_id AND peer.user_id = c.contact_id \
      WHERE c.user_id = b.sender_id AND c.status = 'blocked')) \
    AND (b.reply_to_id IS NULL OR EXISTS (SELECT 1 FROM messages p \
      WHERE p.id = b.reply_to_id AND p.room_id = b.room_id AND p.deleted_at IS NULL))";

const INSERT: &str = "INSERT INTO messages \
    (id, room_id, sender_id, kind, body, reply_to_id, metadata, created_at, seq) ";

/// A checked message's place among the batch's messages to its room, in the order they were
/// made; added to the room's seq before the batch.
const PLACE: &str =
    "ROW_NUMBER() OVER (PARTITION BY checked.room_id ORDER BY checked.created_at, checked.id)";

/// Each sender's newest message per room among the rows of `source` (one row per room and
/// sender: an UPDATE ... FROM with two would pick either).
fn newest(source: Sql) -> Sql {
    let mut q = Sql::new(
        "SELECT room_id, user_id, id, created_at FROM (SELECT room_id, sender_id AS user_id, id, \
         created_at, ROW_NUMBER() OVER (PARTITION BY room_id, sender_id \
         ORDER BY created_at DESC, id DESC) AS n FROM ",
    );
    q.append(source).push(" s) newest WHERE n = 1");
    q
}

/// [`newest`] among the messages `ids`.
fn newest_of_ids(ids: impl IntoIterator<Item = Uuid>) -> Sql {
    let mut source = Sql::new("(SELECT * FROM messages WHERE id IN (");
    source.list(ids).push("))");
    newest(source)
}

/// Moves each marker forward only: never to a message older than the one it is at (two sends
/// of one member can reach the queue in the other order than they were created).
const UPDATE_MARKERS: &str = "UPDATE room_members SET last_read_message_id = v.id FROM v \
    WHERE room_members.room_id = v.room_id AND room_members.user_id = v.user_id \
    AND NOT EXISTS (SELECT 1 FROM messages cur WHERE cur.id = room_members.last_read_message_id \
      AND (cur.created_at > v.created_at OR (cur.created_at = v.created_at AND cur.id > v.id)))";

/// The batch's rows on PostgreSQL, from one JSON array bound as one value. `metadata` travels
/// as its JSON text, so that a JSON `null` stays a value and only a missing one is NULL. Times
/// keep their microseconds (all PostgreSQL stores, and all `db::now` gives).
fn from_json(messages: &[&messages::Model]) -> Sql {
    let batch: Value = serde_json::Value::Array(
        messages
            .iter()
            .map(|m| {
                serde_json::json!({
                    "id": m.id,
                    "room_id": m.room_id,
                    "sender_id": m.sender_id,
                    "kind": m.kind,
                    "body": m.body,
                    "reply_to_id": m.reply_to_id,
                    "metadata": m.metadata.as_ref().map(ToString::to_string),
                    "created_at": m.created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                })
            })
            .collect(),
    )
    .into();
    let mut q = Sql::new(
        "SELECT id, room_id, sender_id, kind, body, reply_to_id, metadata::jsonb, created_at \
         FROM jsonb_to_recordset(",
    );
    q.bind(batch).push(
        ") AS j(id uuid, room_id uuid, sender_id uuid, kind text, body text, \
         reply_to_id uuid, metadata text, created_at timestamptz)",
    );
    q
}

/// The VALUES rows of the INSERT (SQLite).
fn rows(messages: &[&messages::Model]) -> Sql {
    Sql::join(
        messages.iter().map(|m| {
            let row: [Value; 8] = [
                m.id.into(),
                m.room_id.into(),
                m.sender_id.into(),
                m.kind.clone().into(),
                m.body.clone().into(),
                m.reply_to_id.into(),
                m.metadata.clone().into(),
                m.created_at.into(),
            ];
            let mut q = Sql::new("(");
            q.list(row).push(")");
            q
        }),
        ", ",
    )
}
