//! Request-scoped DataLoaders: every relationship field batches through here, so a nested
//! query costs a fixed number of SQL statements whatever the page size.
//!
//! One [`Loaders`] per request, or per WebSocket connection (it knows the viewer, for unread
//! counts); one key type per (entity, key). Loaders batch but do not cache: a connection lives
//! for hours and must not serve stale rows, and within one request the levels of a query ask
//! for different keys anyway.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use entity::{call_sessions, calls, connection_logs, messages, room_members, rooms, users};
use sea_orm::DbErr;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::page::{Page, Slice};
use crate::{service, store};

/// Largest batch sent to the database in one statement: a level of 50 rooms with 100
/// messages each is one statement, well below the bind-parameter limits of SQLite (32,766)
/// and PostgreSQL (65,535).
const MAX_BATCH: usize = 5_000;
/// How long a loader waits for sibling fields to ask before it queries. Long enough for the
/// resolvers of one level to register their keys (one batch per level), short next to a query.
const BATCH_DELAY: std::time::Duration = std::time::Duration::from_millis(2);

pub type ChatLoader = DataLoader<Loaders>;
pub mod extra;
pub mod voice;

pub struct Loaders {
    state: AppState,
    viewer_id: Option<Uuid>,
}

impl Loaders {
    /// The state the loaders query with.
    pub fn state(&self) -> &AppState {
        &self.state
    }
}

/// A fresh loader for one request (or WebSocket connection) by `viewer_id`.
pub fn for_request(state: AppState, viewer_id: Option<Uuid>) -> ChatLoader {
    DataLoader::new(Loaders { state, viewer_id }, tokio::spawn)
        .max_batch_size(MAX_BATCH)
        .delay(BATCH_DELAY)
}

/// Loader failures are database failures; they reach the client as INTERNAL.
#[derive(Clone, Debug)]
pub struct LoadError(Arc<DbErr>);

impl From<DbErr> for LoadError {
    fn from(err: DbErr) -> Self {
        Self(Arc::new(err))
    }
}

impl From<LoadError> for ApiError {
    fn from(err: LoadError) -> Self {
        ApiError::internal(anyhow::anyhow!("loading: {}", err.0))
    }
}

/// Values travel in an `Arc`: async-graphql's DataLoader hands each requester a clone of its
/// value, and a page of messages with their senders, or a room's members with their users,
/// was deep-copied on the way (callgrind, nested: cloning and dropping users and messages was
/// ~8% of the instructions). `graphql::load` takes the value out of its `Arc` without copying
/// when the requester holds the only reference, as it does unless two ask for the same key.
type Loaded<K, V> = Result<HashMap<K, Arc<V>>, LoadError>;

fn shared<K: Eq + std::hash::Hash, V>(
    values: impl IntoIterator<Item = (K, V)>,
) -> HashMap<K, Arc<V>> {
    values.into_iter().map(|(k, v)| (k, Arc::new(v))).collect()
}

macro_rules! key {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $name(pub Uuid);
    };
}

key!(/// A user by id (deleted users included: authors of old messages still have names).
    UserId);
key!(/// A room by id.
    RoomId);
key!(/// A message by id.
    MessageId);
key!(/// The active members of a room.
    MembersOf);
key!(/// The newest undeleted message of a room.
    LastMessageOf);
key!(/// The viewer's unread count in a room.
    UnreadIn);
key!(/// The reactions on a message.
    ReactionsOn);
key!(/// The users who have read a message.
    ReadersOf);
key!(/// Whether a user has a socket open anywhere.
    Connected);
key!(/// The attachments of a message, with their blobs.
    AttachmentsOf);
key!(/// The live call of a room.
    LiveCallOf);
key!(/// The participants (live sessions) of a call.
    ParticipantsOf);

/// A page of a room's messages, after a time when one is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MessagesOf(pub Uuid, pub Page, pub extra::Since);

/// A page of a room's calls, newest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CallsOf(pub Uuid, pub Page);

/// A page of a call's connection events, oldest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EventsOfCall(pub Uuid, pub Page);

fn ids<K: Copy>(keys: &[K], f: impl Fn(K) -> Uuid) -> Vec<Uuid> {
    keys.iter().map(|k| f(*k)).collect()
}

impl Loader<UserId> for Loaders {
    type Value = Arc<users::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[UserId]) -> Loaded<UserId, users::Model> {
        let rows = store::user::many(&self.state.reads(), ids(keys, |k| k.0)).await?;
        Ok(shared(rows.into_iter().map(|u| (UserId(u.id), u))))
    }
}

