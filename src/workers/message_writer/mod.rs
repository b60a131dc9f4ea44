//! Group commit for text messages. Sends that arrive while a write is in progress queue up
//! and reach the database together: one multi-row INSERT (numbered in each room: `store::seq`)
//! and one read-marker UPDATE in one transaction (on PostgreSQL, one statement) instead of a
//! transaction each. Nobody waits for
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

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use entity::messages;
use sea_orm::sqlx;
use sea_orm::sqlx::sqlite::{SqlitePool, SqlitePoolOptions};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, SqlxSqliteConnector};
use tokio::sync::{Mutex, mpsc, oneshot};
use uuid::Uuid;

mod statement;

pub use statement::move_read_markers;

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
                .map(|m| Ok(numbered(&written, m)))
                .collect(),
            Err(err) if messages.len() == 1 => vec![Err(err)],
            Err(err) => {
                tracing::warn!(error = %err, size = messages.len(), "message batch failed; writing one by one");
                let mut results = Vec::with_capacity(messages.len());
                for message in messages {
                    let written = self.write(&[&message]).await;
                    results.push(written.map(|written| numbered(&written, message)));
                }
                results
            }
        }
    }

    /// Writes those of `messages` the checks allow, numbered in their rooms, and their
    /// senders' read markers, all or none; returns the ids written with their seqs.
    async fn write(&self, messages: &[&messages::Model]) -> Result<HashMap<Uuid, i64>, DbErr> {
        let backend = self.db.get_database_backend();
        let query = statement::write(backend, messages);
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
            .map(|row| Ok((row.try_get("", "id")?, row.try_get("", "seq")?)))
            .collect()
    }
}

/// `message` with the seq it was written with, or `None` if it was not written.
fn numbered(written: &HashMap<Uuid, i64>, mut message: messages::Model) -> Option<messages::Model> {
    message.seq = *written.get(&message.id)?;
    Some(message)
}
