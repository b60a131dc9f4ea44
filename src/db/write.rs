//! Writing: transactions and single statements that take this process's SQLite writer turn
//! first, and the clock they stamp rows with.

use std::sync::Arc;

use chrono::{DateTime, FixedOffset, SubsecRound, Utc};
use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

/// The current time at microsecond precision, what PostgreSQL keeps, so a timestamp read back
/// (or carried in a cursor) compares equal to the one written, on either backend.
pub fn now() -> DateTime<FixedOffset> {
    Utc::now().trunc_subsecs(6).fixed_offset()
}

/// A write transaction; on SQLite it also holds this process's writer turn until it ends.
pub struct WriteTxn {
    txn: DatabaseTransaction,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl std::ops::Deref for WriteTxn {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

impl WriteTxn {
    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await
    }
}

/// The pool for one write outside a transaction (a single statement). On SQLite it holds
/// this process's writer turn while it lives, for the reason [`begin_write`] gives: a statement
/// that found the lock taken would sleep in SQLite's busy handler while the message writer
/// takes the lock again and again. Use it as a temporary, `x.update(&*state.writer().await)`,
/// so the turn ends with the statement; bind the result before a `match` (a scrutinee's
/// temporaries live through the arms).
pub struct Writer<'a> {
    db: &'a DatabaseConnection,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl std::ops::Deref for Writer<'_> {
    type Target = DatabaseConnection;

    fn deref(&self) -> &DatabaseConnection {
        self.db
    }
}

/// The pool with the writer turn taken (see [`Writer`]).
pub async fn writer<'a>(db: &'a DatabaseConnection, turn: &Arc<Mutex<()>>) -> Writer<'a> {
    Writer {
        db,
        _turn: take_turn(db, turn).await,
    }
}

/// The writer turn on SQLite, in arrival order (see [`begin_write`]); nothing on PostgreSQL.
async fn take_turn(db: &DatabaseConnection, turn: &Arc<Mutex<()>>) -> Option<OwnedMutexGuard<()>> {
    match db.get_database_backend() {
        DbBackend::Sqlite => Some(turn.clone().lock_owned().await),
        _ => None,
    }
}

/// Starts a write transaction. On SQLite it takes the write lock up front (`BEGIN IMMEDIATE`),
/// so a transaction that reads before it writes waits its turn instead of failing when another
/// writer commits first; PostgreSQL ignores the mode.
///
/// SQLite has one writer at a time, and a connection that finds the lock taken sleeps in its
/// busy handler (1, 2, 5, ... up to 100 ms per try) however soon the lock frees, and not in
/// arrival order. So this process's SQLite write transactions first queue for a turn on a
/// FIFO async lock (`turn`, the state's `writer`): waiting writers wake in order, as soon as the
/// previous one ends. Services call it as `state.write_txn()`.
pub async fn begin_write(
    db: &DatabaseConnection,
    turn: &Arc<Mutex<()>>,
) -> Result<WriteTxn, DbErr> {
    let turn = take_turn(db, turn).await;
    let txn = db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await?;
    Ok(WriteTxn { txn, _turn: turn })
}
