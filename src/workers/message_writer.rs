//! Group commit for text messages. Sends that arrive while a write is in progress queue up
//! and reach the database together: one multi-row INSERT and one read-marker UPDATE in one
//! transaction (on PostgreSQL, one statement) instead of a transaction each. Nobody waits for
//! a batch to fill: a writer takes whatever is queued when it is free, so a lone send costs
//! what it always did, and under load the cost of a transaction (round trips, commit, SQLite's
//! one writer at a time) is shared by every message in it.
//!
//! The write checks what a send needs (a live room that is not archived, an active membership
//! of the sender, no block in a direct room, a reply's message in the room) in the INSERT
//! itself: a refused message is simply not inserted, and the send finds out why afterwards.
//! So a send costs no lookup of its own before the write, and check and write are atomic.
//!
//! A batch that fails is retried one message at a time, so a bad row fails only its own send.
//!
//! On SQLite the writer has a connection of its own and sends a batch as one call
//! (`BEGIN IMMEDIATE; INSERT ...; UPDATE ...; COMMIT`): one hand-off to SQLite's worker thread
//! instead of four, and a page cache that no other connection's write invalidates.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use entity::messages;
use sea_orm::sqlx;
use sea_orm::sqlx::sqlite::{SqlitePool, SqlitePoolOptions};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, SqlxSqliteConnector, Value};
use tokio::sync::{Mutex, mpsc, oneshot};
use uuid::Uuid;

use crate::store::sql::Sql;

/// The most messages in one write: 9 bound values each on SQLite, far below its limit (on
/// PostgreSQL the batch is one bound value).
pub const MAX_BATCH: usize = 256;
/// Sends waiting beyond this many hold their request until there is room.
const QUEUE: usize = 4096;

struct Job {
    message: messages::Model,
    done: oneshot::Sender<Written>,
}

/// A message as written, `None` when the checks refused it, or why the database failed.
pub type Written = Result<Option<messages::Model>, DbErr>;

/// The queue in front of the message writer; cheap to clone.
#[derive(Clone)]
pub struct MessageWriter {
    jobs: mpsc::Sender<Job>,
}

impl MessageWriter {
    /// Starts the writer: one task that takes whatever is queued (up to [`MAX_BATCH`]) whenever
    /// it is free and writes it as one batch. Must run inside the tokio runtime; the task stops
    /// when the last clone of the writer is dropped. `turn` is the process's SQLite writer
    /// turn, shared with every other write transaction. One writer on either backend:
    /// batches commit in turn, so each sees the read markers the one before it moved (two
    /// writers on PostgreSQL could move a marker back, each batch checking against a snapshot
    /// without the other's message). Two writers, each taking a share of the senders, measured
    /// no faster on PostgreSQL than one.
    pub fn start(db: DatabaseConnection, turn: Arc<Mutex<()>>) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let store = Store::new(&db, turn);
        tokio::spawn(async move {
            let mut queue = queue;
            let mut jobs: Vec<Job> = Vec::with_capacity(MAX_BATCH);
            while queue.recv_many(&mut jobs, MAX_BATCH).await > 0 {
                metrics::histogram!("confab_message_batch_size").record(jobs.len() as f64);
                let (done, messages): (Vec<_>, Vec<_>) =
                    jobs.drain(..).map(|job| (job.done, job.message)).unzip();
                let written = store.write_all(messages).await;
                for (done, written) in done.into_iter().zip(written) {
                    let _ = done.send(written);
                }
            }
        });
        Self { jobs }
    }

    /// Stores `message` (a text message without attachments) if its sender may send it (see
    /// the module's documentation) and moves their read marker to it; returns the message
    /// once committed, or `None` if refused.
    pub async fn write(&self, message: messages::Model) -> Written {
        let (done, written) = oneshot::channel();
        let stopped = || DbErr::Custom("the message writer has stopped".to_owned());
        self.jobs
            .send(Job { message, done })
            .await
            .map_err(|_| stopped())?;
        written.await.map_err(|_| stopped())?
    }
}

/// Where the writer writes: on SQLite a connection of its own (a pool of one beside the
/// application's, with the same settings; an in-memory database's options name one shared
/// database), taken in this process's writer turn; elsewhere the application's pool.
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    turn: Arc<Mutex<()>>,
    checkpoints: Option<Arc<Checkpoints>>,
}

