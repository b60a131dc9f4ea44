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
pub mod mls;
pub mod notification;
pub mod page;
pub mod presence;
pub mod ratelimit;
pub mod room;
pub mod search;
pub mod security;
pub mod sql;
pub mod user;
pub mod validate;

use chrono::{DateTime, FixedOffset, SubsecRound, Utc};
use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};

/// The current time at microsecond precision, what PostgreSQL keeps, so a timestamp read back
/// (or carried in a cursor) compares equal to the one written, on either backend.
pub fn now() -> DateTime<FixedOffset> {
    Utc::now().trunc_subsecs(6).fixed_offset()
}

/// Starts a write transaction. On SQLite it takes the write lock up front (`BEGIN IMMEDIATE`),
/// so a transaction that reads before it writes waits its turn (busy timeout) instead of
/// failing when another writer commits first; PostgreSQL ignores the mode.
pub async fn write_txn(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}