impl Loader<RoomId> for Loaders {
    type Value = Arc<rooms::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[RoomId]) -> Loaded<RoomId, rooms::Model> {
        let rows = store::room::many(&self.state.reads(), ids(keys, |k| k.0)).await?;
        Ok(shared(rows.into_iter().map(|r| (RoomId(r.id), r))))
    }
}

impl Loader<MessageId> for Loaders {
    type Value = Arc<messages::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[MessageId]) -> Loaded<MessageId, messages::Model> {
        let rows = store::message::many(&self.state.reads(), ids(keys, |k| k.0)).await?;
        Ok(shared(rows.into_iter().map(|m| (MessageId(m.id), m))))
    }
}

/// A member with their user, fetched together so `member.user` costs nothing more.
pub type Member = (room_members::Model, Option<users::Model>);
/// A message with its sender, fetched together so `message.sender` costs nothing more.
pub use crate::store::message::MessageWithSender;

impl Loader<MembersOf> for Loaders {
    type Value = Arc<Vec<Member>>;
    type Error = LoadError;

    async fn load(&self, keys: &[MembersOf]) -> Loaded<MembersOf, Vec<Member>> {
        let rows = store::member::active_in(&self.state.reads(), ids(keys, |k| k.0)).await?;
        let mut grouped: HashMap<MembersOf, Vec<Member>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for row in rows {
            grouped
                .entry(MembersOf(row.0.room_id))
                .or_default()
                .push(row);
        }
        Ok(shared(grouped))
    }
}

impl Loader<LastMessageOf> for Loaders {
    type Value = Arc<MessageWithSender>;
    type Error = LoadError;

    async fn load(&self, keys: &[LastMessageOf]) -> Loaded<LastMessageOf, MessageWithSender> {
        let found = store::message::last_in_rooms(&self.state.reads(), &ids(keys, |k| k.0)).await?;
        Ok(shared(
            found
                .into_iter()
                .map(|(room_id, last)| (LastMessageOf(room_id), last)),
        ))
    }
}

impl Loader<UnreadIn> for Loaders {
    type Value = Arc<i64>;
    type Error = LoadError;

    async fn load(&self, keys: &[UnreadIn]) -> Loaded<UnreadIn, i64> {
        let Some(viewer_id) = self.viewer_id else {
            return Ok(HashMap::new());
        };
        let rooms = ids(keys, |k| k.0);
        let counts = store::unread::unread_counts(&self.state.reads(), viewer_id, &rooms).await?;
        Ok(shared(
            keys.iter()
                .map(|k| (*k, counts.get(&k.0).copied().unwrap_or(0))),
        ))
    }
}

impl Loader<ReactionsOn> for Loaders {
    type Value = Arc<Vec<store::message::Reaction>>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[ReactionsOn],
    ) -> Loaded<ReactionsOn, Vec<store::message::Reaction>> {
        let mut found = store::message::reactions(&self.state.reads(), &ids(keys, |k| k.0)).await?;
        Ok(shared(
            keys.iter()
                .map(|k| (*k, found.remove(&k.0).unwrap_or_default())),
        ))
    }
}

impl Loader<ReadersOf> for Loaders {
    type Value = Arc<Vec<users::Model>>;
    type Error = LoadError;

    async fn load(&self, keys: &[ReadersOf]) -> Loaded<ReadersOf, Vec<users::Model>> {
        let found = store::message::readers(&self.state.db, &ids(keys, |k| k.0)).await?;
        let mut user_ids: Vec<Uuid> = found.values().flatten().copied().collect();
        user_ids.sort_unstable();
        user_ids.dedup();
        let users: HashMap<Uuid, users::Model> = if user_ids.is_empty() {
            HashMap::new()
        } else {
            store::user::many(&self.state.reads(), user_ids)
                .await?
                .into_iter()
                .map(|u| (u.id, u))
                .collect()
        };
        Ok(shared(keys.iter().map(|k| {
            let readers = found
                .get(&k.0)
                .map(|ids| ids.iter().filter_map(|id| users.get(id).cloned()).collect())
                .unwrap_or_default();
            (*k, readers)
        })))
    }
}

impl Loader<MessagesOf> for Loaders {
    type Value = Arc<Slice<MessageWithSender>>;
    type Error = LoadError;

