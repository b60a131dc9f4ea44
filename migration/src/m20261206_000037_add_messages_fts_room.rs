//! Search by room in the full-text index (SQLite; nothing changes on PostgreSQL).
//!
//! FTS5's `MATCH` drives a search, and the room filter came after it: a word in most messages
//! fetched every message with it, in every room, before the caller's rooms were picked out,
//! so search slowed as the whole database grew. The FTS5 table gets a second column, `room`,
//! holding one token per message that names its room (`r`, the room id in hex, `0`), and a
//! search asks for its words in `body` AND one of the caller's room tokens in `room`: FTS5
//! intersects the two lists and yields only the caller's matches.
//!
//! The token ends in a digit so that the `porter` stemmer leaves it whole (its rules strip
//! letter suffixes such as `ed` and `e`, which a hex string can end with): two rooms never
//! share a token. It is made in SQL on both sides, by the triggers from the stored room id
//! and by the search from the caller's memberships, so it does not depend on how the id is
//! stored. The table reads its columns from the view `messages_fts_source` (the message body
//! and its room token), so FTS5 functions that read the text (`highlight`, used to rank) and
//! a `rebuild` see what was indexed.
//!
//! The tokenizer is the one the table had (`--search-language`'s), read from its SQL.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The room token of the room id expression `room_id` (SQL), as indexed in `room`.
pub fn room_token(room_id: &str) -> String {
    format!("('r' || lower(hex({room_id})) || '0')")
}

/// The FTS5 table with `body` and `room` over `messages_fts_source`, with `tokenizer`, its
/// triggers, filled from `messages`.
pub fn sqlite_index(tokenizer: &str) -> Vec<String> {
    let new_room = room_token("new.room_id");
    let old_room = room_token("old.room_id");
    vec![
        "DROP TRIGGER IF EXISTS messages_fts_update".to_owned(),
        "DROP TRIGGER IF EXISTS messages_fts_delete".to_owned(),
        "DROP TRIGGER IF EXISTS messages_fts_insert".to_owned(),
        "DROP TABLE IF EXISTS messages_fts".to_owned(),
        "DROP VIEW IF EXISTS messages_fts_source".to_owned(),
        format!(
            "CREATE VIEW messages_fts_source AS SELECT rowid AS message_rowid, body, {} AS room FROM messages",
            room_token("room_id")
        ),
        format!(
            "CREATE VIRTUAL TABLE messages_fts USING fts5(body, room, content='messages_fts_source', \
             content_rowid='message_rowid', tokenize='{tokenizer}')"
        ),
        format!(
            "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN new.body IS NOT NULL AND new.deleted_at IS NULL BEGIN \
               INSERT INTO messages_fts(rowid, body, room) VALUES (new.rowid, new.body, {new_room}); END"
        ),
        format!(
            "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN old.body IS NOT NULL AND old.deleted_at IS NULL BEGIN \
               INSERT INTO messages_fts(messages_fts, rowid, body, room) VALUES ('delete', old.rowid, old.body, {old_room}); END"
        ),
        format!(
            "CREATE TRIGGER messages_fts_update AFTER UPDATE OF body, deleted_at, room_id ON messages BEGIN \
               INSERT INTO messages_fts(messages_fts, rowid, body, room) SELECT 'delete', old.rowid, old.body, {old_room} \
                 WHERE old.body IS NOT NULL AND old.deleted_at IS NULL; \
               INSERT INTO messages_fts(rowid, body, room) SELECT new.rowid, new.body, {new_room} \
                 WHERE new.body IS NOT NULL AND new.deleted_at IS NULL; END"
        ),
        format!(
            "INSERT INTO messages_fts(rowid, body, room) SELECT rowid, body, {} FROM messages \
             WHERE body IS NOT NULL AND deleted_at IS NULL",
            room_token("room_id")
        ),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Sqlite {
            return Ok(());
        }
        let tokenizer = tokenizer(manager).await?;
        crate::util::run_all(manager, sqlite_index(&tokenizer)).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Sqlite {
            return Ok(());
        }
        let tokenizer = tokenizer(manager).await?;
        let mut statements =
            crate::m20261206_000029_search_language_english::sqlite_index(&tokenizer);
        statements.insert(4, "DROP VIEW IF EXISTS messages_fts_source".to_owned());
        crate::util::run_all(manager, statements).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

/// The `tokenize` option of the FTS5 table as it is.
async fn tokenizer(manager: &SchemaManager<'_>) -> Result<String, DbErr> {
    crate::util::quoted_in_definition(
        manager,
        "SELECT sql AS def FROM sqlite_master WHERE type = 'table' AND name = 'messages_fts'",
        "tokenize='",
        "messages_fts",
    )
    .await
}
