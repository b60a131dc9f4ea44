//! The rules of Confab: plain async functions over `(&AppState, &Viewer, input)`.
//!
//! Nothing here knows about HTTP or GraphQL; resolvers are thin wrappers around these.

pub mod account;
pub mod admin;
pub mod blob;
pub mod connection_log;
pub mod contact;
pub mod maintenance;
pub mod member;
pub mod message;
pub mod message_writer;
pub mod mls;
pub mod notification;
pub mod page;
pub mod presence;
pub mod ratelimit;
pub mod room;
pub mod rows;
pub mod search;
pub mod security;
pub mod sql;
pub mod unread;
pub mod user;
pub mod validate;

use std::sync::Arc;

use chrono::{DateTime, FixedOffset, SubsecRound, Utc};
use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::state::AppState;

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

/// Starts a write transaction. On SQLite it takes the write lock up front (`BEGIN IMMEDIATE`),
/// so a transaction that reads before it writes waits its turn instead of failing when another
/// writer commits first; PostgreSQL ignores the mode.
///
/// SQLite has one writer at a time, and a connection that finds the lock taken sleeps in its
/// busy handler (1, 2, 5, ... up to 100 ms per try) however soon the lock frees, and not in
/// arrival order. So this process's SQLite write transactions first queue for a turn on a
/// FIFO async lock (`AppState::writer`): waiting writers wake in order, as soon as the previous
/// one ends.
pub async fn write_txn(state: &AppState) -> Result<WriteTxn, DbErr> {
    begin_write(&state.db, &state.writer).await
}

/// The pool for one write outside a transaction (a single statement). On SQLite it holds
/// this process's writer turn while it lives, for the reason [`write_txn`] gives: a statement
/// that found the lock taken would sleep in SQLite's busy handler while the message writer
/// takes the lock again and again. Use it as a temporary, `x.update(&*writer(state).await)`,
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

/// See [`Writer`].
pub async fn writer(state: &AppState) -> Writer<'_> {
    Writer {
        db: &state.db,
        _turn: take_turn(&state.db, &state.writer).await,
    }
}

/// The writer turn on SQLite, in arrival order (see [`write_txn`]); nothing on PostgreSQL.
async fn take_turn(db: &DatabaseConnection, turn: &Arc<Mutex<()>>) -> Option<OwnedMutexGuard<()>> {
    match db.get_database_backend() {
        DbBackend::Sqlite => Some(turn.clone().lock_owned().await),
        _ => None,
    }
}

/// [`write_txn`] for code holding the pool and the writer turn rather than the state.
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
