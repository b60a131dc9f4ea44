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
//! On a SQLite file the writer is a thread of its own with a connection of its own
//! ([`thread`]): it runs each batch's transaction itself, with no hand-off to a connection
//! thread and back, and keeps a page cache that no other connection's write invalidates.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use entity::messages;
use sea_orm::sqlx::sqlite::SqlitePoolOptions;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, SqlxSqliteConnector};
use tokio::sync::{Mutex, mpsc, oneshot};
use uuid::Uuid;

use crate::db::direct::writer::WriteConnection;

mod checkpoint;
mod statement;
mod thread;

use checkpoint::Checkpoints;

pub use statement::move_read_markers;

/// The most messages in one write: 9 bound values each on SQLite, far below its limit (on
/// PostgreSQL the batch is one bound value).
pub const MAX_BATCH: usize = 256;
/// Sends waiting beyond this many hold their request until there is room.
const QUEUE: usize = 4096;

/// Messages to write together (with whatever else is queued), and where their results go.
struct Job {
    messages: Vec<messages::Model>,
    done: oneshot::Sender<Vec<Written>>,
}

/// Where each job of a batch wants its results, and how many messages it gave.
type Answers = Vec<(oneshot::Sender<Vec<Written>>, usize)>;

/// The messages of `jobs`, in order, and where each job's share of the results goes.
fn take(jobs: &mut Vec<Job>) -> (Answers, Vec<messages::Model>) {
    let mut answers = Vec::with_capacity(jobs.len());
    let mut messages = Vec::with_capacity(jobs.len());
    for job in jobs.drain(..) {
        answers.push((job.done, job.messages.len()));
        messages.extend(job.messages);
    }
    metrics::histogram!("confab_message_batch_size").record(messages.len() as f64);
    (answers, messages)
}

/// `confab_message_batch_seconds`: how long the batch begun at `started` took to write (the
/// writer turn's wait included).
fn record_batch_time(started: Instant) {
    metrics::histogram!("confab_message_batch_seconds").record(started.elapsed().as_secs_f64());
}

/// Gives each job its share of `written` (one result per message, in order).
fn answer(answers: Answers, written: Vec<Written>) {
    let mut written = written.into_iter();
    for (done, count) in answers {
        let _ = done.send(written.by_ref().take(count).collect());
    }
}

/// A message as written, `None` when the checks refused it, or why the database failed.
pub type Written = Result<Option<messages::Model>, DbErr>;

/// The queue in front of the message writer; cheap to clone.
#[derive(Clone)]
pub struct MessageWriter {
    jobs: mpsc::Sender<Job>,
}

impl MessageWriter {
    /// Starts the writer: one task (on a SQLite file, one thread: [`thread`]) that takes
    /// whatever is queued (up to [`MAX_BATCH`] sends) whenever it is free and writes it as one
    /// batch. Must run inside the tokio runtime; the writer stops when the last clone of it is
    /// dropped. `turn` is the process's SQLite writer
    /// turn, shared with every other write transaction. One writer on either backend:
    /// batches commit in turn, so each sees the read markers the one before it moved (two
    /// writers on PostgreSQL could move a marker back, each batch checking against a snapshot
    /// without the other's message). Two writers, each taking a share of the senders, measured
    /// no faster on PostgreSQL than one.
    pub fn start(db: DatabaseConnection, turn: Arc<Mutex<()>>) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        match WriteConnection::open(&db) {
            Some(Ok(connection)) => {
                thread::spawn(connection, queue, turn, Checkpoints::new(&db));
                return Self { jobs };
            }
            Some(Err(err)) => {
                tracing::warn!(error = %err, "the message writer could not open its SQLite connection: it writes through the pool");
            }
            None => {}
        }
        let store = Store::new(&db, turn);
        tokio::spawn(async move {
            let mut queue = queue;
            let mut jobs: Vec<Job> = Vec::with_capacity(MAX_BATCH);
            while queue.recv_many(&mut jobs, MAX_BATCH).await > 0 {
                let (answers, messages) = take(&mut jobs);
                let started = Instant::now();
                let written = store.write_all(messages).await;
                record_batch_time(started);
                answer(answers, written);
            }
        });
        Self { jobs }
    }

    /// Stores `message` (a text message without attachments) if its sender may send it (see
    /// the module's documentation) and moves their read marker to it; returns the message
    /// once committed, or `None` if refused.
    pub async fn write(&self, message: messages::Model) -> Written {
        self.write_all(vec![message])
            .await
            .pop()
            .unwrap_or_else(|| Err(stopped()))
    }

    /// Writes `messages` in one batch (with whatever else is queued), each as [`Self::write`]
    /// does: a message that fails fails alone. One result per message, in order.
    pub async fn write_all(&self, messages: Vec<messages::Model>) -> Vec<Written> {
        let count = messages.len();
        let (done, written) = oneshot::channel();
        let all_stopped = || (0..count).map(|_| Err(stopped())).collect();
        if self.jobs.send(Job { messages, done }).await.is_err() {
            return all_stopped();
        }
        written.await.unwrap_or_else(|_| all_stopped())
    }
}

fn stopped() -> DbErr {
    DbErr::Custom("the message writer has stopped".to_owned())
}

/// Where the writer task writes: on an in-memory SQLite database a connection of its own (a
/// pool of one beside the application's, with the same settings; the options name one shared
/// database), taken in this process's writer turn; elsewhere the application's pool. (A SQLite
/// file has the writer [`thread`] instead.)
struct Store {
    db: DatabaseConnection,
    turn: Arc<Mutex<()>>,
}

impl Store {
    /// `turn` is the process's SQLite writer turn, shared with every other write transaction.
    fn new(db: &DatabaseConnection, turn: Arc<Mutex<()>>) -> Self {
        if db.get_database_backend() != DbBackend::Sqlite {
            return Self {
                db: db.clone(),
                turn,
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
            turn,
        }
    }

    /// Writes a batch of text messages (and moves their senders' read markers): all together,
    /// or if that fails, each on its own. One result per message, in order.
    async fn write_all(&self, messages: Vec<messages::Model>) -> Vec<Written> {
        let together = self.write(&messages.iter().collect::<Vec<_>>()).await;
        match sorted(messages, together) {
            Ok(results) => results,
            Err(messages) => {
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

/// One result per message, in order, from a batch written `together`; or, when that failed,
/// the messages to write one by one (a bad row then fails only its own send).
fn sorted(
    messages: Vec<messages::Model>,
    together: Result<HashMap<Uuid, i64>, DbErr>,
) -> Result<Vec<Written>, Vec<messages::Model>> {
    match together {
        Ok(written) => Ok(messages
            .into_iter()
            .map(|m| Ok(numbered(&written, m)))
            .collect()),
        Err(err) if messages.len() == 1 => Ok(vec![Err(err)]),
        Err(err) => {
            tracing::warn!(error = %err, size = messages.len(), "message batch failed; writing one by one");
            Err(messages)
        }
    }
}

/// `message` with the seq it was written with, or `None` if it was not written.
fn numbered(written: &HashMap<Uuid, i64>, mut message: messages::Model) -> Option<messages::Model> {
    message.seq = *written.get(&message.id)?;
    Some(message)
}
