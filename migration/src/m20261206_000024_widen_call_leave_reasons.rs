//! `call_sessions.leave_reason` gains `disconnected` (the `callEvents` subscription that held
//! the session ended: its socket closed) and `removed` (its user left the room or was removed
//! from it), beside `left`, `timeout` and `ended`.
//!
//! PostgreSQL replaces the check. SQLite cannot alter a check, so the table is rebuilt the way
//! SQLite's documentation gives it: the same `CREATE TABLE` text with the new check under a
//! scratch name, the rows copied, the old table dropped, the new one renamed, its indexes
//! made again from their stored text, all in one transaction on one connection. Nothing references `call_sessions` yet when this runs
//! (the connection-log link comes after it), so dropping it sets off no foreign-key action.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

const OLD: &str = "leave_reason IN ('left', 'timeout', 'ended')";
const NEW: &str = "leave_reason IN ('left', 'timeout', 'ended', 'disconnected', 'removed')";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        replace_check(manager, OLD, NEW).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The narrower check would refuse the rows that use the new words.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE call_sessions SET leave_reason = 'left' \
                 WHERE leave_reason IN ('disconnected', 'removed')",
            )
            .await?;
        replace_check(manager, NEW, OLD).await
    }
}

async fn replace_check(manager: &SchemaManager<'_>, from: &str, to: &str) -> Result<(), DbErr> {
    let db = manager.get_connection();
    if manager.get_database_backend() != DbBackend::Sqlite {
        db.execute_unprepared(&format!(
            "ALTER TABLE call_sessions DROP CONSTRAINT ck_leave_reason, \
             ADD CONSTRAINT ck_leave_reason CHECK ({to})"
        ))
        .await?;
        return Ok(());
    }
    let schema = |kind: &str| {
        Statement::from_string(
            DbBackend::Sqlite,
            format!(
                "SELECT sql FROM sqlite_master WHERE type = '{kind}' \
                 AND tbl_name = 'call_sessions' AND sql IS NOT NULL"
            ),
        )
    };
    let table: String = db
        .query_one_raw(schema("table"))
        .await?
        .ok_or_else(|| DbErr::Migration("call_sessions is missing".to_owned()))?
        .try_get("", "sql")?;
    if !table.contains(from) {
        return Err(DbErr::Migration(format!(
            "call_sessions has no check `{from}` to replace"
        )));
    }
    let mut indexes = Vec::new();
    for row in db.query_all_raw(schema("index")).await? {
        indexes.push(row.try_get::<String>("", "sql")?);
    }
    let scratch = table
        .replacen("call_sessions", "call_sessions_rebuilt", 1)
        .replace(from, to);
    // One batch, so one connection of the pool runs it all, in one transaction.
    let mut batch = format!(
        "BEGIN; {scratch}; INSERT INTO call_sessions_rebuilt SELECT * FROM call_sessions; \
         DROP TABLE call_sessions; ALTER TABLE call_sessions_rebuilt RENAME TO call_sessions; "
    );
    for index in indexes {
        batch.push_str(&index);
        batch.push_str("; ");
    }
    batch.push_str("COMMIT;");
    db.execute_unprepared(&batch).await?;
    Ok(())
}
