//! Full-text search in English: stemmed, so "running" finds "run" and "runs". The PostgreSQL
//! GIN expression index is rebuilt with the `english` text search configuration (queries must
//! name the same configuration to use it), and SQLite's FTS5 table with the `porter` tokenizer
//! (over `unicode61 remove_diacritics 2`, as before), with its triggers, refilled from
//! `messages`.
//!
//! This is the default of `--search-language`; a server started with another language
//! rebuilds both the same way at start-up (`confab::db::search_index`, with the statements
//! below), so the index always
//! matches the setting the queries use.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The FTS5 table and its triggers (as in `m20261126_000014_create_message_search`) with
/// `tokenizer`, filled from `messages`.
pub fn sqlite_index(tokenizer: &str) -> Vec<String> {
    vec![
        "DROP TRIGGER IF EXISTS messages_fts_update".to_owned(),
        "DROP TRIGGER IF EXISTS messages_fts_delete".to_owned(),
        "DROP TRIGGER IF EXISTS messages_fts_insert".to_owned(),
        "DROP TABLE IF EXISTS messages_fts".to_owned(),
        format!(
            "CREATE VIRTUAL TABLE messages_fts USING fts5(body, content='messages', content_rowid='rowid', tokenize='{tokenizer}')"
        ),
        "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN new.body IS NOT NULL AND new.deleted_at IS NULL BEGIN \
           INSERT INTO messages_fts(rowid, body) VALUES (new.rowid, new.body); END".to_owned(),
        "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN old.body IS NOT NULL AND old.deleted_at IS NULL BEGIN \
           INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.rowid, old.body); END".to_owned(),
        "CREATE TRIGGER messages_fts_update AFTER UPDATE OF body, deleted_at ON messages BEGIN \
           INSERT INTO messages_fts(messages_fts, rowid, body) SELECT 'delete', old.rowid, old.body \
             WHERE old.body IS NOT NULL AND old.deleted_at IS NULL; \
           INSERT INTO messages_fts(rowid, body) SELECT new.rowid, new.body \
             WHERE new.body IS NOT NULL AND new.deleted_at IS NULL; END".to_owned(),
        "INSERT INTO messages_fts(rowid, body) SELECT rowid, body FROM messages WHERE body IS NOT NULL AND deleted_at IS NULL".to_owned(),
    ]
}

/// The GIN index with text search configuration `config` (pending list bounded as in
/// `m20261127_000019_search_pending_list`).
pub fn postgres_index(config: &str) -> Vec<String> {
    vec![
        "DROP INDEX IF EXISTS idx_messages_search".to_owned(),
        format!(
            "CREATE INDEX idx_messages_search ON messages USING GIN (to_tsvector('{config}', coalesce(body, ''))) \
             WITH (gin_pending_list_limit = 256)"
        ),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(
            manager,
            sqlite_index("porter unicode61 remove_diacritics 2"),
            postgres_index("english"),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(
            manager,
            sqlite_index("unicode61 remove_diacritics 2"),
            postgres_index("simple"),
        )
        .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

async fn run(
    manager: &SchemaManager<'_>,
    sqlite: Vec<String>,
    postgres: Vec<String>,
) -> Result<(), DbErr> {
    let statements = match manager.get_database_backend() {
        DatabaseBackend::Sqlite => sqlite,
        DatabaseBackend::Postgres => postgres,
        other => return Err(DbErr::Migration(format!("unsupported backend {other:?}"))),
    };
    crate::util::run_all(manager, statements).await
}
