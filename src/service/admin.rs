//! Instance-wide figures and the moderation views, for administrators.

use entity::{blobs, messages, rooms, users};
use sea_orm::{ColumnTrait, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter};

use crate::auth::Viewer;
use crate::error::{ApiError, ApiResult};
use crate::service::page::{Page, Slice, keyset};
use crate::service::sql;
use crate::state::AppState;

pub struct Stats {
    pub users: u64,
    pub rooms: u64,
    pub messages: u64,
    pub blobs: u64,
    pub storage_bytes: i64,
    pub active_sockets: u64,
}

#[derive(FromQueryResult)]
struct Total {
    total: Option<i64>,
}

pub fn require_admin(viewer: &Viewer) -> ApiResult<()> {
    if viewer.is_admin() {
        Ok(())
    } else {
        Err(ApiError::Forbidden("administrators only".to_owned()))
    }
}

/// Live users, rooms and messages; stored blobs and their bytes; sockets open on this instance.
pub async fn stats(state: &AppState, viewer: &Viewer) -> ApiResult<Stats> {
    require_admin(viewer)?;
    let db = &state.db;
    let storage = Total::find_by_statement(sql::stmt(
        db.get_database_backend(),
        "SELECT CAST(SUM(size) AS BIGINT) AS total FROM blobs",
        vec![],
    ))
    .one(db)
    .await?;
    Ok(Stats {
        users: users::Entity::find()
            .filter(users::Column::DeletedAt.is_null())
            .count(db)
            .await?,
        rooms: rooms::Entity::find()
            .filter(rooms::Column::DeletedAt.is_null())
            .count(db)
            .await?,
        messages: messages::Entity::find()
            .filter(messages::Column::DeletedAt.is_null())
            .count(db)
            .await?,
        blobs: blobs::Entity::find().count(db).await?,
        storage_bytes: storage.and_then(|t| t.total).unwrap_or(0),
        active_sockets: state.presence.local_sockets() as u64,
    })
}

/// Every room that is not deleted, oldest first (a moderation view).
pub async fn rooms(
    state: &AppState,
    viewer: &Viewer,
    page: Page,
) -> ApiResult<Slice<rooms::Model>> {
    require_admin(viewer)?;
    let query = rooms::Entity::find().filter(rooms::Column::DeletedAt.is_null());
    let rows = keyset(
        query,
        rooms::Column::CreatedAt,
        rooms::Column::Id,
        page,
        false,
    )
    .all(&state.db)
    .await?;
    Ok(Slice::from_probe(page, rows))
}
