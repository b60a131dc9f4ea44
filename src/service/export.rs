//! `exportMyData`: the caller's data as one JSON archive, stored as a blob only they may read.
//!
//! The archive (`format: "confab-export"`, `version: 1`) holds the profile, sessions, contacts,
//! rooms with the caller's role, the messages they sent, their reactions, their uploads'
//! metadata and their security events. Lists are bounded so an archive is built in bounded
//! memory: messages newest first, read a page at a time, up to [`MESSAGES_MAX`] or
//! [`MESSAGE_TEXT_MAX`] bytes of text (`messages.truncated` says when more were left out); the
//! other lists up to [`LIST_MAX`] newest rows each. The blob is stored as an upload of the
//! caller's (`confab-export-<date>.json`, `application/json`, served as a download), so it is
//! readable by its uploader only: it names no room, and nobody else can attach a blob they
//! cannot read. One export per [`EXPORT_WINDOW`] per user.

use chrono::{DateTime, FixedOffset, Utc};
use entity::{
    audit_events, blob_uploads, blobs, contacts, message_reactions, messages, room_members, rooms,
    sessions, users,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::db::now;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Most messages an archive holds (the newest).
pub const MESSAGES_MAX: usize = 10_000;
/// Most bytes of message text an archive holds (then the older messages are left out).
pub const MESSAGE_TEXT_MAX: usize = 8 << 20;
/// Most rows of each other list (the newest).
pub const LIST_MAX: u64 = 10_000;
/// One export per user per this long.
pub const EXPORT_WINDOW: std::time::Duration = std::time::Duration::from_secs(600);
const PAGE: u64 = 500;
/// The type the archive is stored as.
pub const MIME: &str = "application/json";

/// Builds the caller's archive and stores it as their upload; returns the blob and upload.
pub async fn export(
    state: &AppState,
    viewer: &Viewer,
) -> ApiResult<(blobs::Model, blob_uploads::Model)> {
    let me = viewer.id();
    state
        .limiter
        .hit(&format!("export:{me}"), 1, EXPORT_WINDOW)
        .await?;
    let db = &state.db;
    let user = users::Entity::find_by_id(me)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::Unauthenticated("the account is gone".to_owned()))?;
    let at = now();
    let archive = json!({
        "format": "confab-export",
        "version": 1,
        "exportedAt": at,
        "profile": profile(&user),
        "sessions": sessions_of(db, me).await?,
        "contacts": contacts_of(db, me).await?,
        "rooms": rooms_of(db, me).await?,
        "messages": messages_of(db, me).await?,
        "reactions": reactions_of(db, me).await?,
        "uploads": uploads_of(db, me).await?,
        "securityEvents": security_events_of(db, me).await?,
    });
    let bytes = serde_json::to_vec_pretty(&archive).map_err(ApiError::internal)?;
    store(state, me, bytes, at).await
}

fn profile(user: &users::Model) -> Value {
    json!({
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "displayName": user.display_name,
        "role": user.role,
        "status": user.status,
        "emailVerifiedAt": user.email_verified_at,
        "totpEnabled": user.totp_enabled_at.is_some(),
        "avatarBlobId": user.avatar_blob_id,
        "lastSeenAt": user.last_seen_at,
        "createdAt": user.created_at,
    })
}

async fn sessions_of(db: &impl ConnectionTrait, me: Uuid) -> ApiResult<Value> {
    let rows = sessions::Entity::find()
        .filter(sessions::Column::UserId.eq(me))
        .order_by_desc(sessions::Column::CreatedAt)
        .limit(LIST_MAX)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|s| {
            json!({
                "id": s.id,
                "userAgent": s.user_agent,
                "ip": s.ip,
                "createdAt": s.created_at,
                "lastActiveAt": s.last_active_at,
                "expiresAt": s.expires_at,
                "revokedAt": s.revoked_at,
            })
        })
        .collect())
}

