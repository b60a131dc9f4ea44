//! Full-text search over messages: FTS5 on SQLite, on PostgreSQL the stored documents of
//! `search_documents` (migration 38) with a GIN index. Queries name the text search
//! configuration of `--search-language`, the one the documents were made with
//! (`db::search_index`): with another, words would be stemmed differently.
//!
//! Results are ranked by how often the words occur in a message, then newest first. On
//! PostgreSQL that is `ts_rank` (normalization 0: not divided by length; for several words it
//! also favours them close together). On SQLite it is the number of matches FTS5's `highlight`
//! marks in the body: `bm25` is not used, because it weighs each word by how many messages in
//! the whole table have it and counts them on every query (every message, for a word in all of
//! them), so its cost grew with the database rather than with what the caller can see.
//!
//! Neither reads other rooms' messages. PostgreSQL, planned for the words, starts a common
//! word from the memberships and the documents' room index; SQLite asks FTS5 for the words in
//! `body` AND one of the rooms' tokens in `room` (migration 37), an intersection of two lists
//! in the index. Either way the work grows with the matches in the caller's rooms (each is
//! ranked), not with the table.

use entity::messages;
use migration::search_room_token;
use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, FromQueryResult, TransactionTrait};
use uuid::Uuid;

use super::rows::{self, Column as _, Positional as _};
use super::sql::Sql;
use crate::config::SearchLanguage;
use crate::db::direct::Reads;

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
    reads: &Reads<'_>,
    language: SearchLanguage,
    words: &[String],
    scope: Scope,
    offset: u64,
    limit: u64,
) -> Result<Vec<messages::Model>, DbErr> {
    let db = reads.db;
    let backend = db.get_database_backend();
    if backend == DatabaseBackend::Sqlite {
        // Both statements run on the SQLite readers (`db::direct`).
        let Some(matcher) = sqlite_matcher(reads, words, scope).await? else {
            return Ok(Vec::new());
        };
        let mut query = Sql::new("SELECT ");
        query.push(&rows::columns::<messages::Model>("m")).push(
            " FROM messages_fts f JOIN messages m ON m.rowid = f.rowid \
             WHERE messages_fts MATCH ",
        );
        query.bind(matcher).push(" AND m.deleted_at IS NULL AND ");
        in_scope(&mut query, "m.room_id", scope);
        // Each highlighted match adds its two markers to the body's length.
        query.push(
            " ORDER BY length(highlight(messages_fts, 0, '[', ']')) - length(m.body) DESC, \
             m.created_at DESC, m.id DESC LIMIT ",
        );
        query
            .bind(limit as i64)
            .push(" OFFSET ")
            .bind(offset as i64);
        return rows::fetch(reads, query, |row| messages::Model::read(row, 0)).await;
    }
    // The stored documents of live messages (migration 38), ranked without touching
    // `messages`; only the page's messages are read. The configuration is a name from a fixed
    // list, written into the SQL as the documents were made with it.
    let words = words.join(" ");
    let tsquery = |q: &mut Sql| {
        q.push("plainto_tsquery('")
            .push(language.as_str())
            .push("', ")
            .bind(words.clone())
            .push(")");
    };
    let mut query =
        Sql::new("SELECT m.* FROM (SELECT d.message_id, d.created_at, ts_rank(d.document, ");
    tsquery(&mut query);
    query.push(") AS rank FROM search_documents d WHERE d.document @@ ");
    tsquery(&mut query);
    query.push(" AND ");
    in_scope(&mut query, "d.room_id", scope);
    query
        .push(" ORDER BY rank DESC, d.created_at DESC, d.message_id DESC LIMIT ")
        .bind(limit as i64)
        .push(" OFFSET ")
        .bind(offset as i64)
        .push(
            ") top JOIN messages m ON m.id = top.message_id \
             ORDER BY top.rank DESC, top.created_at DESC, top.message_id DESC",
        );
    let statement = messages::Model::find_by_statement(query.statement(backend));
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

/// `column` (a room id) within `scope`.
fn in_scope(query: &mut Sql, column: &str, scope: Scope) {
    query.push(column);
    match scope {
        Scope::Room(room_id) => query.push(" = ").bind(room_id),
        Scope::RoomsOf(user_id) => query
            .push(" IN (SELECT room_id FROM room_members WHERE user_id = ")
            .bind(user_id)
            .push(" AND left_at IS NULL)"),
    };
}

/// The FTS5 query for `words` in the bodies of `scope`'s rooms: `body : ("a" "b") AND
/// room : (r…0 OR r…0)`, or `None` when the scope has no room. The words are letters and
/// digits only (`service::search::terms`), so quoting them is enough.
async fn sqlite_matcher(
    reads: &Reads<'_>,
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
    let tokens = rows::fetch(reads, rooms, |row| Option::<String>::get(row, 0))
        .await?
        .into_iter()
        .next()
        .flatten();
    let words = words
        .iter()
        .map(|w| format!("\"{w}\""))
        .collect::<Vec<_>>()
        .join(" ");
    Ok(tokens.map(|rooms| format!("body : ({words}) AND room : ({rooms})")))
}
