//! Notifications: inbox rows for mentions, new rooms and contact requests, and those the app
//! makes (`notify_user`, by server administrators), delivered live on the user's topic as they
//! are written. Users mark their own read and delete them.

use entity::{notifications, room_members, users};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value as Json, json};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::db::now;
use crate::error::{ApiError, ApiResult};
use crate::realtime::{Event, Topic};
use crate::state::AppState;
use crate::store::page::{Page, Slice, keyset};

/// A notification to write.
pub struct New {
    pub user_id: Uuid,
    pub kind: &'static str,
    pub title: String,
    pub body: Option<String>,
    pub data: Json,
}

/// Writes notifications and publishes each to its user. Best effort: a failure is logged,
/// never surfaced, because the action that caused it has already happened.
pub async fn notify(state: &AppState, items: Vec<New>) {
    for item in items {
        let row = notifications::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(item.user_id),
            kind: Set(item.kind.to_owned()),
            title: Set(item.title),
            body: Set(item.body),
            data: Set(Some(item.data)),
            read_at: Set(None),
            created_at: Set(now()),
        };
        let written = row.insert(&*state.writer().await).await;
        match written {
            Ok(notification) => state.publish(
                Topic::User(notification.user_id),
                Event::NotificationAdded { notification },
            ),
            Err(err) => tracing::warn!(error = %err, "could not write a notification"),
        }
    }
}

/// Usernames mentioned as `@name` in a body, lowercase, each once.
pub fn mentions(body: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for (i, _) in body.match_indices('@') {
        let preceded_by_word = body[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        if preceded_by_word {
            continue; // an email address, not a mention
        }
        let name: String = body[i + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect::<String>()
            .to_lowercase();
        if (3..=32).contains(&name.len()) && !found.contains(&name) {
            found.push(name);
        }
    }
    found
}

/// Notifies the active members of `room_id` mentioned in `body` (not the sender).
pub async fn notify_mentions(
    state: &AppState,
    sender: &users::Model,
    room_id: Uuid,
    message_id: Uuid,
    body: &str,
) -> ApiResult<()> {
    let names = mentions(body);
    if names.is_empty() {
        return Ok(());
    }
    let mentioned = users::Entity::find()
        .filter(users::Column::Username.is_in(names))
        .filter(users::Column::Id.ne(sender.id))
        .filter(users::Column::DeletedAt.is_null())
        .inner_join(room_members::Entity)
        .filter(room_members::Column::RoomId.eq(room_id))
        .filter(room_members::Column::LeftAt.is_null())
        .all(&state.db)
        .await?;
    let preview: String = body.chars().take(140).collect();
    notify(
        state,
        mentioned
            .into_iter()
            .map(|user| New {
                user_id: user.id,
                kind: "mention",
                title: format!("{} mentioned you", sender.display_name),
                body: Some(preview.clone()),
                data: json!({ "roomId": room_id, "messageId": message_id, "senderId": sender.id }),
            })
            .collect(),
    )
    .await;
    Ok(())
}

/// The caller's notifications, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    unread_only: bool,
    page: Page,
) -> ApiResult<Slice<notifications::Model>> {
    let mut query =
        notifications::Entity::find().filter(notifications::Column::UserId.eq(viewer.id()));
    if unread_only {
        query = query.filter(notifications::Column::ReadAt.is_null());
    }
    let rows = keyset(
        query,
        notifications::Column::CreatedAt,
        notifications::Column::Id,
        page,
        true,
    )
    .all(db)
    .await?;
    Ok(Slice::from_probe(page, rows))
}

/// Marks the caller's notifications read (`ids`, or all when None); returns how many changed.
pub async fn mark_read(
    state: &AppState,
    viewer: &Viewer,
    ids: Option<Vec<Uuid>>,
) -> ApiResult<u64> {
    let mut update = notifications::Entity::update_many()
        .col_expr(
            notifications::Column::ReadAt,
            sea_orm::sea_query::Expr::value(now()),
        )
        .filter(notifications::Column::UserId.eq(viewer.id()))
        .filter(notifications::Column::ReadAt.is_null());
    if let Some(ids) = ids {
        update = update.filter(notifications::Column::Id.is_in(ids));
    }
    Ok(update.exec(&*state.writer().await).await?.rows_affected)
}

/// Longest kind of an app notification; kinds are `[a-z0-9_.-]`.
pub const KIND_MAX: usize = 32;
/// Longest title, in characters.
pub const TITLE_MAX: usize = 200;
/// Longest body, in characters.
pub const BODY_MAX: usize = 2_000;
/// Largest `data`, serialized.
pub const DATA_MAX_BYTES: usize = 16 * 1024;
/// Deepest nesting of `data`: deeper JSON would not read back (serde_json stops at 128).
const DATA_MAX_DEPTH: usize = 16;
/// Most ids one `delete` takes.
pub const DELETE_MAX: usize = 100;

/// A notification the app makes for a user.
pub struct AppNotification {
    pub user_id: Uuid,
    /// Free-form; `info` when omitted.
    pub kind: Option<String>,
    pub title: String,
    pub body: Option<String>,
    pub data: Option<Json>,
}

/// Writes a notification for a live user and publishes it as `NotificationAdded`; server
/// administrators only. Unlike [`notify`], a failure is the caller's error.
pub async fn notify_user(
    state: &AppState,
    viewer: &Viewer,
    input: AppNotification,
) -> ApiResult<notifications::Model> {
    crate::service::admin::require_admin(viewer)?;
    let kind = app_kind(input.kind.as_deref())?;
    let title = input.title.trim();
    if title.is_empty() || title.chars().count() > TITLE_MAX {
        return Err(ApiError::bad_input(
            "title",
            "a title is 1 to 200 characters",
        ));
    }
    let body = input
        .body
        .map(|b| b.trim().to_owned())
        .filter(|b| !b.is_empty());
    if body.as_ref().is_some_and(|b| b.chars().count() > BODY_MAX) {
        return Err(ApiError::bad_input(
            "body",
            "a body is at most 2,000 characters",
        ));
    }
    let data = input.data.map(app_data).transpose()?;
    users::Entity::find_by_id(input.user_id)
        .filter(users::Column::DeletedAt.is_null())
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::NotFound("user not found".to_owned()))?;
    let notification = notifications::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(input.user_id),
        kind: Set(kind),
        title: Set(title.to_owned()),
        body: Set(body),
        data: Set(data),
        read_at: Set(None),
        created_at: Set(now()),
    }
    .insert(&*state.writer().await)
    .await?;
    state.publish(
        Topic::User(notification.user_id),
        Event::NotificationAdded {
            notification: notification.clone(),
        },
    );
    Ok(notification)
}