async fn contacts_of(db: &impl ConnectionTrait, me: Uuid) -> ApiResult<Value> {
    let rows = contacts::Entity::find()
        .filter(contacts::Column::UserId.eq(me))
        .order_by_desc(contacts::Column::CreatedAt)
        .limit(LIST_MAX)
        .all(db)
        .await?;
    let names: std::collections::HashMap<Uuid, String> = users::Entity::find()
        .filter(users::Column::Id.is_in(rows.iter().map(|c| c.contact_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect();
    Ok(rows
        .into_iter()
        .map(|c| {
            json!({
                "userId": c.contact_id,
                "username": names.get(&c.contact_id),
                "status": c.status,
                "requestedByMe": c.requested_by == me,
                "createdAt": c.created_at,
                "updatedAt": c.updated_at,
            })
        })
        .collect())
}

async fn rooms_of(db: &impl ConnectionTrait, me: Uuid) -> ApiResult<Value> {
    let rows = room_members::Entity::find()
        .find_also_related(rooms::Entity)
        .filter(room_members::Column::UserId.eq(me))
        .order_by_desc(room_members::Column::JoinedAt)
        .limit(LIST_MAX)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(member, room)| {
            let room = room.filter(|r| r.deleted_at.is_none())?;
            Some(json!({
                "id": room.id,
                "kind": room.kind,
                "name": room.name,
                "topic": room.topic,
                "role": member.role,
                "joinedAt": member.joined_at,
                "leftAt": member.left_at,
            }))
        })
        .collect())
}

/// The caller's messages, newest first, a page at a time, within the caps.
async fn messages_of(db: &impl ConnectionTrait, me: Uuid) -> ApiResult<Value> {
    let mut items = Vec::new();
    let mut text = 0usize;
    let mut after: Option<(DateTime<FixedOffset>, Uuid)> = None;
    let mut truncated = false;
    'pages: loop {
        let mut query = messages::Entity::find().filter(messages::Column::SenderId.eq(me));
        if let Some((at, id)) = after {
            query = query.filter(
                Condition::any()
                    .add(messages::Column::CreatedAt.lt(at))
                    .add(
                        Condition::all()
                            .add(messages::Column::CreatedAt.eq(at))
                            .add(messages::Column::Id.lt(id)),
                    ),
            );
        }
        let page = query
            .order_by_desc(messages::Column::CreatedAt)
            .order_by_desc(messages::Column::Id)
            .limit(PAGE)
            .all(db)
            .await?;
        let full = page.len() as u64 == PAGE;
        for m in page {
            // A deleted message's text is no longer the sender's to read.
            let body = m.body.filter(|_| m.deleted_at.is_none());
            let size = body.as_ref().map_or(0, String::len);
            if items.len() == MESSAGES_MAX || text + size > MESSAGE_TEXT_MAX {
                truncated = true;
                break 'pages;
            }
            text += size;
            after = Some((m.created_at, m.id));
            items.push(json!({
                "id": m.id,
                "roomId": m.room_id,
                "kind": m.kind,
                "body": body,
                "replyToId": m.reply_to_id,
                "metadata": m.metadata,
                "createdAt": m.created_at,
                "editedAt": m.edited_at,
                "deletedAt": m.deleted_at,
            }));
        }
        if !full {
            break;
        }
    }
    Ok(json!({ "items": items, "truncated": truncated }))
}

async fn reactions_of(db: &impl ConnectionTrait, me: Uuid) -> ApiResult<Value> {
    let rows = message_reactions::Entity::find()
        .filter(message_reactions::Column::UserId.eq(me))
        .order_by_desc(message_reactions::Column::CreatedAt)
        .limit(LIST_MAX)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| json!({ "messageId": r.message_id, "emoji": r.emoji, "createdAt": r.created_at }))
        .collect())
}

async fn uploads_of(db: &impl ConnectionTrait, me: Uuid) -> ApiResult<Value> {
    let rows = blob_uploads::Entity::find()
        .find_also_related(blobs::Entity)
        .filter(blob_uploads::Column::UserId.eq(me))
        .order_by_desc(blob_uploads::Column::CreatedAt)
        .limit(LIST_MAX)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(upload, blob)| {
            json!({
                "blobId": upload.blob_id,
                "filename": upload.filename,
                "mimeType": blob.as_ref().map(|b| b.mime_type.clone()),
                "size": blob.as_ref().map(|b| b.size),
                "roomId": upload.room_id,
                "createdAt": upload.created_at,
            })
        })
        .collect())
}

async fn security_events_of(db: &impl ConnectionTrait, me: Uuid) -> ApiResult<Value> {
    let rows = audit_events::Entity::find()
        .filter(audit_events::Column::TargetUserId.eq(me))
        .order_by_desc(audit_events::Column::CreatedAt)
        .limit(LIST_MAX)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|e| {
            json!({
                "kind": e.kind,
                "ip": e.ip,
                "details": serde_json::from_str::<Value>(&e.details).unwrap_or(Value::Null),
                "createdAt": e.created_at,
            })
        })
        .collect())
}

/// Stores the archive's bytes and records them as `me`'s upload.
async fn store(
    state: &AppState,
    me: Uuid,
    bytes: Vec<u8>,
    at: DateTime<FixedOffset>,
) -> ApiResult<(blobs::Model, blob_uploads::Model)> {
    let id = hex::encode(Sha256::digest(&bytes));
    let size = bytes.len() as i64;
    state.blobs.put(&id, bytes, MIME, "attachment").await?;
    let filename = format!("confab-export-{}.json", Utc::now().format("%Y-%m-%d"));
    let txn = state.write_txn().await?;
    crate::store::blob::record(&*txn, &id, size, MIME, me, at).await?;
    let upload = blob_uploads::ActiveModel {
        blob_id: Set(id.clone()),
        user_id: Set(me),
        created_at: Set(at),
        filename: Set(Some(filename)),
        room_id: Set(None),
    }
    .insert(&*txn)
    .await?;
    let blob = blobs::Entity::find_by_id(id)
        .one(&*txn)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("export blob vanished")))?;
    txn.commit().await?;
    Ok((blob, upload))
}
