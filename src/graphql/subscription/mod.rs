//! The Subscription root: live room events, the caller's own events, presence, and calls
//! ([`call`]).
//!
//! Each subscription is a broker receiver turned into a stream. A subscriber that falls more
//! than [`SUBSCRIBER_BUFFER`](crate::realtime::SUBSCRIBER_BUFFER) events behind is not buffered
//! further: its connection is told to close (slow consumer).

use std::collections::HashSet;
use std::sync::Arc;

use async_graphql::{Context, Result, Subscription};
use futures_util::Stream;
use futures_util::stream::{self, StreamExt};
use tokio::sync::broadcast::{self, error::RecvError};
use uuid::Uuid;

use crate::auth;
use crate::graphql::fastpath::Fast;
use crate::graphql::types::event::{
    ContactRequested, MemberJoined, MemberLeft, MessageAdded, MessageDeleted, MessageEdited,
    MyEvent, Notification, NotificationAdded, PresenceChanged, ReactionChanged, ReceiptUpdated,
    RoomAdded, RoomDeleted, RoomEvent, Typing, UnreadChanged,
};
use crate::graphql::types::{Message, Room, RoomMember, UserStatus, utc};
use crate::graphql::{state, viewer};
use crate::realtime::online::Presence;
use crate::realtime::{Event, Topic};
use crate::service;

mod call;

/// Most users one `presence` subscription may watch.
pub const PRESENCE_MAX_USERS: usize = 200;

/// Lets a subscription ask its connection to close (for a slow consumer).
#[derive(Clone, Default)]
pub struct ConnectionControl {
    pub slow: Arc<tokio::sync::Notify>,
}

enum Step<T> {
    Skip,
    Yield(T),
    YieldThenEnd(T),
}

/// Turns a broker receiver into a stream of `map`ped events.
fn events<T, F>(
    rx: broadcast::Receiver<Arc<Event>>,
    control: Option<ConnectionControl>,
    map: F,
) -> impl Stream<Item = T> + Send + 'static
where
    T: Send + 'static,
    F: FnMut(&Event) -> Step<T> + Send + 'static,
{
    stream::unfold(
        (rx, map, control, false),
        |(mut rx, mut map, control, done)| async move {
            if done {
                return None;
            }
            loop {
                match rx.recv().await {
                    Ok(event) => match map(&event) {
                        Step::Skip => continue,
                        Step::Yield(item) => return Some((item, (rx, map, control, false))),
                        Step::YieldThenEnd(item) => return Some((item, (rx, map, control, true))),
                    },
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "subscriber fell behind; closing its connection");
                        if let Some(control) = &control {
                            control.slow.notify_one();
                        }
                        return None;
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        },
    )
}

/// A user's place among the `myEvents` listeners (who unread counts are computed for), held
/// by their subscription and given up when it ends.
struct Listening {
    listeners: Arc<Presence>,
    user: Uuid,
}

impl Listening {
    async fn start(listeners: &Arc<Presence>, user: Uuid) -> Self {
        listeners.connect(user).await;
        Self {
            listeners: Arc::clone(listeners),
            user,
        }
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        let (listeners, user) = (Arc::clone(&self.listeners), self.user);
        // Streams end inside the runtime; without one the process is stopping anyway.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { listeners.disconnect(user).await });
        }
    }
}

#[derive(Default)]
pub struct Subscription;

