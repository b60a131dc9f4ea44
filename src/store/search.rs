//! Full-text search over messages: FTS5 on SQLite, a GIN expression index on PostgreSQL.
//! Queries name the text search configuration of `--search-language`, the one the index was
//! built with (`db::search_index`): with another the index is not used.
//!
//! Results are ranked by how often the words occur in a message, then newest first. On
//! PostgreSQL that is `ts_rank` (normalization 0: not divided by length; for several words it
//! also favours them close together). On SQLite it is the number of matches FTS5's `highlight`
//! marks in the body: `bm25` is not used, because it weighs each word by how many messages in
//! the whole table have it and counts them on every query (every message, for a word in all of
//! them), so its cost grew with the database rather than with what the caller can see.
//!
//! Neither reads other rooms' messages. PostgreSQL, planned for the words, starts a common
//! word from the memberships and the room timeline index; SQLite asks FTS5 for the words in
//! `body` AND one of the rooms' tokens in `room` (migration 37), an intersection of two lists
//! in the index. Either way the work grows with the matches in the caller's rooms (each is
//! ranked), not with the table.

use entity::messages;
use migration::search_room_token;
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
    let mut query = match backend {
        DatabaseBackend::Sqlite => match sqlite_matcher(db, words, scope).await? {
            Some(matcher) => {
                let mut q = Sql::new(
                    "SELECT m.* FROM messages_fts f JOIN messages m ON m.rowid = f.rowid \
                     WHERE messages_fts MATCH ",
                );
                q.bind(matcher);
                q
            }
            None => return Ok(Vec::new()),
        },
        _ => {
            // The configuration is a name from a fixed list, written into the SQL: the index
            // is used only when the expression is the index's, constant included.
            let config = language.as_str();
            let mut q = Sql::new("SELECT m.* FROM messages m WHERE to_tsvector('");
            q.push(config)
                .push("', coalesce(m.body, '')) @@ plainto_tsquery('")
                .push(config)
                .push("', ")
                .bind(words.join(" "))
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
        // Each highlighted match adds its two markers to the body's length.
        DatabaseBackend::Sqlite => query
            .push(" ORDER BY length(highlight(messages_fts, 0, '[', ']')) - length(m.body) DESC"),
        _ => query
            .push(" ORDER BY ts_rank(to_tsvector('")
            .push(language.as_str())
            .push("', coalesce(m.body, '')), plainto_tsquery('")
            .push(language.as_str())
            .push("', ")
            .bind(words.join(" "))
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

#[derive(FromQueryResult)]
struct RoomTokens {
    rooms: Option<String>,
}

/// The FTS5 query for `words` in the bodies of `scope`'s rooms: `body : ("a" "b") AND
/// room : (r…0 OR r…0)`, or `None` when the scope has no room. The words are letters and
/// digits only (`service::search::terms`), so quoting them is enough.
async fn sqlite_matcher(
    db: &DatabaseConnection,
    words: &[String],
    scope: Scope,
) -> Result<Option<String>, DbErr> {
    let mut rooms = Sql::new("SELECT group_concat(");
    match scope {
        Scope::Room(room_id) => rooms
            .push(&search_room_token("id"))
            .push(", ' OR ') AS rooms FROM rooms WHERE id = ")
            .bind(room_id),
        Scope::RoomsOf(user_id) => rooms
            .push(&search_room_token("room_id"))
            .push(", ' OR ') AS rooms FROM room_members WHERE user_id = ")
            .bind(user_id)
            .push(" AND left_at IS NULL"),
    };
    let tokens = RoomTokens::find_by_statement(rooms.statement(DatabaseBackend::Sqlite))
        .one(db)
        .await?
        .and_then(|row| row.rooms);
    let words = words
        .iter()
        .map(|w| format!("\"{w}\""))
        .collect::<Vec<_>>()
        .join(" ");
    Ok(tokens.map(|rooms| format!("body : ({words}) AND room : ({rooms})")))
}
