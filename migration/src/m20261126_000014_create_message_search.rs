//! Full-text search over message bodies: an FTS5 index kept in step by triggers on SQLite, a
//! GIN expression index on PostgreSQL. Neither adds a column to `messages`, so both backends
//! share one entity. Deleting a message clears its body, which drops it from either index.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_UP: &[&str] = &[
    "CREATE VIRTUAL TABLE messages_fts USING fts5(body, content='messages', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN new.body IS NOT NULL AND new.deleted_at IS NULL BEGIN \
       INSERT INTO messages_fts(rowid, body) VALUES (new.rowid, new.body); END",
    "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN old.body IS NOT NULL AND old.deleted_at IS NULL BEGIN \
       INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.rowid, old.body); END",
    // One trigger, so the old entry is removed before the new one is added (SQLite gives no
    // order between separate triggers on the same event).
    "CREATE TRIGGER messages_fts_update AFTER UPDATE OF body, deleted_at ON messages BEGIN \
       INSERT INTO messages_fts(messages_fts, rowid, body) SELECT 'delete', old.rowid, old.body \
         WHERE old.body IS NOT NULL AND old.deleted_at IS NULL; \
       INSERT INTO messages_fts(rowid, body) SELECT new.rowid, new.body \
         WHERE new.body IS NOT NULL AND new.deleted_at IS NULL; END",
    // Index what existed before this migration.
    "INSERT INTO messages_fts(rowid, body) SELECT rowid, body FROM messages WHERE body IS NOT NULL AND deleted_at IS NULL",
];
const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS messages_fts_update",
    "DROP TRIGGER IF EXISTS messages_fts_delete",
    "DROP TRIGGER IF EXISTS messages_fts_insert",
    "DROP TABLE IF EXISTS messages_fts",
];
const POSTGRES_UP: &[&str] = &[
    "CREATE INDEX idx_messages_search ON messages USING GIN (to_tsvector('simple', coalesce(body, '')))",
];
const POSTGRES_DOWN: &[&str] = &["DROP INDEX IF EXISTS idx_messages_search"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, SQLITE_UP, POSTGRES_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, SQLITE_DOWN, POSTGRES_DOWN).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

async fn run(manager: &SchemaManager<'_>, sqlite: &[&str], postgres: &[&str]) -> Result<(), DbErr> {
    let statements = match manager.get_database_backend() {
        DatabaseBackend::Sqlite => sqlite,
        DatabaseBackend::Postgres => postgres,
        other => return Err(DbErr::Migration(format!("unsupported backend {other:?}"))),
    };
    crate::util::run_all(manager, statements).await
}
