//! Who is connected: a user is online while at least one of their sockets is open, on any
//! instance. Never stored in the database (only `last_seen_at` is).
//!
//! In-process it is a counter per user. With Redis each instance also keeps, per connected user,
//! an entry in the sorted set `confab:<kind>:<user>` scored with an expiry a little in the
//! future and refreshed by a heartbeat; a crashed instance stops refreshing, so its users turn
//! offline once the entries expire ([`TTL`]).
//!
//! The same counting serves two registers ([`Kind`]): open sockets (presence proper) and open
//! `myEvents` subscriptions (who can hear an unread count).
//!
//! Presence may carry a short context a user shares (`updateProfile(presenceContext:)`), kept
//! where presence is and no longer: in-process, or in Redis (`confab:presence-context:<user>`),
//! expiring [`TTL`] after it was set or last refreshed by the heartbeat of an instance the user
//! is connected to, and dropped when their last socket closes.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::redis_link::RedisLink;

/// How long an instance's claim that a user is connected lasts without a heartbeat.
pub const TTL: Duration = Duration::from_secs(30);
/// How often claims are refreshed.
pub const HEARTBEAT: Duration = Duration::from_secs(10);

/// What a register counts per user; names its Redis keys.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// Open sockets: presence proper.
    Sockets,
    /// Open `myEvents` subscriptions.
    EventListeners,
}

impl Kind {
    fn key_prefix(self) -> &'static str {
        match self {
            Kind::Sockets => "confab:presence:",
            Kind::EventListeners => "confab:my-events:",
        }
    }
}

pub struct Presence {
    kind: Kind,
    instance: Uuid,
    /// Per user, how many are open on this instance.
    here: Mutex<HashMap<Uuid, usize>>,
    /// How many of those other instances can see: counted once [`Presence::connect`] has
    /// written its claim, uncounted as soon as [`Presence::disconnect`] starts.
    registered: AtomicUsize,
    /// Shared contexts, with when they expire (in-process only; with Redis they live there).
    contexts: Mutex<HashMap<Uuid, (String, Instant)>>,
    redis: Option<RedisLink>,
}

impl Presence {
    pub fn local(kind: Kind) -> Self {
        Self {
            kind,
            instance: Uuid::now_v7(),
            here: Mutex::new(HashMap::new()),
            registered: AtomicUsize::new(0),
            contexts: Mutex::new(HashMap::new()),
            redis: None,
        }
    }

    pub fn with_redis(url: &str, kind: Kind) -> anyhow::Result<Self> {
        Ok(Self {
            redis: Some(RedisLink::open(url)?),
            ..Self::local(kind)
        })
    }

