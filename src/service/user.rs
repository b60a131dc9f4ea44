//! Profiles: look users up and let them change their own.

use entity::users;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::db::now;
use crate::error::{ApiError, ApiResult};
use crate::service::{blob, presence, validate};
use crate::state::AppState;

pub const STATUSES: [&str; 3] = ["online", "away", "offline"];

#[derive(Default)]
pub struct UpdateProfileInput {
    pub display_name: Option<String>,
    /// One of [`STATUSES`].
    pub status: Option<String>,
    /// `Some(None)` clears the avatar.
    pub avatar_blob_id: Option<Option<String>>,
    /// The context shared with presence (see [`presence::context`]); `Some(None)` stops
    /// sharing. Never stored here: presence keeps it.
    pub presence_context: Option<Option<String>>,
}

/// A live (not deleted) user by id.
pub async fn by_id(state: &AppState, id: Uuid) -> ApiResult<Option<users::Model>> {
    Ok(users::Entity::find_by_id(id)
        .filter(users::Column::DeletedAt.is_null())
        .one(&state.db)
        .await?)
}

/// A live user by username, case-insensitively. A name no account could have is looked up
/// nowhere.
pub async fn by_username(state: &AppState, username: &str) -> ApiResult<Option<users::Model>> {
    let Ok(username) = validate::username("username", username) else {
        return Ok(None);
    };
    Ok(users::Entity::find()
        .filter(users::Column::Username.eq(username))
        .filter(users::Column::DeletedAt.is_null())
        .one(&state.db)
        .await?)
}

pub async fn update_profile(
    state: &AppState,
    viewer: &Viewer,
    input: UpdateProfileInput,
) -> ApiResult<users::Model> {
    let context = match &input.presence_context {
        Some(Some(raw)) => Some(presence::context(raw)?),
        Some(None) => Some(None),
        None => None,
    };
    let mut user: users::ActiveModel = viewer.user.clone().into();
    if let Some(name) = input.display_name {
        user.display_name = Set(validate::display_name("displayName", &name)?);
    }
    let mut status_changed = false;
    if let Some(status) = input.status {
        if !STATUSES.contains(&status.as_str()) {
            return Err(ApiError::bad_input("status", "unknown status"));
        }
        status_changed = status != viewer.user.status;
        user.status = Set(status);
    }
    if let Some(avatar) = input.avatar_blob_id {
        // Only the caller's own uploads: another user's blob answers as one that does not
        // exist (no oracle for which files exist, no publishing someone else's id).
        if let Some(blob_id) = &avatar
            && !blob::uploaded_by(&state.db, viewer.id(), blob_id).await?
        {
            return Err(ApiError::bad_input("avatarBlobId", "no such blob"));
        }
        user.avatar_blob_id = Set(avatar);
    }
    user.updated_at = Set(now());
    let user = user.update(&*state.writer().await).await?;
    state.viewer_changed(viewer.id(), None);
    if status_changed || context.is_some() {
        presence::changed(state, &user, context).await;
    }
    Ok(user)
}
