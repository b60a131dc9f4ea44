//! MLS support: ciphertext messages checked against the room's epoch (a commit advances it
//! atomically), and key packages published in bulk and claimed one at a time.
//! Confab never sees plaintext here; it orders and stores what clients encrypt.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, FixedOffset};
use entity::{key_packages, messages, rooms};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::db::now;
use crate::error::{ApiError, ApiResult};
use crate::realtime::{Event, Topic, public_user};
use crate::service::membership::require_member;
use crate::service::validate;
use crate::state::AppState;
use crate::store;
use crate::store::kinds::MessageKind;

pub const CIPHERTEXT_MAX: usize = 256 * 1024;
pub const KEY_PACKAGE_MAX: usize = 64 * 1024;
pub const PUBLISH_MAX: usize = 100;
pub const DEFAULT_KEY_PACKAGE_TTL_DAYS: i64 = 30;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum CipherKind {
    App,
    Commit,
}

pub struct Ciphertext {
    pub room_id: Uuid,
    pub kind: CipherKind,
    /// Base64 (standard alphabet).
    pub ciphertext: String,
    /// The epoch the client encrypted for: the room's current one.
    pub epoch: i64,
}

fn decode(field: &str, data: &str, max: usize) -> ApiResult<Vec<u8>> {
    let bytes = STANDARD
        .decode(data.trim())
        .map_err(|_| ApiError::bad_input(field, "not valid base64"))?;
    if bytes.is_empty() || bytes.len() > max {
        return Err(ApiError::bad_input(field, format!("1 to {max} bytes")));
    }
    Ok(bytes)
}

pub fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Stores an APP or COMMIT message. Both must name the room's current epoch (else CONFLICT);
/// a COMMIT moves the room to the next epoch in the same transaction, so of two commits for
/// one epoch exactly one wins.
pub async fn send(
    state: &AppState,
    viewer: &Viewer,
    input: Ciphertext,
) -> ApiResult<messages::Model> {
    let bytes = decode("ciphertext", &input.ciphertext, CIPHERTEXT_MAX)?;
    require_member(&state.reads(), viewer, input.room_id).await?;
    let txn = state.write_txn().await?;
    let stale = || ApiError::Conflict("stale epoch: fetch the room's epoch and retry".to_owned());
    match input.kind {
        CipherKind::Commit => {
            let advanced = rooms::Entity::update_many()
                .col_expr(rooms::Column::Epoch, Expr::col(rooms::Column::Epoch).add(1))
                .col_expr(rooms::Column::UpdatedAt, Expr::value(now()))
                .filter(rooms::Column::Id.eq(input.room_id))
                .filter(rooms::Column::Epoch.eq(input.epoch))
                .exec(&*txn)
                .await?;
            if advanced.rows_affected != 1 {
                return Err(stale());
            }
        }
        CipherKind::App => {
            let current = rooms::Entity::find_by_id(input.room_id)
                .one(&*txn)
                .await?
                .map(|r| r.epoch);
            if current != Some(input.epoch) {
                return Err(stale());
            }
        }
    }
    let message = messages::ActiveModel {
        id: sea_orm::Set(Uuid::now_v7()),
        room_id: sea_orm::Set(input.room_id),
        sender_id: sea_orm::Set(Some(viewer.id())),
        kind: sea_orm::Set(
            if input.kind == CipherKind::Commit {
                MessageKind::Commit
            } else {
                MessageKind::App
            }
            .as_str()
            .to_owned(),
        ),
        body: sea_orm::Set(None),
        ciphertext: sea_orm::Set(Some(bytes)),
        epoch: sea_orm::Set(Some(input.epoch)),
        reply_to_id: sea_orm::Set(None),
        metadata: sea_orm::Set(None),
        created_at: sea_orm::Set(now()),
        edited_at: sea_orm::Set(None),
        deleted_at: sea_orm::Set(None),
        reacted: sea_orm::Set(false),
        seq: sea_orm::Set(crate::store::seq::next(&*txn, input.room_id).await?),
    };
    let message = messages::Entity::insert(message)
        .exec_with_returning(&*txn)
        .await?;
    // As for text messages: the sender has read up to their own message, and the others'
    // unread counts move (`UnreadChanged`).
    crate::workers::message_writer::move_read_markers(&*txn, &[message.id]).await?;
    txn.commit().await?;
    state.publish(
        Topic::Room(message.room_id),
        Event::MessageAdded {
            message: message.clone(),
            sender: Some(std::sync::Arc::new(public_user(viewer.user.clone()))),
        },
    );
    state.unread.changed(message.room_id, Some(viewer.id()));
    Ok(message)
}

