//! Call session liveness: which sessions are still in their calls.
//!
//! A session stays while its client is heard from. Two ways: a `callHeartbeat` (each moves
//! `last_seen_at`), or a `callEvents` subscription that names the session, which
//! [`CallLiveness::hold`]s it: every tick this process moves `last_seen_at` of all the
//! sessions its subscriptions hold, in one statement. A session whose `last_seen_at` is older
//! than the TTL leaves with reason `timeout`, found by the sweep every process runs on the same
//! tick, which tells the room's call subscribers. So a session held by a process that dies
//! stops being refreshed and is let go by any other process within about one TTL (at most
//! 1 1/8 of it after the last refresh); without Redis, the one process does both.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::db::{now, writer};
use crate::realtime::SharedBroker;
use crate::store::call;

/// Most session ids one refresh statement names.
const TOUCH_CHUNK: usize = 500;

/// The sessions this process's subscriptions hold, and the background task that keeps them
/// alive and lets silent sessions (of any process) go.
pub struct CallLiveness {
    held: Mutex<HashMap<Uuid, usize>>,
    ttl: Duration,
}

impl CallLiveness {
    /// Starts the refresh and sweep task, every eighth of `ttl` (at least every 100 ms); it
    /// stops when the returned value is dropped.
    pub fn start(
        db: DatabaseConnection,
        turn: Arc<tokio::sync::Mutex<()>>,
        broker: SharedBroker,
        ttl: Duration,
    ) -> Arc<Self> {
        let liveness = Arc::new(Self {
            held: Mutex::new(HashMap::new()),
            ttl,
        });
        tokio::spawn(run(Arc::downgrade(&liveness), db, turn, broker, ttl));
        liveness
    }

    /// How long a session lasts unheard.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// One more holder of `session_id` in this process.
    pub fn hold(&self, session_id: Uuid) {
        *self.lock().entry(session_id).or_default() += 1;
    }

    /// One holder fewer; true when it was the last one in this process.
    pub fn release(&self, session_id: Uuid) -> bool {
        let mut held = self.lock();
        match held.get_mut(&session_id) {
            Some(count) if *count > 1 => {
                *count -= 1;
                false
            }
            Some(_) => {
                held.remove(&session_id);
                true
            }
            None => false,
        }
    }

    /// The sessions held now.
    pub fn held(&self) -> Vec<Uuid> {
        self.lock().keys().copied().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, usize>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

async fn run(
    liveness: Weak<CallLiveness>,
    db: DatabaseConnection,
    turn: Arc<tokio::sync::Mutex<()>>,
    broker: SharedBroker,
    ttl: Duration,
) {
    let mut tick = tokio::time::interval((ttl / 8).max(Duration::from_millis(100)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(held) = liveness.upgrade().map(|l| l.held()) else {
            return;
        };
        once(&db, &turn, &broker, &held, ttl).await;
    }
}

/// One round: refresh the `held` sessions, then let the silent ones go and tell their rooms.
pub async fn once(
    db: &DatabaseConnection,
    turn: &Arc<tokio::sync::Mutex<()>>,
    broker: &SharedBroker,
    held: &[Uuid],
    ttl: Duration,
) {
    for chunk in held.chunks(TOUCH_CHUNK) {
        if let Err(err) = call::touch(&*writer(db, turn).await, chunk, now()).await {
            tracing::warn!(error = %err, "refreshing held call sessions failed");
        }
    }
    match call::expire(db, turn, ttl, None).await {
        Ok(expired) => {
            if !expired.left.is_empty() || !expired.ended.is_empty() {
                tracing::info!(
                    sessions = expired.left.len(),
                    calls = expired.ended.len(),
                    "silent call sessions timed out"
                );
            }
            expired.publish(broker);
        }
        Err(err) => tracing::warn!(error = %err, "call session expiry failed"),
    }
}
