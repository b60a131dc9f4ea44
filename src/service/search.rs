//! Full-text search over the messages of the caller's rooms: FTS5 (bm25) on SQLite, a GIN
//! expression index with `ts_rank` on PostgreSQL. Words are matched whole, all of them.

use entity::messages;
use sea_orm::{DatabaseBackend, FromQueryResult};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::error::{ApiError, ApiResult};
use crate::service::room::require_member;
use crate::service::sql;
use crate::state::AppState;

pub const MAX_TERMS: usize = 16;
pub const MAX_QUERY: usize = 256;

/// Search terms: the words of `raw`, lowercase.
pub fn terms(raw: &str) -> ApiResult<Vec<String>> {
    if raw.chars().count() > MAX_QUERY {
        return Err(ApiError::bad_input(
            "query",
            "a search is at most 256 characters",
        ));
    }
    let words: Vec<String> = raw
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .take(MAX_TERMS)
        .collect();
    if words.is_empty() {
        return Err(ApiError::bad_input("query", "search for at least one word"));
    }
    Ok(words)
}

/// Up to `limit + 1` matches from `offset`, best first.
pub async fn search(
    state: &AppState,
    viewer: &Viewer,
    query: &str,
    room_id: Option<Uuid>,
    offset: u64,
    limit: u64,
) -> ApiResult<Vec<messages::Model>> {
    let words = terms(query)?;
    if let Some(room_id) = room_id {
        require_member(&state.db, viewer, room_id).await?;
    }
    let backend = state.db.get_database_backend();
    let (scope, scope_values): (&str, Vec<sea_orm::Value>) = match room_id {
        Some(room) => ("m.room_id = ?", vec![room.into()]),
        None => (
            "m.room_id IN (SELECT room_id FROM room_members WHERE user_id = ? AND left_at IS NULL)",
            vec![viewer.id().into()],
        ),
    };
    let (query, mut values): (String, Vec<sea_orm::Value>) = match backend {
        DatabaseBackend::Sqlite => {
            let matcher = words
                .iter()
                .map(|w| format!("\"{w}\""))
                .collect::<Vec<_>>()
                .join(" ");
            (
                format!(
                    "SELECT m.* FROM messages_fts f JOIN messages m ON m.rowid = f.rowid \
                     WHERE messages_fts MATCH ? AND m.deleted_at IS NULL AND {scope} \
                     ORDER BY bm25(messages_fts), m.created_at DESC, m.id DESC LIMIT ? OFFSET ?"
                ),
                vec![matcher.into()],
            )
        }
        _ => {
            let text = words.join(" ");
            (
                format!(
                    "SELECT m.* FROM messages m \
                     WHERE to_tsvector('simple', coalesce(m.body, '')) @@ plainto_tsquery('simple', ?) \
                       AND m.deleted_at IS NULL AND {scope} \
                     ORDER BY ts_rank(to_tsvector('simple', coalesce(m.body, '')), plainto_tsquery('simple', ?)) DESC, \
                       m.created_at DESC, m.id DESC LIMIT ? OFFSET ?"
                ),
                vec![text.clone().into()],
            )
        }
    };
    values.extend(scope_values);
    if backend != DatabaseBackend::Sqlite {
        values.push(words.join(" ").into());
    }
    values.push(((limit + 1) as i64).into());
    values.push((offset as i64).into());
    Ok(
        messages::Model::find_by_statement(sql::stmt(backend, &query, values))
            .all(&state.db)
            .await?,
    )
}