pub struct NewKeyPackage {
    pub cipher_suite: i32,
    /// Base64.
    pub key_data: String,
    pub expires_at: Option<DateTime<FixedOffset>>,
}

fn suite(n: i32) -> ApiResult<i32> {
    if (0..=65_535).contains(&n) {
        Ok(n)
    } else {
        Err(ApiError::bad_input(
            "cipherSuite",
            "a cipher suite is 0 to 65535",
        ))
    }
}

/// Stores the caller's key packages; one already stored (same suite and bytes) is skipped.
/// Returns how many were new.
pub async fn publish(
    state: &AppState,
    viewer: &Viewer,
    packages: Vec<NewKeyPackage>,
) -> ApiResult<u64> {
    if packages.is_empty() || packages.len() > PUBLISH_MAX {
        return Err(ApiError::bad_input(
            "input",
            "publish 1 to 100 key packages at a time",
        ));
    }
    let at = now();
    let mut rows = Vec::with_capacity(packages.len());
    for package in packages {
        let bytes = decode("keyData", &package.key_data, KEY_PACKAGE_MAX)?;
        let expires = match package.expires_at {
            Some(expires) => validate::time("expiresAt", expires)?,
            None => at + Duration::days(DEFAULT_KEY_PACKAGE_TTL_DAYS),
        };
        if expires <= at {
            return Err(ApiError::bad_input("expiresAt", "already expired"));
        }
        rows.push(key_packages::ActiveModel {
            id: sea_orm::Set(Uuid::now_v7()),
            owner_id: sea_orm::Set(viewer.id()),
            cipher_suite: sea_orm::Set(suite(package.cipher_suite)?),
            key_hash: sea_orm::Set(hex::encode(Sha256::digest(&bytes))),
            key_data: sea_orm::Set(bytes),
            created_at: sea_orm::Set(at),
            expires_at: sea_orm::Set(expires),
            consumed_at: sea_orm::Set(None),
            consumed_by: sea_orm::Set(None),
        });
    }
    let txn = state.write_txn().await?;
    let before = count_all(&*txn, viewer.id()).await?;
    let inserted = key_packages::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([
                key_packages::Column::OwnerId,
                key_packages::Column::CipherSuite,
                key_packages::Column::KeyHash,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&*txn)
        .await;
    match inserted {
        Ok(_) | Err(sea_orm::DbErr::RecordNotInserted) => {}
        Err(err) => return Err(err.into()),
    }
    let after = count_all(&*txn, viewer.id()).await?;
    txn.commit().await?;
    Ok(after.saturating_sub(before))
}

async fn count_all(db: &impl ConnectionTrait, owner: Uuid) -> ApiResult<u64> {
    Ok(key_packages::Entity::find()
        .filter(key_packages::Column::OwnerId.eq(owner))
        .count(db)
        .await?)
}

/// Hands out `owner`'s oldest unexpired package for `suite`, each package exactly once, also
/// under concurrent claims: one statement picks and marks it (row-locked with SKIP LOCKED on
/// PostgreSQL; SQLite runs writes one at a time).
pub async fn claim(
    state: &AppState,
    viewer: &Viewer,
    owner: Uuid,
    cipher_suite: i32,
) -> ApiResult<Option<key_packages::Model>> {
    let cipher_suite = suite(cipher_suite)?;
    Ok(store::mls::claim(&*state.writer().await, viewer.id(), owner, cipher_suite).await?)
}

/// Claimable packages of `owner` for `suite`.
pub async fn count(state: &AppState, owner: Uuid, cipher_suite: i32) -> ApiResult<u64> {
    let cipher_suite = suite(cipher_suite)?;
    Ok(key_packages::Entity::find()
        .filter(key_packages::Column::OwnerId.eq(owner))
        .filter(key_packages::Column::CipherSuite.eq(cipher_suite))
        .filter(key_packages::Column::ConsumedAt.is_null())
        .filter(key_packages::Column::ExpiresAt.gt(now()))
        .count(&state.db)
        .await?)
}
