//! The message writer on a SQLite file: a thread with a connection of its own
//! (`db::direct::writer`). It takes whatever is queued when it is free, as the writer task
//! does on PostgreSQL, and runs the batch's transaction itself, in this process's writer turn:
//! no hand-off to a connection thread and back for each statement, no copy of each returned
//! row to pass along, and the next batch starts as soon as this one commits.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use entity::messages;
use sea_orm::{DbBackend, DbErr};
use tokio::sync::{Mutex, mpsc};
use uuid::Uuid;

use super::checkpoint::{self, Checkpoints};
use super::{
    Job, MAX_BATCH, Written, answer, numbered, record_batch_time, sorted, statement, take,
};
use crate::db::direct::writer::WriteConnection;

/// Starts the writer's thread; it stops when every sender of `queue` is gone.
pub(super) fn spawn(
    connection: WriteConnection,
    queue: mpsc::Receiver<Job>,
    turn: Arc<Mutex<()>>,
    checkpoints: Checkpoints,
) {
    let spawned = std::thread::Builder::new()
        .name("confab-message-writer".to_owned())
        .spawn(move || serve(&connection, queue, &turn, checkpoints));
    if let Err(err) = spawned {
        // Every send then fails with "the message writer has stopped".
        tracing::error!(error = %err, "could not start the message writer's thread");
    }
}

fn serve(
    connection: &WriteConnection,
    mut queue: mpsc::Receiver<Job>,
    turn: &Mutex<()>,
    mut checkpoints: Checkpoints,
) {
    let mut jobs: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while let Some(job) = queue.blocking_recv() {
        jobs.push(job);
        while jobs.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let (answers, messages) = take(&mut jobs);
        let started = Instant::now();
        // A batch that panics fails its own sends (their answers are dropped), not the writer.
        let written =
            std::panic::catch_unwind(AssertUnwindSafe(|| write_all(connection, turn, messages)));
        record_batch_time(started);
        match written {
            Ok(written) => answer(answers, written),
            Err(_) => {
                let _ = connection.execute("ROLLBACK");
            }
        }
        if checkpoints.caught_up() {
            // The rest of the log is what the writer wrote during the last background pass.
            let _turn = turn.blocking_lock();
            if let Err(err) = connection.execute(checkpoint::PASS) {
                tracing::warn!(error = %err, "checkpoint failed");
            }
            checkpoints.ended();
        }
        checkpoints.when_due();
    }
}

/// The batch together, or if that fails, each message on its own.
fn write_all(
    connection: &WriteConnection,
    turn: &Mutex<()>,
    messages: Vec<messages::Model>,
) -> Vec<Written> {
    let together = write(connection, turn, &messages.iter().collect::<Vec<_>>());
    sorted(messages, together).unwrap_or_else(|messages| {
        messages
            .into_iter()
            .map(|message| {
                write(connection, turn, &[&message]).map(|written| numbered(&written, message))
            })
            .collect()
    })
}

/// Writes those of `messages` the checks allow, numbered in their rooms, and their senders'
/// read markers, all or none; returns the ids written with their seqs.
fn write(
    connection: &WriteConnection,
    turn: &Mutex<()>,
    messages: &[&messages::Model],
) -> Result<HashMap<Uuid, i64>, DbErr> {
    let [insert, seqs, markers] =
        statement::sqlite(messages).map(|q| q.statement(DbBackend::Sqlite));
    let _turn = turn.blocking_lock();
    connection.execute("BEGIN IMMEDIATE")?;
    let written = (|| {
        let written = connection.fetch(&insert, &|row| Ok((row.uuid(0)?, row.int64(1)?)))?;
        connection.fetch(&seqs, &|_| Ok(()))?;
        connection.fetch(&markers, &|_| Ok(()))?;
        connection.execute("COMMIT")?;
        Ok(written.into_iter().collect())
    })();
    if written.is_err() {
        // An error here means there was no transaction left to roll back.
        let _ = connection.execute("ROLLBACK");
    }
    written
}
