//! The state every request shares: the database pool, the settings, the event broker and
//! presence. Cheap to clone; built once per process, outside the HTTP worker factory, so every
//! worker publishes to and subscribes from the same broker. Each HTTP worker takes a copy with
//! a PostgreSQL pool of its own ([`AppState::for_worker`]).

use std::sync::{Arc, Mutex, PoisonError, Weak};

use sea_orm::DatabaseConnection;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::blobstore::BlobStore;
use crate::config::Config;
use crate::db;
use crate::mail::{LogMailer, Mailer};
use crate::realtime::local::LocalBroker;
use crate::realtime::online::{HEARTBEAT, Kind, Presence};
use crate::realtime::redis::RedisBroker;
use crate::realtime::{Event, SharedBroker, Topic};
use crate::workers::call_liveness::CallLiveness;
use crate::workers::message_writer::MessageWriter;
use crate::workers::ratelimit::RateLimiter;
use crate::workers::unread::UnreadFeed;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    /// SQLite: the threads the DataLoaders' list reads run on (`--sqlite-readers`; see
    /// `db::direct`), reached through [`AppState::reads`].
    sqlite_readers: Option<Arc<db::direct::Readers>>,
    /// Read replicas for queries (`--database-read-url`; see `db::replica`).
    pub replicas: Option<Arc<crate::db::replica::ReadReplicas>>,
    pub config: Arc<Config>,
    pub broker: SharedBroker,
    pub presence: Arc<Presence>,
    /// Users with a `myEvents` subscription open on some instance: the only ones who can hear
    /// an unread count, so the only ones it is computed for.
    pub listeners: Arc<Presence>,
    pub mailer: Arc<dyn Mailer>,
    pub blobs: BlobStore,
    pub limiter: Arc<RateLimiter>,
    /// Signed-in viewers by token, kept fresh through [`AppState::viewer_changed`].
    pub sessions: Arc<crate::auth::SessionCache>,
    /// SQLite write transactions queue here for their turn (see `db::begin_write`).
    pub writer: Arc<tokio::sync::Mutex<()>>,
    /// Text messages are written in batches through here (group commit).
    pub messages: MessageWriter,
    /// Rooms whose unread counts changed, for the members listening.
    pub unread: UnreadFeed,
    /// Call sessions held by this process's `callEvents` subscriptions, and the sweep.
    pub calls: Arc<CallLiveness>,
    /// OpenID providers' discovery documents (fetched on first use) and the HTTP client
    /// that talks to them.
    pub oidc: Arc<crate::oidc::Discovery>,
    /// Called with every statement the HTTP workers' own pools run (`for_worker`); tests count
    /// statements with it. Set by [`AppState::with_statement_hook`].
    on_statement: Option<StatementHook>,
    /// Every database pool of the process, the shared one and each HTTP worker's, for the
    /// pool gauge of `/metrics` (see [`AppState::pool_use`]).
    pools: Arc<Mutex<Vec<DatabaseConnection>>>,
}

pub use crate::db::direct::StatementHook;

impl AppState {
    /// A write transaction in this process's writer turn (see [`db::begin_write`]).
    pub async fn write_txn(&self) -> Result<db::WriteTxn, sea_orm::DbErr> {
        db::begin_write(&self.db, &self.writer).await
    }

