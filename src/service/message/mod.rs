//! Messages: send, edit, soft-delete, react, typing. The batched reads behind the loaders are
//! in `store::message`.

mod catch_up;
mod input;
mod reaction;

pub use catch_up::{CATCH_UP_MAX, missed};
pub use input::{BODY_MAX, METADATA_MAX_BYTES, METADATA_MAX_DEPTH, metadata};
pub use reaction::{EMOJI_MAX, react, unreact};

use entity::messages;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::auth::Viewer;
use crate::db::now;
use crate::error::{ApiError, ApiResult};
use crate::realtime::{Event, Topic, public_user};
use crate::service::audit::{self, Audit};
use crate::service::membership::{self, Role, require_member};
use crate::service::notification;
use crate::state::AppState;
use crate::store::kinds::MessageKind;
use input::body;

/// How long a typing indicator lasts unless repeated.
pub const TYPING_TTL_SECS: i64 = 6;

pub struct SendMessage {
    pub room_id: Uuid,
    pub body: String,
    pub reply_to_id: Option<Uuid>,
    pub metadata: Option<Json>,
    /// Blobs to attach (uploaded by the sender or readable to them); up to ten.
    pub attachment_blob_ids: Vec<String>,
}

/// Sends a text message; the sender's read marker moves to it in the same transaction.
pub async fn send(
    state: &AppState,
    viewer: &Viewer,
    mut input: SendMessage,
) -> ApiResult<messages::Model> {
    // A message of attachments alone may have an empty body.
    let body = if input.attachment_blob_ids.is_empty() || !input.body.trim().is_empty() {
        body(&input.body)?
    } else {
        String::new()
    };
    let metadata = input.metadata.take().map(metadata).transpose()?;
    state
        .limiter
        .hit(
            &format!("send:{}", viewer.id()),
            state.config.limits.messages_per_10s,
            std::time::Duration::from_secs(10),
        )
        .await?;
    let message = messages::Model {
        id: Uuid::now_v7(),
        room_id: input.room_id,
        sender_id: Some(viewer.id()),
        kind: MessageKind::Text.as_str().to_owned(),
        body: Some(body),
        ciphertext: None,
        epoch: None,
        reply_to_id: input.reply_to_id,
        metadata,
        created_at: now(),
        edited_at: None,
        deleted_at: None,
        reacted: false,
        // Numbered when written: by the message writer, or below.
        seq: 0,
    };
    let message = if input.attachment_blob_ids.is_empty() {
        // The writer checks what `may_send` checks inside its INSERT; a refused message was
        // not written, and `may_send` says why. Should the room have changed in between
        // (a member who left and rejoined), the send is tried once more.
        let mut tries = 0;
        loop {
            if let Some(written) = state.messages.write(message.clone()).await? {
                break written;
            }
            may_send(state, viewer, &input).await?;
            tries += 1;
            if tries == 2 {
                return Err(membership::not_found());
            }
        }
    } else {
        may_send(state, viewer, &input).await?;
        let attached =
            crate::service::blob::check_attachments(state, viewer.id(), &input.attachment_blob_ids)
                .await?;
        let txn = state.write_txn().await?;
        let seq = crate::store::seq::next(&*txn, message.room_id).await?;
        let message = messages::ActiveModel::from(messages::Model { seq, ..message });
        let message = messages::Entity::insert(message)
            .exec_with_returning(&*txn)
            .await?;
        entity::attachments::Entity::insert_many(crate::service::blob::attachment_rows(
            message.id, &attached,
        ))
        .exec(&*txn)
        .await?;
        crate::workers::message_writer::move_read_markers(&*txn, &[message.id]).await?;
        txn.commit().await?;
        message
    };
    state.publish(
        Topic::Room(message.room_id),
        Event::MessageAdded {
            message: message.clone(),
            sender: Some(std::sync::Arc::new(public_user(viewer.user.clone()))),
        },
    );
    // Unread counters and mentions follow without holding up the sender.
    state.unread.changed(message.room_id, Some(viewer.id()));
    if message
        .body
        .as_deref()
        .is_some_and(|body| !notification::mentions(body).is_empty())
    {
        let (state, sender, sent) = (state.clone(), viewer.user.clone(), message.clone());
        tokio::spawn(async move {
            let body = sent.body.as_deref().unwrap_or_default();
            if let Err(err) =
                notification::notify_mentions(&state, &sender, sent.room_id, sent.id, body).await
            {
                tracing::warn!(error = ?err, "mention notifications failed");
            }
        });
    }
    Ok(message)
}

