//! Periodic housekeeping the server runs in the background: expired key packages and
//! connection logs past their retention, texts of messages deleted longer ago than theirs,
//! expired (or long revoked) sessions, used or expired verification tokens, and audit rows
//! past `--audit-retention-days`; the uploads of accounts deleted longer ago than
//! `--deleted-body-retention-days`; and blobs nothing refers to any more, with their bytes.
//! (Call sessions whose clients fell silent go on a tick of their own: `call_liveness`.)

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::sync::Mutex;

use crate::blobstore::BlobStore;
use crate::config::RetentionConfig;
use crate::db::{begin_write, writer};
use crate::store::retention;

/// Runs forever, every `every`, writing in the process's writer `turn`; errors are logged and
/// retried next round.
pub async fn run(
    db: DatabaseConnection,
    turn: Arc<Mutex<()>>,
    retention: RetentionConfig,
    every: Duration,
    blobs: BlobStore,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        once(&db, &turn, &retention).await;
        deleted_uploads(&db, &turn, &blobs, retention.deleted_body_days).await;
    }
}

/// Removes the uploads of accounts deleted more than `days` days ago, and the blobs (rows and
/// bytes) nothing refers to any more: those of the uploads nothing else holds, and any other,
/// such as the files only a deleted room's messages carried (`store::deleted_uploads`);
/// returns how many blobs went.
pub async fn deleted_uploads(
    db: &DatabaseConnection,
    turn: &Arc<Mutex<()>>,
    blobs: &BlobStore,
    days: i64,
) -> usize {
    let done = async {
        let txn = begin_write(db, turn).await?;
        let mut freed = crate::store::deleted_uploads::remove(&*txn, days).await?;
        freed.extend(crate::store::deleted_uploads::unreferenced(&*txn).await?);
        for id in &freed {
            if let Err(err) = blobs.delete(id).await {
                // The row is gone either way: stray bytes are the lesser harm than a row
                // whose bytes are gone (earlier ones in this round already are).
                tracing::warn!(blob = %id, error = %err, "bytes of a freed blob not removed");
            }
        }
        txn.commit().await?;
        Ok::<_, sea_orm::DbErr>(freed.len())
    }
    .await;
    match done {
        Ok(0) => 0,
        Ok(n) => {
            tracing::info!(blobs = n, days, "uploads of deleted accounts removed");
            n
        }
        Err(err) => {
            tracing::warn!(error = %err, "removing uploads of deleted accounts failed");
            0
        }
    }
}

/// One round of cleanup.
pub async fn once(db: &DatabaseConnection, turn: &Arc<Mutex<()>>, config: &RetentionConfig) {
    let done = retention::expired_key_packages(&*writer(db, turn).await).await;
    match done {
        Ok(0) => {}
        Ok(n) => tracing::info!(deleted = n, "expired key packages removed"),
        Err(err) => tracing::warn!(error = %err, "key package cleanup failed"),
    }
    let days = config.connection_log_days;
    let done = retention::old_connection_logs(&*writer(db, turn).await, days).await;
    match done {
        Ok(0) => {}
        Ok(n) => tracing::info!(deleted = n, days, "old connection logs removed"),
        Err(err) => tracing::warn!(error = %err, "connection log cleanup failed"),
    }
    let days = config.deleted_body_days;
    let done = retention::deleted_message_texts(&*writer(db, turn).await, days).await;
    match done {
        Ok(0) => {}
        Ok(n) => tracing::info!(erased = n, days, "texts of deleted messages erased"),
        Err(err) => tracing::warn!(error = %err, "erasing deleted texts failed"),
    }
    let done = retention::dead_sessions(&*writer(db, turn).await).await;
    match done {
        Ok(0) => {}
        Ok(n) => tracing::info!(deleted = n, "expired and revoked sessions removed"),
        Err(err) => tracing::warn!(error = %err, "session cleanup failed"),
    }
    let done = retention::spent_tokens(&*writer(db, turn).await).await;
    match done {
        Ok(0) => {}
        Ok(n) => tracing::info!(deleted = n, "used and expired tokens removed"),
        Err(err) => tracing::warn!(error = %err, "token cleanup failed"),
    }
    let days = config.audit_days;
    let done = retention::old_audit_events(&*writer(db, turn).await, days).await;
    match done {
        Ok(0) => {}
        Ok(n) => tracing::info!(deleted = n, days, "old audit rows removed"),
        Err(err) => tracing::warn!(error = %err, "audit cleanup failed"),
    }
}
