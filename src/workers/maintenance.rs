//! Periodic housekeeping the server runs in the background: expired key packages and
//! connection logs past their retention, texts of messages deleted longer ago than theirs,
//! and, on a tick of its own as short as the call session TTL asks, call sessions whose
//! clients fell silent.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::sync::Mutex;

use crate::config::RetentionConfig;
use crate::db::writer;
use crate::store::{call, retention};

/// Runs forever, every `every`, writing in the process's writer `turn`; errors are logged and
/// retried next round.
pub async fn run(
    db: DatabaseConnection,
    turn: Arc<Mutex<()>>,
    retention: RetentionConfig,
    every: Duration,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        once(&db, &turn, &retention).await;
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
}

/// Runs the call liveness sweep forever, every half `ttl`, so a silent session leaves at most
/// one and a half TTLs after its last heartbeat (readers of a call already skip it after one:
/// they sweep its room first).
pub async fn run_calls(db: DatabaseConnection, turn: Arc<Mutex<()>>, ttl: Duration) {
    let every = (ttl / 2).max(Duration::from_millis(500));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        calls(&db, &turn, ttl).await;
    }
}

/// One call liveness sweep: sessions silent for `ttl` leave with reason `timeout`, calls
/// left empty end.
pub async fn calls(db: &DatabaseConnection, turn: &Arc<Mutex<()>>, ttl: Duration) {
    match call::expire(db, turn, ttl, None).await {
        Ok(call::Expired {
            sessions: 0,
            calls: 0,
        }) => {}
        Ok(done) => tracing::info!(
            sessions = done.sessions,
            calls = done.calls,
            "silent call sessions timed out"
        ),
        Err(err) => tracing::warn!(error = %err, "call session expiry failed"),
    }
}
