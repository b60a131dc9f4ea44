//! Full-text search over the messages of the caller's rooms (`store::search` runs it). Every
//! word must match, in the language of `--search-language`: stemmed (in `english`, the
//! default, "running" finds "run"), or whole words with `simple`.

use entity::messages;
use uuid::Uuid;

use crate::auth::Viewer;
use crate::error::{ApiError, ApiResult};
use crate::service::membership::require_member;
use crate::state::AppState;
use crate::store;

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
        require_member(&state.reads(), viewer, room_id).await?;
    }
    let scope = match room_id {
        Some(room_id) => store::search::Scope::Room(room_id),
        None => store::search::Scope::RoomsOf(viewer.id()),
    };
    Ok(store::search::messages(
        &state.reads(),
        state.config.database.search_language,
        &words,
        scope,
        offset,
        limit + 1,
    )
    .await?)
}