/// SQLite copies its write-ahead log back into the database file (a checkpoint, with an
/// fsync) once the log passes `wal_autocheckpoint` pages, inside the commit that passed it.
/// The writer's commits leave that to a checkpoint in the background instead, at most every
/// [`CHECKPOINT_EVERY`] while messages are written, on one of the application's
/// connections; the log's own limit stays as a backstop ([`crate::db::WAL_AUTOCHECKPOINT`]).
/// A page written many times between checkpoints is copied once.
///
/// A background checkpoint takes two passes. The first copies what the log holds while the
/// writer goes on writing. The second runs in the writer turn and copies only what was written
/// during the first, so the checkpoint catches up and the next write starts the log again from
/// its beginning. With one pass it never caught up under a stream of sends: the log grew to the
/// backstop and the writer's own commit checkpointed it, 40-78 ms stalls about every 0.5 s at
/// ~4,500 sends/s (~100 MB of log a second), and those stalls were the send p99.
struct Checkpoints {
    pool: SqlitePool,
    turn: Arc<Mutex<()>>,
    due: std::sync::Mutex<Instant>,
    running: Arc<AtomicBool>,
}

/// Often enough that the second pass of a checkpoint has little to copy (quick A/B, 3x15 s,
/// SQLite send: one pass every 1 s 5,176 sends/s and p99 54.4 ms (medians); two passes every
/// 250 ms 5,516 and 27.2 ms; every 100 ms 5,344 and 21.4 ms).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

impl Store {
    /// `turn` is the process's SQLite writer turn, shared with every other write transaction.
    pub fn new(db: &DatabaseConnection, turn: Arc<Mutex<()>>) -> Self {
        if db.get_database_backend() != DbBackend::Sqlite {
            return Self {
                db: db.clone(),
                turn,
                checkpoints: None,
            };
        }
        let options = (*db.get_sqlite_connection_pool().connect_options()).clone();
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_lazy_with(options);
        Self {
            db: SqlxSqliteConnector::from_sqlx_sqlite_pool(pool),
            turn: turn.clone(),
            checkpoints: Some(Arc::new(Checkpoints {
                pool: db.get_sqlite_connection_pool().clone(),
                turn,
                due: std::sync::Mutex::new(Instant::now() + CHECKPOINT_EVERY),
                running: Arc::default(),
            })),
        }
    }

    /// Starts a background checkpoint if one is due and none is running (SQLite only).
    fn checkpoint_when_due(&self) {
        let Some(checkpoints) = &self.checkpoints else {
            return;
        };
        {
            let mut due = checkpoints
                .due
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            if now < *due || checkpoints.running.swap(true, Ordering::AcqRel) {
                return;
            }
            *due = now + CHECKPOINT_EVERY;
        }
        let (pool, turn) = (checkpoints.pool.clone(), checkpoints.turn.clone());
        let running = checkpoints.running.clone();
        tokio::spawn(async move {
            const CHECKPOINT: &str = "PRAGMA wal_checkpoint(PASSIVE)";
            // Both passes on one connection, taken before the turn: the second never waits
            // for the pool while the writer waits for it.
            let done = async {
                let mut conn = pool.acquire().await?;
                sqlx::query(CHECKPOINT).execute(&mut *conn).await?;
                let _turn = turn.lock().await;
                sqlx::query(CHECKPOINT).execute(&mut *conn).await
            }
            .await;
            if let Err(err) = done {
                tracing::warn!(error = %err, "checkpoint failed");
            }
            running.store(false, Ordering::Release);
        });
    }

    /// Writes a batch of text messages (and moves their senders' read markers): all together,
    /// or if that fails, each on its own. One result per message, in order.
    pub async fn write_all(&self, messages: Vec<messages::Model>) -> Vec<Written> {
        let together = self.write(&messages.iter().collect::<Vec<_>>()).await;
        self.checkpoint_when_due();
        match together {
            Ok(written) => messages
                .into_iter()
                .map(|m| Ok(written.contains(&m.id).then_some(m)))
                .collect(),
            Err(err) if messages.len() == 1 => vec![Err(err)],
            Err(err) => {
                tracing::warn!(error = %err, size = messages.len(), "message batch failed; writing one by one");
                let mut results = Vec::with_capacity(messages.len());
                for message in messages {
                    let written = self.write(&[&message]).await;
                    results.push(
                        written.map(|written| written.contains(&message.id).then_some(message)),
                    );
                }
                results
            }
        }
    }

