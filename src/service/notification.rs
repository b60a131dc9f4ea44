//! Notifications: inbox rows for mentions, new rooms and contact requests, delivered live on
//! the user's topic as they are written.

use entity::{notifications, room_members, users};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value as Json, json};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::db::now;
use crate::error::ApiResult;
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

#[cfg(test)]
mod tests {
    use super::mentions;

    #[test]
    fn finds_mentions_not_emails() {
        assert_eq!(mentions("hi @Bob and @cat_1, @bob again"), ["bob", "cat_1"]);
        assert!(mentions("mail ann@example.com").is_empty());
        assert!(mentions("@ab too short").is_empty());
    }
}
