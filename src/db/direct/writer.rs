//! A SQLite connection for a writer that runs on a thread of its own (the message writer's,
//! `workers::message_writer`): it runs a whole transaction there, statement after statement,
//! with no hand-off to a connection thread and back for each, and reads what a statement
//! returns in place, as the readers do.

use rusqlite::Connection;
use sea_orm::{DatabaseConnection, DbErr, Statement};

use super::{Row, bind, open, sqlite_file, step};
use crate::db::WAL_AUTOCHECKPOINT;

/// Statements the writer keeps prepared: a batch's statements differ by its number of
/// messages, and under load most batches hold fewer than this many.
const STATEMENTS: usize = 64;

/// A writing connection to the file of a SQLite pool, set as the pool's connections are
/// (`db::options`). Not `Sync`: one thread owns it.
pub struct WriteConnection(Connection);

impl WriteConnection {
    /// A connection to the file of `db`'s SQLite pool; None for PostgreSQL and for an
    /// in-memory database (another connection would see another database).
    pub fn open(db: &DatabaseConnection) -> Option<anyhow::Result<Self>> {
        let path = sqlite_file(db)?;
        Some((|| {
            let connection = open(&path)?;
            connection.execute_batch(&format!(
                "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
                 PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT}"
            ))?;
            connection.set_prepared_statement_cache_capacity(STATEMENTS);
            Ok(Self(connection))
        })())
    }

    /// Runs `sql` as it is, without values (`BEGIN IMMEDIATE`, `COMMIT`, `ROLLBACK`, a
    /// `PRAGMA`, whose rows are passed over).
    pub fn execute(&self, sql: &str) -> Result<(), DbErr> {
        self.0.execute_batch(sql).map_err(failed)
    }

    /// Runs `statement` and reads each row it returns with `read`.
    pub fn fetch<T>(
        &self,
        statement: &Statement,
        read: &dyn Fn(&dyn Row) -> Result<T, DbErr>,
    ) -> Result<Vec<T>, DbErr> {
        let values = bind(statement).ok_or_else(|| {
            DbErr::Custom("SQLite writer: a value of a type it does not bind".to_owned())
        })?;
        step(&self.0, &statement.sql, values, read, failed)
    }
}

fn failed(err: rusqlite::Error) -> DbErr {
    DbErr::Custom(format!("SQLite writer: {err}"))
}
