//! Checkpoints of a SQLite file behind the message writer's thread.
//!
//! SQLite copies its write-ahead log back into the database file (a checkpoint, with an
//! fsync) once the log passes `wal_autocheckpoint` pages, inside the commit that passed it.
//! The writer's commits leave that to checkpoints in the background instead, at most every
//! [`CHECKPOINT_EVERY`] while messages are written, on one of the application's connections;
//! the log's own limit stays as a backstop ([`crate::db::WAL_AUTOCHECKPOINT`]). A page written
//! many times between checkpoints is copied once.
//!
//! A checkpoint copies what the log holds while the writer goes on writing, pass after pass
//! while the writer wrote more than [`CHECKPOINT_LEFT`] pages during the pass before, and
//! then the writer's thread ends it between two batches, in its turn: a last pass that copies
//! only the rest, so the checkpoint catches up and the next write starts the log again from its
//! beginning (with every pass in the background the log never caught up under a stream of
//! sends: it grew to the backstop, and the writer's own commit checkpointed it, 40-78 ms
//! stalls about every 0.5 s at ~4,500 sends/s, ~100 MB of log a second). Before, a second
//! pass in the background copied all that was written during the first while the writer
//! waited for the turn: 25-50 ms at every checkpoint, and that was the send p99.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use sea_orm::DatabaseConnection;
use sea_orm::sqlx::{self, SqlitePool};

/// How often a checkpoint starts while messages are written: often enough that its last pass
/// has little to copy (quick A/B, 3 x 15 s, SQLite send, with two passes: one every 1 s 5,176
/// sends/s and p99 54.4 ms (medians), every 250 ms 5,516 and 27.2 ms, every 100 ms 5,344 and
/// 21.4 ms).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// A checkpoint's passes in the background go on while the writer wrote more pages than this
/// during the pass before (about two batches of sends), at most [`PASSES`] of them.
const CHECKPOINT_LEFT: i64 = 256;
const PASSES: usize = 8;

/// A pass: copies what the log holds and is not read from (without waiting for anyone). Its
/// row: whether it was blocked, the pages in the log, the pages copied.
pub const PASS: &str = "PRAGMA wal_checkpoint(PASSIVE)";

/// Where a checkpoint is ([`Checkpoints::state`]).
const IDLE: u8 = 0;
const PASSING: u8 = 1;
const CAUGHT_UP: u8 = 2;

/// The writer's thread owns this; only the background passes share its state.
pub struct Checkpoints {
    pool: SqlitePool,
    due: Instant,
    /// [`IDLE`]; [`PASSING`] while the background passes run; [`CAUGHT_UP`] once they have,
    /// until the writer's thread runs the last pass.
    state: Arc<AtomicU8>,
    /// Where the passes run (the writer's thread is outside the runtime).
    runtime: tokio::runtime::Handle,
}

impl Checkpoints {
    /// Checkpoints of `db`'s SQLite file, on one of its pool's connections, on the current
    /// runtime.
    pub fn new(db: &DatabaseConnection) -> Self {
        Self {
            pool: db.get_sqlite_connection_pool().clone(),
            due: Instant::now() + CHECKPOINT_EVERY,
            state: Arc::default(),
            runtime: tokio::runtime::Handle::current(),
        }
    }

    /// Starts a checkpoint's background passes if one is due and none is under way.
    pub fn when_due(&mut self) {
        let now = Instant::now();
        if now < self.due || self.state.load(Ordering::Acquire) != IDLE {
            return;
        }
        self.due = now + CHECKPOINT_EVERY;
        self.state.store(PASSING, Ordering::Release);
        let (pool, state) = (self.pool.clone(), Arc::clone(&self.state));
        self.runtime.spawn(async move {
            let next = match passes(&pool).await {
                Ok(()) => CAUGHT_UP,
                Err(err) => {
                    tracing::warn!(error = %err, "checkpoint failed");
                    IDLE
                }
            };
            state.store(next, Ordering::Release);
        });
    }

    /// Whether the writer's thread is to run the last pass now (then it calls [`Self::ended`]).
    pub fn caught_up(&self) -> bool {
        self.state.load(Ordering::Acquire) == CAUGHT_UP
    }

    /// The last pass ran: the next checkpoint may start.
    pub fn ended(&self) {
        self.state.store(IDLE, Ordering::Release);
    }
}

/// Passes on one connection until one began with at most [`CHECKPOINT_LEFT`] pages more in
/// the log than the pass before it: each copies what the log held when it began, and what was
/// written during it is left to the next.
async fn passes(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let mut began_at = 0;
    for _ in 0..PASSES {
        let (_, log, _): (i64, i64, i64) = sqlx::query_as(PASS).fetch_one(&mut *conn).await?;
        if log - std::mem::replace(&mut began_at, log) <= CHECKPOINT_LEFT {
            break;
        }
    }
    Ok(())
}
