//! Reactions: one of each emoji per user on a message, announced to the room.

use entity::{message_reactions, messages};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::visible;
use crate::auth::Viewer;
use crate::db::now;
use crate::error::{ApiError, ApiResult};
use crate::realtime::{Event, Topic};
use crate::state::AppState;

pub const EMOJI_MAX: usize = 32;

/// Adds the caller's `emoji` reaction (once per user and emoji).
pub async fn react(
    state: &AppState,
    viewer: &Viewer,
    message_id: Uuid,
    emoji: &str,
) -> ApiResult<messages::Model> {
    let emoji = self::emoji(emoji)?;
    let (mut message, _) = visible(state, viewer, message_id).await?;
    if message.deleted_at.is_some() {
        return Err(ApiError::Conflict("the message was deleted".to_owned()));
    }
    let writer = state.writer().await;
    // Before the reaction row, so no reaction row exists without it (readers skip messages
    // without it: migration 21).
    if !message.reacted {
        messages::Entity::update_many()
            .col_expr(messages::Column::Reacted, Expr::value(true))
            .filter(messages::Column::Id.eq(message.id))
            .exec(&*writer)
            .await?;
        message.reacted = true;
    }
    let reaction = message_reactions::ActiveModel {
        message_id: Set(message.id),
        user_id: Set(viewer.id()),
        emoji: Set(emoji.clone()),
        created_at: Set(now()),
    };
    let inserted = message_reactions::Entity::insert(reaction)
        .on_conflict(
            OnConflict::columns([
                message_reactions::Column::MessageId,
                message_reactions::Column::UserId,
                message_reactions::Column::Emoji,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec(&*writer)
        .await;
    drop(writer);
    match inserted {
        Ok(_) => {
            publish_reaction(state, viewer, &message, emoji, true);
            Ok(message)
        }
        Err(DbErr::RecordNotInserted) => Ok(message),
        Err(err) => Err(err.into()),
    }
}

/// Removes the caller's `emoji` reaction, if any.
pub async fn unreact(
    state: &AppState,
    viewer: &Viewer,
    message_id: Uuid,
    emoji: &str,
) -> ApiResult<messages::Model> {
    let emoji = self::emoji(emoji)?;
    let (message, _) = visible(state, viewer, message_id).await?;
    let deleted = message_reactions::Entity::delete_by_id((message.id, viewer.id(), emoji.clone()))
        .exec(&*state.writer().await)
        .await?;
    if deleted.rows_affected > 0 {
        publish_reaction(state, viewer, &message, emoji, false);
    }
    Ok(message)
}

fn publish_reaction(
    state: &AppState,
    viewer: &Viewer,
    message: &messages::Model,
    emoji: String,
    added: bool,
) {
    state.publish(
        Topic::Room(message.room_id),
        Event::ReactionChanged {
            message: message.clone(),
            user_id: viewer.id(),
            emoji,
            added,
        },
    );
}

fn emoji(raw: &str) -> ApiResult<String> {
    let emoji = raw.trim();
    let len = emoji.chars().count();
    if len == 0 || len > EMOJI_MAX || emoji.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ApiError::bad_input(
            "emoji",
            "an emoji is 1 to 32 characters without spaces",
        ));
    }
    Ok(emoji.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emoji_is_one_short_word() {
        assert!(emoji("👍").is_ok());
        assert!(emoji("a b").is_err());
        assert!(emoji("").is_err());
    }
}