/// Whether the viewer may send `input` to its room: NOT_FOUND unless it is a live room they
/// are an active member of, FORBIDDEN when it is archived or a direct room with a block
/// between the two, BAD_USER_INPUT when the message replied to is not in the room. The
/// message writer checks the same in its INSERT.
async fn may_send(state: &AppState, viewer: &Viewer, input: &SendMessage) -> ApiResult<()> {
    let (room, _) = require_member(&state.reads(), viewer, input.room_id).await?;
    if room.archived_at.is_some() {
        return Err(ApiError::Forbidden("the room is archived".to_owned()));
    }
    if let Some(peer) = membership::direct_peer(&room, viewer.id())
        && crate::service::contact::blocked_between(&state.db, viewer.id(), peer).await?
    {
        return Err(ApiError::Forbidden(
            "you cannot message this user".to_owned(),
        ));
    }
    if let Some(reply_to) = input.reply_to_id {
        messages::Entity::find_by_id(reply_to)
            .filter(messages::Column::RoomId.eq(room.id))
            .filter(messages::Column::DeletedAt.is_null())
            .one(&state.db)
            .await?
            .ok_or_else(|| ApiError::bad_input("replyToId", "no such message in this room"))?;
    }
    Ok(())
}

/// Tells the room the caller is (or stopped) typing. Never stored; clients drop the
/// indicator at `expiresAt` unless it is repeated.
pub async fn set_typing(
    state: &AppState,
    viewer: &Viewer,
    room_id: Uuid,
    typing: bool,
) -> ApiResult<bool> {
    require_member(&state.reads(), viewer, room_id).await?;
    state.publish(
        Topic::Room(room_id),
        Event::Typing {
            room_id,
            user_id: viewer.id(),
            typing,
            expires_at: now() + chrono::Duration::seconds(TYPING_TTL_SECS),
        },
    );
    Ok(true)
}

/// Replaces the body of one's own text message.
pub async fn edit(
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
    new_body: &str,
) -> ApiResult<messages::Model> {
    let new_body = body(new_body)?;
    let (message, _) = visible(state, viewer, id).await?;
    if message.sender_id != Some(viewer.id()) {
        return Err(ApiError::Forbidden(
            "only the sender may edit a message".to_owned(),
        ));
    }
    if message.deleted_at.is_some() {
        return Err(ApiError::Conflict("the message was deleted".to_owned()));
    }
    if message.kind != MessageKind::Text {
        return Err(ApiError::bad_input(
            "id",
            "only text messages can be edited",
        ));
    }
    let mut active: messages::ActiveModel = message.into();
    active.body = Set(Some(new_body));
    active.edited_at = Set(Some(now()));
    let message = active.update(&*state.writer().await).await?;
    state.publish(
        Topic::Room(message.room_id),
        Event::MessageEdited {
            message: message.clone(),
        },
    );
    Ok(message)
}

/// Soft-deletes a message (the sender, a room owner or admin, or a server administrator, in
/// any room, recorded in the audit log). Metadata and ciphertext are
/// erased; the text is hidden from everyone but server administrators and erased after the
/// retention period (at once when it is 0). The row stays so replies and history keep their
/// place. Deleting twice is a no-op.
pub async fn delete(state: &AppState, viewer: &Viewer, id: Uuid) -> ApiResult<messages::Model> {
    let own = |m: &messages::Model| m.sender_id == Some(viewer.id());
    let (message, by_server_admin) = match visible(state, viewer, id).await {
        Ok((message, role)) => {
            let managed = own(&message) || role.require_manager().is_ok();
            if !managed && !viewer.is_admin() {
                role.require_manager()?;
            }
            (message, !managed)
        }
        Err(ApiError::NotFound(why)) if viewer.is_admin() => {
            let message = messages::Entity::find_by_id(id)
                .one(&state.db)
                .await?
                .ok_or(ApiError::NotFound(why))?;
            (message, true)
        }
        Err(err) => return Err(err),
    };
    if message.deleted_at.is_some() {
        return Ok(message);
    }
    let audited = by_server_admin.then(|| Audit {
        kind: audit::kind::MESSAGE_DELETED,
        actor: Some(viewer.id()),
        target: message.sender_id,
        details: serde_json::json!({ "messageId": message.id, "roomId": message.room_id }),
        ip: None,
    });
    let mut active: messages::ActiveModel = message.into();
    active.deleted_at = Set(Some(now()));
    if state.config.retention.deleted_body_days <= 0 {
        active.body = Set(None);
    }
    active.metadata = Set(None);
    active.ciphertext = Set(None);
    let txn = state.write_txn().await?;
    let message = active.update(&*txn).await?;
    if let Some(event) = audited {
        audit::record(&*txn, event).await?;
    }
    txn.commit().await?;
    state.publish(
        Topic::Room(message.room_id),
        Event::MessageDeleted {
            message: message.clone(),
        },
    );
    state.unread.changed(message.room_id, None);
    Ok(message)
}

/// A message in a room the caller belongs to, with the caller's role there; NOT_FOUND
/// otherwise.
pub async fn visible(
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
) -> ApiResult<(messages::Model, Role)> {
    let not_found = || ApiError::NotFound("message not found".to_owned());
    let message = messages::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(not_found)?;
    let (_, membership) = require_member(&state.reads(), viewer, message.room_id)
        .await
        .map_err(|_| not_found())?;
    Ok((message, Role::parse(&membership.role)))
}
