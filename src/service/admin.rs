//! Instance-wide figures and the moderation views, for administrators.

use entity::{blobs, messages, rooms, users};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::auth::Viewer;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store;
use crate::store::page::{Page, Slice};

pub struct Stats {
    pub users: u64,
    pub rooms: u64,
    pub messages: u64,
    pub blobs: u64,
    pub storage_bytes: i64,
    pub active_sockets: u64,
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
    let storage_bytes = store::blob::bytes_stored(db).await?;
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
        storage_bytes,
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
    Ok(store::room::live(&state.reads(), page).await?)
}
