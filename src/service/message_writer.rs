//! Group commit for text messages. Sends that arrive while a write is in progress queue up
//! and reach the database together: one multi-row INSERT and one read-marker UPDATE in one
//! transaction (on PostgreSQL, one statement) instead of a transaction each. Nobody waits for
//! a batch to fill: a writer takes whatever is queued when it is free, so a lone send costs
//! what it always did, and under load the cost of a transaction (round trips, commit, SQLite's
//! one writer at a time) is shared by every message in it.
//!
//! A batch that fails is retried one message at a time, so a bad row fails only its own send.

use std::collections::HashMap;
use std::sync::Arc;

use entity::messages;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Value};
use tokio::sync::{Mutex, mpsc, oneshot};
use uuid::Uuid;

use crate::service::{batch, begin_write, sql};

/// The most messages in one write: 12 bound values each, far below either backend's limit.
pub const MAX_BATCH: usize = 256;
/// Sends waiting beyond this many hold their request until there is room.
const QUEUE: usize = 4096;

struct Job {
    message: messages::Model,
    done: oneshot::Sender<Result<messages::Model, DbErr>>,
}

/// The queue in front of the message writer; cheap to clone.
#[derive(Clone)]
pub struct MessageWriter {
    jobs: mpsc::Sender<Job>,
}

impl MessageWriter {
    /// Starts the writer (see [`batch::spawn_workers`]); `turn` is the process's SQLite
    /// writer turn, shared with every other write transaction. One writer on either backend:
    /// batches commit in turn, so each sees the read markers the one before it moved (two
    /// writers on PostgreSQL could move a marker back, each batch checking against a snapshot
    /// without the other's message). Two writers, each taking a share of the senders, measured
    /// no faster on PostgreSQL than one.
    pub fn start(db: DatabaseConnection, turn: Arc<Mutex<()>>) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        batch::spawn_workers(1, MAX_BATCH, queue, move |jobs: Vec<Job>| {
            let (db, turn) = (db.clone(), turn.clone());
            async move {
                metrics::histogram!("confab_message_batch_size").record(jobs.len() as f64);
                let (done, messages): (Vec<_>, Vec<_>) =
                    jobs.into_iter().map(|job| (job.done, job.message)).unzip();
                let written = write_all(&db, &turn, messages).await;
                for (done, written) in done.into_iter().zip(written) {
                    let _ = done.send(written);
                }
            }
        });
        Self { jobs }
    }

    /// Stores `message` (a text message without attachments) and moves its sender's read
    /// marker to it; returns the message once committed.
    pub async fn write(&self, message: messages::Model) -> Result<messages::Model, DbErr> {
        let (done, written) = oneshot::channel();
        let stopped = || DbErr::Custom("the message writer has stopped".to_owned());
        self.jobs
            .send(Job { message, done })
            .await
            .map_err(|_| stopped())?;
        written.await.map_err(|_| stopped())?
    }
}

/// Writes a batch of text messages (and moves their senders' read markers): all together, or
/// if that fails, each on its own. One result per message, in order.
pub async fn write_all(
    db: &DatabaseConnection,
    turn: &Arc<Mutex<()>>,
    messages: Vec<messages::Model>,
) -> Vec<Result<messages::Model, DbErr>> {
    let together = write(db, turn, &messages.iter().collect::<Vec<_>>()).await;
    match together {
        Ok(()) => messages.into_iter().map(Ok).collect(),
        Err(err) if messages.len() == 1 => vec![Err(err)],
        Err(err) => {
            tracing::warn!(error = %err, size = messages.len(), "message batch failed; writing one by one");
            let mut results = Vec::with_capacity(messages.len());
            for message in messages {
                let written = write(db, turn, &[&message]).await;
                results.push(written.map(|()| message));
            }
            results
        }
    }
}

/// Writes `messages` and their senders' read markers, all or none.
async fn write(
    db: &DatabaseConnection,
    turn: &Arc<Mutex<()>>,
    messages: &[&messages::Model],
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let (rows, row_values) = rows(messages);
    if backend == DbBackend::Postgres {
        let (markers, marker_values) = read_markers(messages);
        // A data-modifying CTE is atomic by itself: one round trip, no transaction.
        let sql = format!(
            "WITH v(room_id, user_id, id, created_at) AS (VALUES {markers}), \
             marker AS ({UPDATE_MARKERS}) {INSERT} {rows}"
        );
        let values = marker_values.into_iter().chain(row_values).collect();
        db.execute_raw(sql::stmt(backend, &sql, values)).await?;
        return Ok(());
    }
    let txn = begin_write(db, turn).await?;
    txn.execute_raw(sql::stmt(backend, &format!("{INSERT} {rows}"), row_values))
        .await?;
    move_read_markers(&*txn, messages).await?;
    txn.commit().await
}

/// Moves each sender's read marker forward to their newest of `messages` (already written,
/// or written by the same transaction).
pub async fn move_read_markers(
    db: &impl ConnectionTrait,
    messages: &[&messages::Model],
) -> Result<(), DbErr> {
    let (markers, values) = read_markers(messages);
    let sql =
        format!("WITH v(room_id, user_id, id, created_at) AS (VALUES {markers}) {UPDATE_MARKERS}");
    db.execute_raw(sql::stmt(db.get_database_backend(), &sql, values))
        .await?;
    Ok(())
}

const INSERT: &str = "INSERT INTO messages \
    (id, room_id, sender_id, kind, body, reply_to_id, metadata, created_at) VALUES";
/// Moves each marker forward only: never to a message older than the one it is at (two sends
/// of one member can reach the queue in the other order than they were created).
const UPDATE_MARKERS: &str = "UPDATE room_members SET last_read_message_id = v.id FROM v \
    WHERE room_members.room_id = v.room_id AND room_members.user_id = v.user_id \
    AND NOT EXISTS (SELECT 1 FROM messages cur WHERE cur.id = room_members.last_read_message_id \
      AND (cur.created_at > v.created_at OR (cur.created_at = v.created_at AND cur.id > v.id)))";

/// The VALUES rows of the INSERT and their bound values.
fn rows(messages: &[&messages::Model]) -> (String, Vec<Value>) {
    let rows = vec!["(?, ?, ?, ?, ?, ?, ?, ?)"; messages.len()].join(", ");
    let values = messages
        .iter()
        .flat_map(|m| {
            [
                m.id.into(),
                m.room_id.into(),
                m.sender_id.into(),
                m.kind.clone().into(),
                m.body.clone().into(),
                m.reply_to_id.into(),
                m.metadata.clone().into(),
                m.created_at.into(),
            ]
        })
        .collect();
    (rows, values)
}

/// `(room, sender, message, its time)` rows moving each sender's read marker to their newest message in
/// the batch (one row per room and sender: an UPDATE ... FROM with two would pick either).
fn read_markers(messages: &[&messages::Model]) -> (String, Vec<Value>) {
    let mut newest: HashMap<(Uuid, Option<Uuid>), &messages::Model> = HashMap::new();
    for &message in messages {
        newest
            .entry((message.room_id, message.sender_id))
            .and_modify(|kept| {
                if (kept.created_at, kept.id) < (message.created_at, message.id) {
                    *kept = message;
                }
            })
            .or_insert(message);
    }
    let rows = vec!["(?, ?, ?, ?)"; newest.len()].join(", ");
    let values = newest
        .values()
        .flat_map(|m| {
            [
                m.room_id.into(),
                m.sender_id.into(),
                m.id.into(),
                m.created_at.into(),
            ]
        })
        .collect();
    (rows, values)
}
