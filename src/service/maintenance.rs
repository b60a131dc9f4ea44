//! Periodic housekeeping the server runs in the background: expired key packages and
//! connection logs past their retention, texts of messages deleted longer ago than theirs.

use std::time::Duration;

use crate::state::AppState;

/// Runs forever, every `every`; errors are logged and retried next round.
pub async fn run(state: AppState, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        once(&state).await;
    }
}

/// One round of cleanup.
pub async fn once(state: &AppState) {
    let done = crate::service::mls::cleanup(&*super::writer(state).await).await;
    match done {
        Ok(0) => {}
        Ok(n) => tracing::info!(deleted = n, "expired key packages removed"),
        Err(err) => tracing::warn!(error = %err, "key package cleanup failed"),
    }
    let days = state.config.retention.connection_log_days;
    let done = crate::service::connection_log::cleanup(&*super::writer(state).await, days).await;
    match done {
        Ok(0) => {}
        Ok(n) => tracing::info!(deleted = n, days, "old connection logs removed"),
        Err(err) => tracing::warn!(error = %err, "connection log cleanup failed"),
    }
    let days = state.config.retention.deleted_body_days;
    let done =
        crate::service::message::erase_retained_bodies(&*super::writer(state).await, days).await;
    match done {
        Ok(0) => {}
        Ok(n) => tracing::info!(erased = n, days, "texts of deleted messages erased"),
        Err(err) => tracing::warn!(error = %err, "erasing deleted texts failed"),
    }
}
