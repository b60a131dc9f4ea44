//! Full-text search over messages: FTS5 (bm25) on SQLite, a GIN expression index with
//! `ts_rank` on PostgreSQL. Queries name the text search configuration of `--search-language`,
//! the one the index was built with (`db::search_index`): with another the index is not used.

use entity::messages;
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, FromQueryResult, TransactionTrait,
};
use uuid::Uuid;

use super::sql::Sql;
use crate::config::SearchLanguage;

/// Which messages a search looks in.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    /// One room.
    Room(Uuid),
    /// The rooms a user is an active member of.
    RoomsOf(Uuid),
}

/// Up to `limit` live messages matching every one of `words` (lowercase, stemmed in
/// `language` as the index is), from `offset`, best first.
pub async fn messages(
    db: &DatabaseConnection,
    language: SearchLanguage,
    words: &[String],
    scope: Scope,
    offset: u64,
    limit: u64,
) -> Result<Vec<messages::Model>, DbErr> {
    let backend = db.get_database_backend();
    let text = words.join(" ");
    let mut query = match backend {
        DatabaseBackend::Sqlite => {
            let matcher = words
                .iter()
                .map(|w| format!("\"{w}\""))
                .collect::<Vec<_>>()
                .join(" ");
            let mut q = Sql::new(
                "SELECT m.* FROM messages_fts f JOIN messages m ON m.rowid = f.rowid \
                 WHERE messages_fts MATCH ",
            );
            q.bind(matcher);
            q
        }
        _ => {
            // The configuration is a name from a fixed list, written into the SQL: the index
            // is used only when the expression is the index's, constant included.
            let config = language.as_str();
            let mut q = Sql::new("SELECT m.* FROM messages m WHERE to_tsvector('");
            q.push(config)
                .push("', coalesce(m.body, '')) @@ plainto_tsquery('")
                .push(config)
                .push("', ")
                .bind(text.clone())
                .push(")");
            q
        }
    };
    query.push(" AND m.deleted_at IS NULL AND ");
    match scope {
        Scope::Room(room_id) => query.push("m.room_id = ").bind(room_id),
        Scope::RoomsOf(user_id) => query
            .push("m.room_id IN (SELECT room_id FROM room_members WHERE user_id = ")
            .bind(user_id)
            .push(" AND left_at IS NULL)"),
    };
    match backend {
        DatabaseBackend::Sqlite => query.push(" ORDER BY bm25(messages_fts)"),
        _ => query
            .push(" ORDER BY ts_rank(to_tsvector('")
            .push(language.as_str())
            .push("', coalesce(m.body, '')), plainto_tsquery('")
            .push(language.as_str())
            .push("', ")
            .bind(text)
            .push(")) DESC"),
    };
    query
        .push(", m.created_at DESC, m.id DESC LIMIT ")
        .bind(limit as i64)
        .push(" OFFSET ")
        .bind(offset as i64);
    let statement = messages::Model::find_by_statement(query.statement(backend));
    if backend == DatabaseBackend::Sqlite {
        return statement.all(db).await;
    }
    // Planned for its words. Confab's connections plan prepared statements once, generically
    // (`--db-plan-cache-mode`), and a generic plan cannot tell a rare word from one in every
    // message: it took the full-text index for both, and for a common word that meant fetching
    // and ranking every message that has it (1.13 s at 10x the benchmark data, against 25-28
    // ms planned for the word: docs/performance.md). Two statements more, in one transaction.
    let txn = db.begin().await?;
    txn.execute_unprepared("SET LOCAL plan_cache_mode = force_custom_plan")
        .await?;
    let found = statement.all(&txn).await?;
    txn.commit().await?;
    Ok(found)
}
