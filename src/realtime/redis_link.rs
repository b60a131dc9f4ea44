//! A Redis connection for request-path work (presence, rate limits) that never holds a request
//! up: every call is bounded by a short timeout, and after a failure Redis is left alone for a
//! few seconds (callers fall back to local state meanwhile).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::Mutex as AsyncMutex;

/// Longest a request waits on Redis.
const CALL_TIMEOUT: Duration = Duration::from_millis(300);
/// How long to leave Redis alone after a failure.
const BACKOFF: Duration = Duration::from_secs(5);

pub struct RedisLink {
    client: redis::Client,
    connection: AsyncMutex<Option<redis::aio::ConnectionManager>>,
    failed_at: Mutex<Option<Instant>>,
}

impl RedisLink {
    pub fn open(url: &str) -> anyhow::Result<Self> {
        Ok(Self {
            client: redis::Client::open(url)?,
            connection: AsyncMutex::new(None),
            failed_at: Mutex::new(None),
        })
    }

    /// Runs `pipe`; None when Redis is unreachable, slow, or recently failed.
    pub async fn query<T: redis::FromRedisValue>(&self, pipe: &redis::Pipeline) -> Option<T> {
        if self.resting() {
            return None;
        }
        let mut conn = {
            let mut guard = self.connection.lock().await;
            if guard.is_none() {
                match tokio::time::timeout(CALL_TIMEOUT, self.client.get_connection_manager()).await
                {
                    Ok(Ok(manager)) => *guard = Some(manager),
                    _ => {
                        self.failed();
                        return None;
                    }
                }
            }
            guard.clone()?
        };
        match tokio::time::timeout(CALL_TIMEOUT, pipe.query_async::<T>(&mut conn)).await {
            Ok(Ok(value)) => Some(value),
            _ => {
                tracing::warn!("redis unavailable; using local state for a while");
                self.failed();
                *self.connection.lock().await = None;
                None
            }
        }
    }

    fn resting(&self) -> bool {
        self.failed_at
            .lock()
            .ok()
            .and_then(|f| *f)
            .is_some_and(|at| at.elapsed() < BACKOFF)
    }

    fn failed(&self) {
        if let Ok(mut f) = self.failed_at.lock() {
            *f = Some(Instant::now());
        }
    }
}