    /// Keys asking for the same page shape share one statement, which brings the senders too
    /// (`store::message::pages`).
    async fn load(&self, keys: &[MessagesOf]) -> Loaded<MessagesOf, Slice<MessageWithSender>> {
        let mut by_page: HashMap<_, Vec<Uuid>> = HashMap::new();
        for key in keys {
            by_page.entry((key.1, key.2)).or_default().push(key.0);
        }
        let mut slices = HashMap::new();
        for ((page, since), rooms) in by_page {
            let pages = store::message::pages(&self.state.reads(), &rooms, page, since).await?;
            slices.extend(
                pages
                    .into_iter()
                    .map(|(room, slice)| (MessagesOf(room, page, since), Arc::new(slice))),
            );
        }
        Ok(slices)
    }
}

impl Loader<Connected> for Loaders {
    type Value = Arc<bool>;
    type Error = LoadError;

    async fn load(&self, keys: &[Connected]) -> Loaded<Connected, bool> {
        let online = self.state.presence.online(&ids(keys, |k| k.0)).await;
        Ok(shared(keys.iter().map(|k| (*k, online.contains(&k.0)))))
    }
}

/// An attachment with its blob.
type Attachment = (entity::attachments::Model, Option<entity::blobs::Model>);

impl Loader<AttachmentsOf> for Loaders {
    type Value = Arc<Vec<Attachment>>;
    type Error = LoadError;

    async fn load(&self, keys: &[AttachmentsOf]) -> Loaded<AttachmentsOf, Vec<Attachment>> {
        let rows = service::blob::attachments_of(&self.state.db, ids(keys, |k| k.0)).await?;
        let mut grouped: HashMap<AttachmentsOf, Vec<Attachment>> = HashMap::new();
        for row in rows {
            grouped
                .entry(AttachmentsOf(row.0.message_id))
                .or_default()
                .push(row);
        }
        Ok(shared(grouped))
    }
}

impl Loader<LiveCallOf> for Loaders {
    type Value = Arc<calls::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[LiveCallOf]) -> Loaded<LiveCallOf, calls::Model> {
        let state = &self.state;
        let rows = store::call::live_in_fresh(
            &state.db,
            &state.writer,
            &state.broker,
            state.config.calls.call_session_ttl(),
            ids(keys, |k| k.0),
        )
        .await?;
        Ok(shared(rows.into_iter().map(|c| (LiveCallOf(c.room_id), c))))
    }
}

impl Loader<ParticipantsOf> for Loaders {
    type Value = Arc<Vec<call_sessions::Model>>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[ParticipantsOf],
    ) -> Loaded<ParticipantsOf, Vec<call_sessions::Model>> {
        let rows = store::call::participants(&self.state.db, ids(keys, |k| k.0)).await?;
        let mut grouped: HashMap<ParticipantsOf, Vec<call_sessions::Model>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for row in rows {
            grouped
                .entry(ParticipantsOf(row.call_id))
                .or_default()
                .push(row);
        }
        Ok(shared(grouped))
    }
}

/// Parents asking for the same page shape share one statement.
fn by_page<K: Copy>(keys: &[K], split: impl Fn(K) -> (Uuid, Page)) -> HashMap<Page, Vec<Uuid>> {
    let mut grouped: HashMap<Page, Vec<Uuid>> = HashMap::new();
    for key in keys {
        let (parent, page) = split(*key);
        grouped.entry(page).or_default().push(parent);
    }
    grouped
}

impl Loader<CallsOf> for Loaders {
    type Value = Arc<Slice<calls::Model>>;
    type Error = LoadError;

    async fn load(&self, keys: &[CallsOf]) -> Loaded<CallsOf, Slice<calls::Model>> {
        let mut slices = HashMap::new();
        for (page, rooms) in by_page(keys, |k| (k.0, k.1)) {
            let found = store::call_history::calls_of_rooms(&self.state.db, &rooms, page).await?;
            slices.extend(
                found
                    .into_iter()
                    .map(|(room, slice)| (CallsOf(room, page), Arc::new(slice))),
            );
        }
        Ok(slices)
    }
}

impl Loader<EventsOfCall> for Loaders {
    type Value = Arc<Slice<connection_logs::Model>>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[EventsOfCall],
    ) -> Loaded<EventsOfCall, Slice<connection_logs::Model>> {
        let mut slices = HashMap::new();
        for (page, calls) in by_page(keys, |k| (k.0, k.1)) {
            let found = store::call_history::events_of_calls(&self.state.db, &calls, page).await?;
            slices.extend(
                found
                    .into_iter()
                    .map(|(call, slice)| (EventsOfCall(call, page), Arc::new(slice))),
            );
        }
        Ok(slices)
    }
}