/// `info` when omitted; otherwise 1-32 characters of `a-z 0-9 _ . -`.
fn app_kind(kind: Option<&str>) -> ApiResult<String> {
    let Some(kind) = kind else {
        return Ok("info".to_owned());
    };
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c);
    if kind.is_empty() || kind.len() > KIND_MAX || !kind.chars().all(allowed) {
        return Err(ApiError::bad_input(
            "kind",
            "a kind is 1 to 32 characters of a-z, 0-9, _ . -",
        ));
    }
    Ok(kind.to_owned())
}

/// A JSON object of at most 16 KiB and 16 levels.
fn app_data(value: Json) -> ApiResult<Json> {
    fn depth(value: &Json) -> usize {
        match value {
            Json::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
            Json::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }
    if !value.is_object() {
        return Err(ApiError::bad_input("data", "data must be a JSON object"));
    }
    if depth(&value) > DATA_MAX_DEPTH {
        return Err(ApiError::bad_input("data", "data is nested too deeply"));
    }
    let size = serde_json::to_vec(&value).map_or(usize::MAX, |v| v.len());
    if size > DATA_MAX_BYTES {
        return Err(ApiError::bad_input("data", "data is larger than 16 KiB"));
    }
    Ok(value)
}

/// Deletes the caller's notifications among `ids`; ids of other users' notifications (or of
/// none) are ignored, so nobody learns which exist. Returns how many were deleted.
pub async fn delete(state: &AppState, viewer: &Viewer, ids: Vec<Uuid>) -> ApiResult<u64> {
    if ids.len() > DELETE_MAX {
        return Err(ApiError::bad_input(
            "ids",
            "at most 100 notifications at once",
        ));
    }
    if ids.is_empty() {
        return Ok(0);
    }
    let deleted = notifications::Entity::delete_many()
        .filter(notifications::Column::UserId.eq(viewer.id()))
        .filter(notifications::Column::Id.is_in(ids))
        .exec(&*state.writer().await)
        .await?;
    Ok(deleted.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::mentions;

    #[test]
    fn app_kinds() {
        assert_eq!(super::app_kind(None).unwrap(), "info");
        assert_eq!(
            super::app_kind(Some("billing.invoice-due_2")).unwrap(),
            "billing.invoice-due_2"
        );
        for bad in ["", "Info", "a b", "x/y", &"k".repeat(33)] {
            assert!(super::app_kind(Some(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn finds_mentions_not_emails() {
        assert_eq!(mentions("hi @Bob and @cat_1, @bob again"), ["bob", "cat_1"]);
        assert!(mentions("mail ann@example.com").is_empty());
        assert!(mentions("@ab too short").is_empty());
    }
}