    /// The pool for one statement that writes, in the writer turn (see [`db::Writer`]).
    pub async fn writer(&self) -> db::Writer<'_> {
        db::writer(&self.db, &self.writer).await
    }

    /// Wires the broker and presence: in-process, or through Redis when `redis_url` is set.
    /// Must run inside the tokio runtime (the Redis links are background tasks).
    pub fn new(db: DatabaseConnection, config: Config) -> anyhow::Result<Self> {
        crate::telemetry::handle();
        let limiter = Arc::new(match &config.redis_url {
            Some(url) => RateLimiter::with_redis(url)?,
            None => RateLimiter::local(),
        });
        let mailer: Arc<dyn Mailer> = match &config.mail.smtp_url {
            Some(_) => Arc::new(crate::workers::mail::SmtpMailer::start(&config.mail)?),
            None => Arc::new(LogMailer),
        };
        let (broker, presence, listeners): (SharedBroker, Arc<Presence>, Arc<Presence>) =
            match &config.redis_url {
                Some(url) => {
                    let presence = Arc::new(Presence::with_redis(url, Kind::Sockets)?);
                    let listeners = Arc::new(Presence::with_redis(url, Kind::EventListeners)?);
                    let beating = [Arc::downgrade(&presence), Arc::downgrade(&listeners)];
                    tokio::spawn(async move {
                        let mut tick = tokio::time::interval(HEARTBEAT);
                        loop {
                            tick.tick().await;
                            for register in &beating {
                                let Some(register) = register.upgrade() else {
                                    return;
                                };
                                register.heartbeat().await;
                            }
                        }
                    });
                    (Arc::new(RedisBroker::start(url)?), presence, listeners)
                }
                None => (
                    Arc::new(LocalBroker::default()),
                    Arc::new(Presence::local(Kind::Sockets)),
                    Arc::new(Presence::local(Kind::EventListeners)),
                ),
            };
        let sessions = Arc::new(crate::auth::SessionCache::default());
        tokio::spawn(forget_changed_viewers(
            broker.subscribe(Topic::Auth),
            broker.resumptions(),
            Arc::downgrade(&sessions),
        ));
        // One per core: more only took turns with the HTTP workers for the same cores (2
        // cores, nested: 4 readers 290-311 req/s, 2 readers 339-341).
        let readers = config.database.sqlite_readers.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
        });
        let sqlite_readers = match db::direct::Readers::for_pool(&db, readers) {
            Some(Ok(readers)) => Some(Arc::new(readers)),
            Some(Err(err)) => {
                tracing::warn!(error = %err, "no SQLite readers: every read goes through the pool");
                None
            }
            None => None,
        };
        let writer = Arc::default();
        let pools = Arc::new(Mutex::new(vec![db.clone()]));
        Ok(Self {
            messages: MessageWriter::start(db.clone(), Arc::clone(&writer)),
            unread: UnreadFeed::start(db.clone(), listeners.clone(), broker.clone()),
            calls: CallLiveness::start(
                db.clone(),
                Arc::clone(&writer),
                broker.clone(),
                config.calls.call_session_ttl(),
            ),
            writer,
            sqlite_readers,
            replicas: crate::db::replica::ReadReplicas::start(&config)?,
            db,
            sessions,
            broker,
            presence,
            listeners,
            mailer,
            blobs: BlobStore::from_config(&config.blobs)?,
            limiter,
            oidc: Arc::new(crate::oidc::Discovery::new()?),
            config: Arc::new(config),
            on_statement: None,
            pools,
        })
    }

    /// The pool for the reads of `store` that take a [`db::direct::Source`]: on SQLite they
    /// run on the reader threads (`db::direct`), on PostgreSQL through this state's pool.
    pub fn reads(&self) -> db::direct::Reads<'_> {
        db::direct::Reads {
            db: &self.db,
            readers: self.sqlite_readers.as_deref(),
            on_statement: self.on_statement.as_ref(),
        }
    }

    /// The SQLite readers, if this process has them.
    pub fn sqlite_readers(&self) -> Option<&Arc<db::direct::Readers>> {
        self.sqlite_readers.as_ref()
    }

    /// This state reading from `db` (a read replica's pool): for one query's resolvers.
    pub fn reading_from(&self, db: DatabaseConnection) -> Self {
        Self { db, ..self.clone() }
    }

    /// This state for one of `workers` HTTP worker threads; call on that thread. On
    /// PostgreSQL the copy gets a pool of its own, a share of `--db-max-connections`
    /// (`db::worker_pool`): a tokio socket is driven by the runtime that opened it, and with
    /// one pool for all, a worker's statements ran on connections opened by the other worker
    /// or the main runtime, so every answer woke a second thread to wake the first (measured
    /// in docs/performance.md, "PostgreSQL connections").
    /// Background work (the message writer, unread counters) keeps the shared pool.
    pub fn for_worker(&self, workers: usize) -> Self {
        let mut state = self.clone();
        if self.config.database.is_sqlite() {
            return state;
        }
        let share = (self.config.database.max_connections / workers.max(1) as u32).max(1);
        match crate::db::worker_pool(&self.config.database, share) {
            Some(mut db) => {
                if let Some(hook) = self.on_statement.clone() {
                    db.set_metric_callback(move |info| hook(info));
                }
                self.pools
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(db.clone());
                state.db = db;
            }
            None => tracing::warn!("an HTTP worker shares the main database pool"),
        }
        state
    }

    /// Connections open in all of the process's pools, and how many of them are idle.
    pub fn pool_use(&self) -> (u32, usize) {
        let pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
        pools
            .iter()
            .map(crate::db::pool_use)
            .fold((0, 0), |(size, idle), (s, i)| (size + s, idle + i))
    }

    /// Calls `hook` with every statement the HTTP workers' own pools run (tests count
    /// statements with it; the shared pool takes its callback where it is opened).
    pub fn with_statement_hook(mut self, hook: StatementHook) -> Self {
        self.on_statement = Some(hook);
        self
    }

    /// Replaces the mailer (the default logs mail).
    pub fn with_mailer(mut self, mailer: Arc<dyn Mailer>) -> Self {
        self.mailer = mailer;
        self
    }

    /// A session was revoked (`session_id`) or a user's row changed (`None`): forgets the
    /// cached viewers here at once and tells the other instances. Call after the commit.
    pub fn viewer_changed(&self, user_id: Uuid, session_id: Option<Uuid>) {
        self.sessions.forget(user_id, session_id);
        self.publish(
            Topic::Auth,
            Event::ViewerChanged {
                user_id,
                session_id,
            },
        );
    }

    /// Publishes an event; call after the write it describes has committed.
    pub fn publish(&self, topic: Topic, event: Event) {
        crate::realtime::publish_to(&self.broker, topic, event);
    }
}

/// Applies other instances' `ViewerChanged` events to this one's cache (its own were applied
/// when published). Missed events (the receiver fell behind, or the Redis link was down for a
/// while) clear the whole cache.
async fn forget_changed_viewers(
    mut events: broadcast::Receiver<Arc<Event>>,
    mut resumed: Option<tokio::sync::watch::Receiver<u64>>,
    sessions: Weak<crate::auth::SessionCache>,
) {
    loop {
        let event = tokio::select! {
            event = events.recv() => Some(event),
            () = crate::realtime::resumption(&mut resumed) => None,
        };
        let Some(sessions) = sessions.upgrade() else {
            break;
        };
        let Some(event) = event else {
            sessions.clear();
            continue;
        };
        match event {
            Ok(event) => {
                if let Event::ViewerChanged {
                    user_id,
                    session_id,
                } = *event
                {
                    sessions.forget(user_id, session_id);
                }
            }
            Err(broadcast::error::RecvError::Lagged(_)) => sessions.clear(),
            Err(broadcast::error::RecvError::Closed) => break,
        }
    }
}
