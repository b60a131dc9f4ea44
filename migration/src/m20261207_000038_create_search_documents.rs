//! Search documents stored once, not computed on every search (PostgreSQL; nothing changes on
//! SQLite, whose FTS5 table already stores them).
//!
//! The GIN expression index found the messages holding a word, but a search still had to
//! compute each candidate's `to_tsvector` twice: to check the words (the common-word plan
//! starts from the caller's rooms and filters) and to rank. For a word in every message of two
//! rooms that was 800 bodies parsed and stemmed twice, about 20 ms of the database's CPU per
//! search, and with 32 searches at once on two cores the p99 was over 400 ms
//! (docs/performance.md, "Search on PostgreSQL reads stored documents").
//!
//! `search_documents` holds one row per live message with a body: its id, room, time and the
//! `tsvector` of its body, with a GIN index on the document and a btree on the room. Triggers
//! keep it: per inserting or deleting statement (transition tables, so the writer's batch is
//! indexed in one statement), per row for an update of the body, the deletion mark or the
//! room. No foreign key: its check would be one more query and row lock per message sent,
//! and only these triggers write the table. The expression index on `messages` goes. The language of
//! `--search-language` is named in one place, the SQL function `search_document(body)`.
//!
//! The language is the one the expression index had (`--search-language`'s), read from its
//! definition.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Fills `search_documents` from `messages` (the table empty): the migration's fill, and the
/// benchmark seed's after loading with the insert trigger off.
pub const FILL: &str = "INSERT INTO search_documents (message_id, room_id, created_at, document) \
     SELECT id, room_id, created_at, search_document(body) FROM messages \
     WHERE body IS NOT NULL AND deleted_at IS NULL";

/// `search_document(body)`, the one place that names the text search configuration `config`,
/// and every document made again with it. Run on a language change too
/// (`confab::db::search_index`).
pub fn postgres_documents(config: &str) -> Vec<String> {
    vec![
        // A one-expression SQL function, IMMUTABLE: inlined into the statements that call it.
        format!(
            "CREATE OR REPLACE FUNCTION search_document(body text) RETURNS tsvector \
             LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT to_tsvector('{config}'::regconfig, body) $$"
        ),
        "TRUNCATE search_documents".to_owned(),
        FILL.to_owned(),
        // Statistics now, not when autovacuum comes by: without them the planner takes the
        // full-text index even for a word in every message, and reads all of them.
        "ANALYZE search_documents".to_owned(),
    ]
}

/// The table, its triggers and (after the fill) its indexes.
const TABLE: &str = "CREATE TABLE search_documents ( \
       message_id uuid NOT NULL PRIMARY KEY, \
       room_id uuid NOT NULL, \
       created_at timestamp with time zone NOT NULL, \
       document tsvector NOT NULL)";
const TRIGGERS: [&str; 6] = [
    "CREATE FUNCTION search_documents_insert() RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN \
       INSERT INTO search_documents (message_id, room_id, created_at, document) \
       SELECT id, room_id, created_at, search_document(body) FROM added \
       WHERE body IS NOT NULL AND deleted_at IS NULL; \
       RETURN NULL; \
     END $$",
    "CREATE FUNCTION search_documents_update() RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN \
       DELETE FROM search_documents WHERE message_id = OLD.id; \
       IF NEW.body IS NOT NULL AND NEW.deleted_at IS NULL THEN \
         INSERT INTO search_documents (message_id, room_id, created_at, document) \
         VALUES (NEW.id, NEW.room_id, NEW.created_at, search_document(NEW.body)); \
       END IF; \
       RETURN NULL; \
     END $$",
    "CREATE FUNCTION search_documents_delete() RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN \
       DELETE FROM search_documents d USING gone WHERE d.message_id = gone.id; \
       RETURN NULL; \
     END $$",
    "CREATE TRIGGER search_documents_insert AFTER INSERT ON messages \
     REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION search_documents_insert()",
    "CREATE TRIGGER search_documents_update AFTER UPDATE OF body, deleted_at, room_id ON messages \
     FOR EACH ROW WHEN (OLD.body IS DISTINCT FROM NEW.body OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at \
       OR OLD.room_id IS DISTINCT FROM NEW.room_id) \
     EXECUTE FUNCTION search_documents_update()",
    "CREATE TRIGGER search_documents_delete AFTER DELETE ON messages \
     REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION search_documents_delete()",
];
const INDEXES: [&str; 2] = [
    "CREATE INDEX idx_search_documents_document ON search_documents USING GIN (document) \
     WITH (gin_pending_list_limit = 256)",
    "CREATE INDEX idx_search_documents_room ON search_documents (room_id)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let config = config(manager).await?;
        let mut statements: Vec<String> = vec![TABLE.to_owned()];
        statements.extend(TRIGGERS.map(str::to_owned));
        statements.extend(postgres_documents(&config));
        statements.extend(INDEXES.map(str::to_owned));
        statements.push("DROP INDEX idx_messages_search".to_owned());
        crate::util::run_all(manager, statements).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let config = config(manager).await?;
        let mut statements = vec![
            "DROP TRIGGER search_documents_insert ON messages".to_owned(),
            "DROP TRIGGER search_documents_update ON messages".to_owned(),
            "DROP TRIGGER search_documents_delete ON messages".to_owned(),
            "DROP FUNCTION search_documents_insert()".to_owned(),
            "DROP FUNCTION search_documents_update()".to_owned(),
            "DROP FUNCTION search_documents_delete()".to_owned(),
            "DROP TABLE search_documents".to_owned(),
            "DROP FUNCTION search_document(text)".to_owned(),
        ];
        statements.extend(crate::m20261206_000029_search_language_english::postgres_index(&config));
        crate::util::run_all(manager, statements).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

/// The text search configuration of the search index as it is: the expression index's before
/// this migration, `search_document`'s after it.
async fn config(manager: &SchemaManager<'_>) -> Result<String, DbErr> {
    crate::util::quoted_in_definition(
        manager,
        "SELECT coalesce( \
           (SELECT prosrc FROM pg_proc WHERE proname = 'search_document' \
              AND pronamespace = current_schema()::regnamespace), \
           (SELECT indexdef FROM pg_indexes \
              WHERE schemaname = current_schema() AND indexname = 'idx_messages_search')) AS def",
        "to_tsvector('",
        "the search index",
    )
    .await
}
