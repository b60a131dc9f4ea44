//! Unread counts pushed to members with a socket open after a room's messages change.
//!
//! Changes queue here and one task works through them, a room at a time however many changes
//! it had while the task was busy: a busy room costs one recount per pass, not one per message.
//! Only members with a `myEvents` subscription open somewhere can hear a count, so only theirs
//! are computed; everyone else reads `unreadCount` when they next look. (A member who only
//! watches the room's own events, as a chat window does, is not counted for.) Each count
//! comes with the room's newest message, so a room list updates its preview without asking.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use entity::room_members;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QuerySelect};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::realtime::online::Presence;
use crate::realtime::{Event, SharedBroker, Topic};

/// Changes taken per pass; rooms looked up per statement.
const PASS: usize = 4096;
const ROOMS_PER_LOOKUP: usize = 500;

/// The queue of rooms whose unread counts changed; cheap to clone.
#[derive(Clone)]
pub struct UnreadFeed {
    changes: mpsc::UnboundedSender<Change>,
}

/// What the feed's task is told.
enum Change {
    /// The messages of a room changed, by an author (if one made every change).
    Room(Uuid, Option<Uuid>),
    /// Answer once every change queued before this one is published (test support).
    Flushed(oneshot::Sender<()>),
}

impl UnreadFeed {
    /// Starts the task that publishes counts. Must run inside the tokio runtime; the task
    /// stops when the last clone of the feed is dropped.
    pub fn start(db: DatabaseConnection, listeners: Arc<Presence>, broker: SharedBroker) -> Self {
        let (changes, queue) = mpsc::unbounded_channel();
        tokio::spawn(publish_counts(db, listeners, broker, queue));
        Self { changes }
    }

    /// The messages of `room_id` changed (call after the commit). `author` made the change
    /// and is not told: their own messages are never unread to them.
    pub fn changed(&self, room_id: Uuid, author: Option<Uuid>) {
        // Fails only once the task is gone, when the process is stopping.
        let _ = self.changes.send(Change::Room(room_id, author));
    }

    /// Returns once the counts for every change queued before the call are published (or
    /// the task is gone). Test support: lets a test wait for the feed instead of sleeping.
    #[doc(hidden)]
    pub async fn flush(&self) {
        let (done, flushed) = oneshot::channel();
        if self.changes.send(Change::Flushed(done)).is_ok() {
            let _ = flushed.await;
        }
    }
}

async fn publish_counts(
    db: DatabaseConnection,
    listeners: Arc<Presence>,
    broker: SharedBroker,
    mut queue: mpsc::UnboundedReceiver<Change>,
) {
    let mut changes = Vec::with_capacity(PASS);
    let mut flushed = Vec::new();
    while queue.recv_many(&mut changes, PASS).await > 0 {
        // Per room, the one author not to tell: only if every change came from them.
        let mut rooms: HashMap<Uuid, Option<Uuid>> = HashMap::new();
        for change in changes.drain(..) {
            let (room_id, author) = match change {
                Change::Room(room_id, author) => (room_id, author),
                Change::Flushed(done) => {
                    flushed.push(done);
                    continue;
                }
            };
            rooms
                .entry(room_id)
                .and_modify(|skip| {
                    if *skip != author {
                        *skip = None;
                    }
                })
                .or_insert(author);
        }
        let room_ids: Vec<Uuid> = rooms.keys().copied().collect();
        for chunk in room_ids.chunks(ROOMS_PER_LOOKUP) {
            if let Err(err) = publish_rooms(&db, &listeners, &broker, chunk, &rooms).await {
                tracing::warn!(error = %err, "unread counts failed");
            }
        }
        for done in flushed.drain(..) {
            let _ = done.send(());
        }
    }
}

async fn publish_rooms(
    db: &DatabaseConnection,
    listeners: &Presence,
    broker: &SharedBroker,
    room_ids: &[Uuid],
    skip: &HashMap<Uuid, Option<Uuid>>,
) -> Result<(), DbErr> {
    let members: Vec<(Uuid, Uuid)> = room_members::Entity::find()
        .select_only()
        .column(room_members::Column::RoomId)
        .column(room_members::Column::UserId)
        .filter(room_members::Column::RoomId.is_in(room_ids.iter().copied()))
        .filter(room_members::Column::LeftAt.is_null())
        .into_tuple()
        .all(db)
        .await?;
    let users: Vec<Uuid> = members
        .iter()
        .map(|(_, user)| *user)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let listening = listeners.online(&users).await;
    let mut listeners: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (room_id, user_id) in members {
        if listening.contains(&user_id) && skip.get(&room_id) != Some(&Some(user_id)) {
            listeners.entry(room_id).or_default().push(user_id);
        }
    }
    // What the room lists preview: one lookup for every room with someone listening.
    let heard: Vec<Uuid> = listeners.keys().copied().collect();
    let mut last = crate::store::message::last_in_rooms(db, &heard).await?;
    for (room_id, users) in listeners {
        let (last_message, last_sender) = match last.remove(&room_id) {
            Some((message, sender)) => (Some(Box::new(message)), sender),
            None => (None, None),
        };
        for (user_id, unread_count) in
            crate::store::unread::unread_counts_in(db, room_id, &users).await?
        {
            crate::realtime::publish_to(
                broker,
                Topic::User(user_id),
                Event::UnreadChanged {
                    room_id,
                    unread_count,
                    last_message: last_message.clone(),
                    last_sender: last_sender.clone(),
                },
            );
        }
    }
    Ok(())
}
