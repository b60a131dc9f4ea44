//! Keeps the full-text index in the language of `--search-language`.
//!
//! PostgreSQL's stored search documents are stemmed as the SQL function `search_document`
//! says, and SQLite's FTS5 table as its tokenizer says: the documents and the queries must
//! agree. The index itself records what it was built with (that function's source on
//! PostgreSQL, the table's SQL on SQLite), so no setting is stored elsewhere: at start-up,
//! after the migrations, it is read and, when it was built for another language, rebuilt in
//! one transaction (every message body is indexed again: on a large PostgreSQL database this
//! takes a while, and writes to `messages` wait for it). The queries then use the setting.
//! Instances sharing a database must share the setting.

use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, Statement, TransactionTrait,
};

use crate::config::SearchLanguage;

/// Rebuilds the search index when it was built for another language than `language`; true
/// when it did.
pub async fn reconcile(db: &DatabaseConnection, language: SearchLanguage) -> Result<bool, DbErr> {
    let backend = db.get_database_backend();
    if backend == DatabaseBackend::Postgres {
        drop_legacy_index(db).await?;
    }
    let (probe, wanted, statements) = match backend {
        DatabaseBackend::Postgres => (
            "SELECT prosrc AS def FROM pg_proc WHERE proname = 'search_document' \
             AND pronamespace = current_schema()::regnamespace",
            format!("to_tsvector('{}'::regconfig", language.as_str()),
            migration::search_documents_postgres(language.as_str()),
        ),
        _ => (
            "SELECT sql AS def FROM sqlite_master WHERE type = 'table' AND name = 'messages_fts'",
            format!("tokenize='{}'", language.fts5_tokenizer()),
            migration::search_index_sqlite(language.fts5_tokenizer()),
        ),
    };
    let current: Option<String> = match db
        .query_one_raw(Statement::from_string(backend, probe))
        .await?
    {
        Some(row) => row.try_get("", "def")?,
        None => None,
    };
    if current.is_some_and(|def| def.contains(&wanted)) {
        return Ok(false);
    }
    tracing::info!(
        language = language.as_str(),
        "search index: rebuilding for the configured language"
    );
    let txn = db.begin().await?;
    for sql in statements {
        txn.execute_unprepared(&sql).await?;
    }
    txn.commit().await?;
    Ok(true)
}

/// Drops the GIN expression index of releases before migration 38, when a process of one of
/// them, started after that migration, built it again (its own start-up check finds it
/// missing): nothing reads it any more, and every send would keep paying for it.
async fn drop_legacy_index(db: &DatabaseConnection) -> Result<(), DbErr> {
    let found = db
        .query_one_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            "SELECT 1 AS found FROM pg_indexes \
             WHERE schemaname = current_schema() AND indexname = 'idx_messages_search'",
        ))
        .await?;
    if found.is_some() {
        tracing::info!("search index: dropping idx_messages_search, left by an earlier release");
        db.execute_unprepared("DROP INDEX IF EXISTS idx_messages_search")
            .await?;
    }
    Ok(())
}
