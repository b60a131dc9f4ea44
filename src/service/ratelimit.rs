//! Fixed-window rate limits by key (`login-ip:<ip>`, `send:<user>` ...): in-process by default,
//! shared by all instances through Redis (`INCR` + `EXPIRE`) when configured. A refusal says
//! when to retry.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::Mutex as AsyncMutex;

use crate::error::{ApiError, ApiResult};

pub struct RateLimiter {
    windows: Mutex<HashMap<String, (Instant, u32)>>,
    redis: Option<redis::Client>,
    connection: AsyncMutex<Option<redis::aio::ConnectionManager>>,
}

impl RateLimiter {
    pub fn local() -> Self {
        Self {
            windows: Mutex::new(HashMap::new()),
            redis: None,
            connection: AsyncMutex::new(None),
        }
    }

    pub fn with_redis(url: &str) -> anyhow::Result<Self> {
        Ok(Self {
            redis: Some(redis::Client::open(url)?),
            ..Self::local()
        })
    }

    /// Counts one hit on `key`; RATE_LIMITED once `limit` hits fall in one `window`.
    pub async fn hit(&self, key: &str, limit: u32, window: Duration) -> ApiResult<()> {
        let (count, retry_after) = self.count(key, window, true).await;
        if count > limit {
            return Err(ApiError::RateLimited {
                retry_after_secs: retry_after.max(1),
            });
        }
        Ok(())
    }

    /// Refuses while `key` already has `limit` hits in its window, without counting.
    pub async fn check(&self, key: &str, limit: u32, window: Duration) -> ApiResult<()> {
        let (count, retry_after) = self.count(key, window, false).await;
        if count >= limit {
            return Err(ApiError::RateLimited {
                retry_after_secs: retry_after.max(1),
            });
        }
        Ok(())
    }

    /// Forgets `key` (a successful sign-in clears its failures).
    pub async fn reset(&self, key: &str) {
        if let Ok(mut windows) = self.windows.lock() {
            windows.remove(key);
        }
        if let Some(mut conn) = self.redis_connection().await {
            let _: Result<i64, _> = redis::cmd("DEL")
                .arg(redis_key(key))
                .query_async(&mut conn)
                .await;
        }
    }

    /// The hits in `key`'s current window (after adding one when `add`), and seconds left.
    async fn count(&self, key: &str, window: Duration, add: bool) -> (u32, u64) {
        if let Some(mut conn) = self.redis_connection().await {
            let key = redis_key(key);
            let mut pipe = redis::pipe();
            if add {
                pipe.cmd("INCR").arg(&key);
                pipe.cmd("EXPIRE")
                    .arg(&key)
                    .arg(window.as_secs().max(1))
                    .arg("NX")
                    .ignore();
            } else {
                pipe.cmd("GET").arg(&key);
            }
            pipe.cmd("TTL").arg(&key);
            match pipe.query_async::<(Option<u32>, i64)>(&mut conn).await {
                Ok((count, ttl)) => return (count.unwrap_or(0), ttl.max(0) as u64),
                Err(err) => {
                    tracing::warn!(error = %err, "rate limiter: redis unavailable, counting locally");
                    *self.connection.lock().await = None;
                }
            }
        }
        let Ok(mut windows) = self.windows.lock() else {
            return (0, 0);
        };
        let now = Instant::now();
        if windows.len() > 100_000 {
            windows.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(3600));
        }
        let entry = windows.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= window {
            *entry = (now, 0);
        }
        if add {
            entry.1 += 1;
        }
        let left = window.saturating_sub(now.duration_since(entry.0));
        (entry.1, left.as_secs() + u64::from(left.subsec_nanos() > 0))
    }

    async fn redis_connection(&self) -> Option<redis::aio::ConnectionManager> {
        let client = self.redis.as_ref()?;
        let mut guard = self.connection.lock().await;
        if guard.is_none() {
            *guard = client.get_connection_manager().await.ok();
        }
        guard.clone()
    }
}

fn redis_key(key: &str) -> String {
    format!("confab:rate:{key}")
}