/// Live updates over the WebSocket on `/graphql` (`graphql-transport-ws` or `graphql-ws`),
/// authenticated by the `connection_init` payload.
#[Subscription]
impl Subscription {
    /// Everything that happens in a room, from now on. Members only; ends when the caller
    /// leaves or is removed. With `after`, first the messages sent after that one, oldest
    /// first, as MessageAdded, then live events with no gap and no message twice: how a client
    /// that reconnects (say after a 1012 close) gets what it missed.
    async fn room_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The room.")] room_id: Uuid,
        #[graphql(
            desc = "The last message of this room the client has seen: the messages after it \
                    (at most 500; further behind, BAD_USER_INPUT on `after`: page with \
                    Room.messages and subscribe again) come first, as MessageAdded."
        )]
        after: Option<Uuid>,
    ) -> Result<impl Stream<Item = RoomEvent> + use<>> {
        let viewer = auth::require(viewer(ctx))?;
        let state = state(ctx)?;
        service::membership::require_member(&state.reads(), viewer, room_id).await?;
        let me = viewer.id();
        // Subscribed before reading the history: a message committed in between is in both,
        // and the live copy is skipped, so none falls in a gap.
        let rx = state.broker.subscribe(Topic::Room(room_id));
        let missed = match after {
            Some(after) => service::message::missed(state, room_id, after).await?,
            None => Vec::new(),
        };
        let mut replayed: HashSet<Uuid> = missed.iter().map(|(m, _)| m.id).collect();
        let replay = missed.into_iter().map(|(message, sender)| {
            RoomEvent::MessageAdded(MessageAdded {
                message: Fast(Message::with_sender(message, sender)),
            })
        });
        let live = events(
            rx,
            ctx.data_opt::<ConnectionControl>().cloned(),
            move |event| {
                let item = match event {
                    Event::MessageAdded { message, .. } if replayed.remove(&message.id) => {
                        return Step::Skip;
                    }
                    Event::MessageAdded { message, sender } => {
                        RoomEvent::MessageAdded(MessageAdded {
                            message: Fast(Message::with_sender(message.clone(), sender.clone())),
                        })
                    }
                    Event::MessageEdited { message } => RoomEvent::MessageEdited(MessageEdited {
                        message: Message::new(message.clone()),
                    }),
                    Event::MessageDeleted { message } => {
                        RoomEvent::MessageDeleted(MessageDeleted {
                            message: Message::new(message.clone()),
                        })
                    }
                    Event::ReactionChanged {
                        message,
                        user_id,
                        emoji,
                        added,
                    } => RoomEvent::ReactionChanged(ReactionChanged {
                        message: Message::new(message.clone()),
                        user_id: *user_id,
                        emoji: emoji.clone(),
                        added: *added,
                    }),
                    Event::ReceiptUpdated {
                        room_id,
                        user_id,
                        message_id,
                        marker,
                    } => RoomEvent::ReceiptUpdated(ReceiptUpdated {
                        room_id: *room_id,
                        user_id: *user_id,
                        message_id: *message_id,
                        marker: (*marker).into(),
                    }),
                    Event::MemberJoined { member } => RoomEvent::MemberJoined(MemberJoined {
                        room_id: member.room_id,
                        member: RoomMember::new(member.clone()),
                    }),
                    Event::MemberLeft { room_id, user_id } => {
                        let item = RoomEvent::MemberLeft(MemberLeft {
                            room_id: *room_id,
                            user_id: *user_id,
                        });
                        // Once out of the room, the caller hears nothing more from it.
                        return if *user_id == me {
                            Step::YieldThenEnd(item)
                        } else {
                            Step::Yield(item)
                        };
                    }
                    // Nothing more can happen in a deleted room.
                    Event::RoomDeleted { room_id } => {
                        return Step::YieldThenEnd(RoomEvent::RoomDeleted(RoomDeleted {
                            room_id: *room_id,
                        }));
                    }
                    Event::Typing {
                        room_id,
                        user_id,
                        typing,
                        expires_at,
                    } => RoomEvent::Typing(Typing {
                        room_id: *room_id,
                        user_id: *user_id,
                        typing: *typing,
                        expires_at: utc(*expires_at),
                    }),
                    _ => return Step::Skip,
                };
                Step::Yield(item)
            },
        );
        Ok(stream::iter(replay).chain(live))
    }

    /// The caller's notifications, new rooms, contact requests and unread-count changes.
    async fn my_events(&self, ctx: &Context<'_>) -> Result<impl Stream<Item = MyEvent> + use<>> {
        let viewer = auth::require(viewer(ctx))?;
        let state = state(ctx)?;
        let rx = state.broker.subscribe(Topic::User(viewer.id()));
        let listening = Listening::start(&state.listeners, viewer.id()).await;
        Ok(events(
            rx,
            ctx.data_opt::<ConnectionControl>().cloned(),
            move |event| {
                // Held as long as the stream lives.
                let _ = &listening;
                Step::Yield(match event {
                    Event::NotificationAdded { notification } => {
                        MyEvent::NotificationAdded(NotificationAdded {
                            notification: Notification(notification.clone()),
                        })
                    }
                    Event::RoomAdded { room } => MyEvent::RoomAdded(RoomAdded {
                        room: Room(room.clone()),
                    }),
                    Event::ContactRequested { from_user_id } => {
                        MyEvent::ContactRequested(ContactRequested {
                            from_user_id: *from_user_id,
                        })
                    }
                    Event::UnreadChanged {
                        room_id,
                        unread_count,
                        last_message,
                        last_sender,
                    } => MyEvent::UnreadChanged(UnreadChanged {
                        room_id: *room_id,
                        unread_count: *unread_count,
                        last_message: last_message.as_deref().map(|message| {
                            Fast(Message::with_sender(message.clone(), last_sender.clone()))
                        }),
                    }),
                    Event::RoomDeleted { room_id } => {
                        MyEvent::RoomDeleted(RoomDeleted { room_id: *room_id })
                    }
                    _ => return Step::Skip,
                })
            },
        ))
    }

    /// A room's call as it happens: participants joining (first, one event for each session
    /// already in the call), leaving, changing state, and the call ending. Members only.
    /// With `sessionId` (the caller's own session in this room's call) it also receives the
    /// signals sent to that session, keeps the session alive without heartbeats, and ends
    /// after the session leaves; when it ends first (the socket closed), the session leaves
    /// with reason DISCONNECTED. Ends when the caller leaves the room.
    async fn call_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The room whose call to follow.")] room_id: Uuid,
        #[graphql(desc = "The caller's own session in it, to receive its signals and hold it.")]
        session_id: Option<Uuid>,
    ) -> Result<impl Stream<Item = crate::graphql::types::call_event::CallEvent> + use<>> {
        call::call_events(ctx, room_id, session_id).await
    }

    /// Presence changes (online, away, offline) of up to 200 users.
    async fn presence(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The users to watch, at most 200.")] user_ids: Vec<Uuid>,
    ) -> Result<impl Stream<Item = PresenceChanged> + use<>> {
        auth::require(viewer(ctx))?;
        if user_ids.len() > PRESENCE_MAX_USERS {
            return Err(crate::error::ApiError::bad_input(
                "userIds",
                "watch at most 200 users at once",
            )
            .into());
        }
        let state = state(ctx)?;
        let control = ctx.data_opt::<ConnectionControl>().cloned();
        let streams = user_ids.into_iter().map(|id| {
            events(
                state.broker.subscribe(Topic::Presence(id)),
                control.clone(),
                |event| match event {
                    Event::PresenceChanged {
                        user_id,
                        status,
                        last_seen_at,
                        context,
                    } => Step::Yield(PresenceChanged {
                        user_id: *user_id,
                        status: UserStatus::from_db(status),
                        last_seen_at: last_seen_at.map(utc),
                        context: context.clone(),
                    }),
                    _ => Step::Skip,
                },
            )
            .boxed()
        });
        Ok(stream::select_all(streams))
    }
}