    /// Writes those of `messages` the checks allow, and their senders' read markers, all or
    /// none; returns the ids written.
    async fn write(&self, messages: &[&messages::Model]) -> Result<HashSet<Uuid>, DbErr> {
        let backend = self.db.get_database_backend();
        let query = if backend == DbBackend::Postgres {
            // A data-modifying CTE is atomic by itself: one round trip, no transaction. The
            // batch is one JSON value, so the statement's text is the same for any batch:
            // prepared once per connection, where a VALUES list of N rows is a statement of
            // its own for every N, each parsed and planned anew.
            let mut q = Sql::new("WITH batch(");
            q.push(COLUMNS)
                .push(") AS (")
                .append(from_json(messages))
                .push("), ins AS (")
                .push(INSERT_CHECKED)
                .push(" RETURNING id, room_id, sender_id, created_at), v AS (")
                .append(newest(Sql::new("ins")))
                .push("), marker AS (")
                .push(UPDATE_MARKERS)
                .push(") SELECT id FROM ins");
            q
        } else {
            // SQLite: the whole transaction in one call, in the writer turn.
            let mut q = Sql::new("BEGIN IMMEDIATE; WITH batch(");
            q.push(COLUMNS)
                .push(") AS (VALUES ")
                .append(rows(messages))
                .push(") ")
                .push(INSERT_CHECKED)
                .push(" RETURNING id; WITH v AS (")
                .append(newest_of_ids(messages.iter().map(|m| m.id)))
                .push(") ")
                .push(UPDATE_MARKERS)
                .push("; COMMIT");
            q
        };
        let _turn = match backend {
            DbBackend::Sqlite => Some(self.turn.lock().await),
            _ => None,
        };
        let written = self.db.query_all_raw(query.statement(backend)).await;
        if written.is_err() && backend == DbBackend::Sqlite {
            // A failed statement leaves the transaction open: roll it back (an error here
            // means there was none left).
            let _ = self.db.execute_unprepared("ROLLBACK").await;
        }
        written?
            .iter()
            .map(|row| row.try_get::<Uuid>("", "id"))
            .collect()
    }
}

/// Moves each sender's read marker forward to their newest of `ids` (already written, or
/// written by the same transaction).
pub async fn move_read_markers(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<(), DbErr> {
    let mut query = Sql::new("WITH v AS (");
    query
        .append(newest_of_ids(ids.iter().copied()))
        .push(") ")
        .push(UPDATE_MARKERS);
    db.execute_raw(query.statement(db.get_database_backend()))
        .await?;
    Ok(())
}

const COLUMNS: &str = "id, room_id, sender_id, kind, body, reply_to_id, metadata, created_at";
/// The batch's messages whose sender may send them: the room is live and not archived, the
/// sender an active member, in a direct room neither has blocked the other (a block is kept
/// on both sides), and a reply's message is in the room and not deleted. The same rules as
/// `service::message::send` checks one by one when a message is refused.
const INSERT_CHECKED: &str = "INSERT INTO messages \
    (id, room_id, sender_id, kind, body, reply_to_id, metadata, created_at) \
    SELECT b.id, b.room_id, b.sender_id, b.kind, b.body, b.reply_to_id, b.metadata, b.created_at \
    FROM batch b JOIN rooms r ON r.id = b.room_id \
    JOIN room_members rm ON rm.room_id = b.room_id AND rm.user_id = b.sender_id \
    WHERE r.deleted_at IS NULL AND r.archived_at IS NULL AND rm.left_at IS NULL \
    AND (r.direct_key IS NULL OR NOT EXISTS (SELECT 1 FROM contacts c \
      JOIN room_members peer ON peer.room_id = b.room_id AND peer.user_id = c.contact_id \
      WHERE c.user_id = b.sender_id AND c.status = 'blocked')) \
    AND (b.reply_to_id IS NULL OR EXISTS (SELECT 1 FROM messages p \
      WHERE p.id = b.reply_to_id AND p.room_id = b.room_id AND p.deleted_at IS NULL))";

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