    /// Records one more open socket (or subscription); true when the user had none anywhere
    /// before.
    pub async fn connect(&self, user: Uuid) -> bool {
        let first_here = {
            let Ok(mut sockets) = self.here.lock() else {
                return false;
            };
            let count = sockets.entry(user).or_insert(0);
            *count += 1;
            *count == 1
        };
        if !first_here {
            self.registered.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        let elsewhere = self.online_elsewhere(user).await;
        self.claim(&[user]).await;
        self.registered.fetch_add(1, Ordering::Relaxed);
        !elsewhere
    }

    /// Records one fewer; true when the user now has none anywhere.
    pub async fn disconnect(&self, user: Uuid) -> bool {
        // Never below zero, even for a disconnect without its connect.
        let _ = self
            .registered
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        let last_here = {
            let Ok(mut sockets) = self.here.lock() else {
                return false;
            };
            match sockets.get_mut(&user) {
                Some(count) if *count > 1 => {
                    *count -= 1;
                    false
                }
                Some(_) => {
                    sockets.remove(&user);
                    true
                }
                None => false,
            }
        };
        if !last_here {
            return false;
        }
        self.release(user).await;
        let gone = !self.online_elsewhere(user).await;
        if gone && matches!(self.kind, Kind::Sockets) {
            self.set_context(user, None).await;
        }
        gone
    }

    /// Shares `context` with `user`'s presence for [`TTL`] (kept alive while they are
    /// connected), or stops sharing it (`None`).
    pub async fn set_context(&self, user: Uuid, context: Option<String>) {
        if self.redis.is_some() {
            let mut pipe = redis::pipe();
            match context {
                Some(text) => pipe.set_ex(self.context_key(user), text, TTL.as_secs()),
                None => pipe.del(self.context_key(user)),
            };
            self.run::<()>(pipe.ignore().to_owned()).await;
            return;
        }
        if let Ok(mut contexts) = self.contexts.lock() {
            match context {
                Some(text) => contexts.insert(user, (text, Instant::now() + TTL)),
                None => contexts.remove(&user),
            };
        }
    }

    /// The contexts `users` share now (those without one are left out).
    pub async fn contexts(&self, users: &[Uuid]) -> HashMap<Uuid, String> {
        if self.redis.is_none() {
            let now = Instant::now();
            let Ok(mut contexts) = self.contexts.lock() else {
                return HashMap::new();
            };
            contexts.retain(|_, (_, expires)| *expires > now);
            return users
                .iter()
                .filter_map(|u| contexts.get(u).map(|(text, _)| (*u, text.clone())))
                .collect();
        }
        if users.is_empty() {
            return HashMap::new();
        }
        let mut pipe = redis::pipe();
        for user in users {
            pipe.get(self.context_key(*user));
        }
        let found = self.run::<Vec<Option<String>>>(pipe).await;
        users
            .iter()
            .zip(found.unwrap_or_default())
            .filter_map(|(u, text)| Some((*u, text?)))
            .collect()
    }

    /// The users of `users` who are connected somewhere.
    pub async fn online(&self, users: &[Uuid]) -> HashSet<Uuid> {
        let mut online: HashSet<Uuid> = match self.here.lock() {
            Ok(sockets) => users
                .iter()
                .filter(|u| sockets.contains_key(u))
                .copied()
                .collect(),
            Err(_) => HashSet::new(),
        };
        let rest: Vec<Uuid> = users
            .iter()
            .filter(|u| !online.contains(u))
            .copied()
            .collect();
        if rest.is_empty() || self.redis.is_none() {
            return online;
        }
        let now = now_secs();
        let mut pipe = redis::pipe();
        for user in &rest {
            pipe.zcount(self.key(*user), now, "+inf");
        }
        if let Some(counts) = self.run::<Vec<i64>>(pipe).await {
            online.extend(
                rest.iter()
                    .zip(counts)
                    .filter(|(_, n)| *n > 0)
                    .map(|(u, _)| *u),
            );
        }
        online
    }

    /// Open sockets of `user` on this instance.
    pub fn local_count(&self, user: Uuid) -> usize {
        self.here
            .lock()
            .ok()
            .and_then(|s| s.get(&user).copied())
            .unwrap_or(0)
    }

    /// Open sockets of signed-in users on this instance.
    pub fn local_sockets(&self) -> usize {
        self.here.lock().map(|s| s.values().sum()).unwrap_or(0)
    }

    /// Open sockets (or subscriptions) on this instance whose claim has been written (or, with
    /// Redis unreachable, given up on): what other instances can count on finding.
    pub fn registered(&self) -> usize {
        self.registered.load(Ordering::Relaxed)
    }

    /// Refreshes this instance's claims for every locally connected user; run every [`HEARTBEAT`].
    pub async fn heartbeat(&self) {
        let users: Vec<Uuid> = match self.here.lock() {
            Ok(sockets) => sockets.keys().copied().collect(),
            Err(_) => return,
        };
        self.claim(&users).await;
        if matches!(self.kind, Kind::Sockets) {
            self.keep_contexts(&users).await;
        }
    }

    /// Extends the contexts of users connected here by another [`TTL`].
    async fn keep_contexts(&self, users: &[Uuid]) {
        if self.redis.is_none() {
            let expires = Instant::now() + TTL;
            if let Ok(mut contexts) = self.contexts.lock() {
                for user in users {
                    if let Some(entry) = contexts.get_mut(user) {
                        entry.1 = expires;
                    }
                }
            }
            return;
        }
        if users.is_empty() {
            return;
        }
        let mut pipe = redis::pipe();
        for user in users {
            pipe.expire(self.context_key(*user), TTL.as_secs() as i64)
                .ignore();
        }
        self.run::<()>(pipe).await;
    }

    async fn online_elsewhere(&self, user: Uuid) -> bool {
        if self.redis.is_none() {
            return false;
        }
        let mut pipe = redis::pipe();
        pipe.zcount(self.key(user), now_secs(), "+inf");
        pipe.zscore(self.key(user), self.instance.to_string());
        match self.run::<(i64, Option<f64>)>(pipe).await {
            Some((count, mine)) => count - i64::from(mine.is_some_and(|s| s >= now_secs())) > 0,
            None => false,
        }
    }

    async fn claim(&self, users: &[Uuid]) {
        if self.redis.is_none() || users.is_empty() {
            return;
        }
        let expires = now_secs() + TTL.as_secs_f64();
        let mut pipe = redis::pipe();
        for user in users {
            pipe.zadd(self.key(*user), self.instance.to_string(), expires)
                .ignore();
            // Drop other instances' expired claims so the set stays small.
            pipe.zrembyscore(self.key(*user), "-inf", now_secs())
                .ignore();
            pipe.expire(self.key(*user), TTL.as_secs() as i64 * 2)
                .ignore();
        }
        self.run::<()>(pipe).await;
    }

    async fn release(&self, user: Uuid) {
        if self.redis.is_none() {
            return;
        }
        let mut pipe = redis::pipe();
        pipe.zrem(self.key(user), self.instance.to_string())
            .ignore();
        self.run::<()>(pipe).await;
    }

    fn key(&self, user: Uuid) -> String {
        format!("{}{user}", self.kind.key_prefix())
    }

    fn context_key(&self, user: Uuid) -> String {
        format!("confab:presence-context:{user}")
    }

    async fn run<T: redis::FromRedisValue>(&self, pipe: redis::Pipeline) -> Option<T> {
        self.redis.as_ref()?.query(&pipe).await
    }
}

fn now_secs() -> f64 {
    chrono::Utc::now().timestamp_millis() as f64 / 1000.0
}
