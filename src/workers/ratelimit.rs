//! Fixed-window rate limits by key (`login-ip:<ip>`, `send:<user>` ...): in-process by default,
//! shared by all instances through Redis (`INCR` + `EXPIRE`) when configured. A refusal says
//! when to retry. Also holds (`SET ... EX`): a key refused until a moment, for back-offs.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::{ApiError, ApiResult};
use crate::realtime::redis_link::RedisLink;

pub struct RateLimiter {
    windows: Mutex<HashMap<String, (Instant, u32)>>,
    /// Back-offs ([`hold`](Self::hold)): until when each key is held.
    holds: Mutex<HashMap<String, Instant>>,
    redis: Option<RedisLink>,
}

impl RateLimiter {
    pub fn local() -> Self {
        Self {
            windows: Mutex::new(HashMap::new()),
            holds: Mutex::new(HashMap::new()),
            redis: None,
        }
    }

    pub fn with_redis(url: &str) -> anyhow::Result<Self> {
        Ok(Self {
            redis: Some(RedisLink::open(url)?),
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

    /// Counts one hit on `key` and returns the hits in its current `window`.
    pub async fn add(&self, key: &str, window: Duration) -> u32 {
        self.count(key, window, true).await.0
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

    /// Holds `key` for `duration` from now (a back-off), replacing any earlier hold.
    pub async fn hold(&self, key: &str, duration: Duration) {
        let secs = duration.as_secs().max(1);
        if let Some(link) = &self.redis {
            let mut pipe = redis::pipe();
            pipe.cmd("SET")
                .arg(hold_key(key))
                .arg(1)
                .arg("EX")
                .arg(secs)
                .ignore();
            if link.query::<()>(&pipe).await.is_some() {
                return;
            }
        }
        if let Ok(mut holds) = self.holds.lock() {
            let now = Instant::now();
            if holds.len() > 100_000 {
                holds.retain(|_, until| *until > now);
            }
            holds.insert(key.to_owned(), now + Duration::from_secs(secs));
        }
    }

    /// The seconds left on `key`'s hold, if it is held.
    pub async fn held(&self, key: &str) -> Option<u64> {
        if let Some(link) = &self.redis {
            let mut pipe = redis::pipe();
            pipe.cmd("TTL").arg(hold_key(key));
            // Unreachable Redis: the local holds until it is back.
            if let Some((ttl,)) = link.query::<(i64,)>(&pipe).await {
                return u64::try_from(ttl).ok().filter(|secs| *secs > 0);
            }
        }
        let holds = self.holds.lock().ok()?;
        let left = holds.get(key)?.checked_duration_since(Instant::now())?;
        Some(left.as_secs() + u64::from(left.subsec_nanos() > 0)).filter(|secs| *secs > 0)
    }

    /// Forgets `key` (a successful sign-in clears its failures).
    pub async fn reset(&self, key: &str) {
        if let Ok(mut windows) = self.windows.lock() {
            windows.remove(key);
        }
        if let Some(link) = &self.redis {
            let mut pipe = redis::pipe();
            pipe.cmd("DEL").arg(redis_key(key)).ignore();
            let _: Option<()> = link.query(&pipe).await;
        }
    }

    /// The hits in `key`'s current window (after adding one when `add`), and seconds left.
    async fn count(&self, key: &str, window: Duration, add: bool) -> (u32, u64) {
        if let Some(link) = &self.redis {
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
            // Unreachable Redis: count locally until it is back.
            if let Some((count, ttl)) = link.query::<(Option<u32>, i64)>(&pipe).await {
                return (count.unwrap_or(0), ttl.max(0) as u64);
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
}

fn redis_key(key: &str) -> String {
    format!("confab:rate:{key}")
}

fn hold_key(key: &str) -> String {
    format!("confab:hold:{key}")
}
