//! The history of calls in GraphQL: `Room.calls` (a room's calls, live and ended, newest
//! first) and `Call.connectionEvents` (what its participants' clients logged, oldest first),
//! each a Relay connection paged through a request-scoped loader, so a list of rooms or calls
//! asking for them costs one statement per level. Who may read them is
//! [`crate::service::call::history`]'s rule.

use async_graphql::connection::Connection as Relay;
use async_graphql::{Context, Object, Result};
use chrono::{DateTime, Utc};
use entity::{calls, connection_logs};
use uuid::Uuid;

use super::call::Call;
use super::cursor::{self, Cursor};
use super::mls::ConnectionEvent;
use super::{User, utc};
use crate::auth;
use crate::error::ApiError;
use crate::graphql::loaders::{CallsOf, EventsOfCall, MembersOf, UserId};
use crate::graphql::{load, viewer};
use crate::service::call::history;
use crate::service::connection_log::Metrics;
use crate::service::membership::Role;
use crate::store::page::{Key, Slice};

/// `Room.calls`: a page of calls, `CallConnection` in the schema (not to be confused with
/// `store::kinds::CallConnection`, a participant's media connection state).
pub type CallHistoryConnection = Relay<Cursor, Call>;
/// `Call.connectionEvents`: a page of connection log entries.
pub type ConnectionLogEntryConnection = Relay<Cursor, ConnectionLogEntry>;

fn empty<T>() -> Slice<T> {
    Slice {
        items: Vec::new(),
        has_previous: false,
        has_next: false,
    }
}

/// `Room.calls`: the room's calls, live and ended, newest first, for its active members only
/// (empty for anyone else, as `Room.call` is null for them).
pub async fn room_calls(
    ctx: &Context<'_>,
    room_id: Uuid,
    first: Option<i32>,
    after: Option<&str>,
) -> Result<CallHistoryConnection> {
    let page = cursor::forward(first, after)?;
    let Some(me) = viewer(ctx).map(|v| v.id()) else {
        return Ok(Relay::new(false, false));
    };
    let members = load(ctx, MembersOf(room_id)).await?.unwrap_or_default();
    if !members.iter().any(|(member, _)| member.user_id == me) {
        return Ok(Relay::new(false, false));
    }
    let slice = load(ctx, CallsOf(room_id, page))
        .await?
        .unwrap_or_else(empty);
    Ok(cursor::connection(
        slice,
        |call| Key {
            at: call.started_at,
            id: call.id,
        },
        Call,
    ))
}

/// One connection event a client logged (from a call session, when it names one).
pub struct ConnectionLogEntry(pub connection_logs::Model);

/// One connection event a client logged (from a call session, when it names one).
#[Object]
impl ConnectionLogEntry {
    /// Stable id (UUID v7).
    async fn id(&self) -> Uuid {
        self.0.id
    }

    /// Whose client logged it.
    async fn user(&self, ctx: &Context<'_>) -> Result<User> {
        let user = load(ctx, UserId(self.0.user_id)).await?;
        user.map(User::new).ok_or_else(|| {
            ApiError::broken(format_args!(
                "connection log {}: user {}",
                self.0.id, self.0.user_id
            ))
            .into()
        })
    }

    /// The room it was logged in, if any.
    async fn room_id(&self) -> Option<Uuid> {
        self.0.room_id
    }

    /// The call session it was logged from.
    async fn call_session_id(&self) -> Option<Uuid> {
        self.0.call_session_id
    }

    /// What happened.
    async fn event(&self) -> ConnectionEvent {
        ConnectionEvent::from_db(&self.0.event)
    }

    /// Round-trip time, ms.
    async fn rtt_ms(&self) -> Option<f64> {
        self.metrics().rtt_ms
    }

    /// Jitter, ms.
    async fn jitter_ms(&self) -> Option<f64> {
        self.metrics().jitter_ms
    }

    /// Packet loss, a fraction 0..1.
    async fn packet_loss(&self) -> Option<f64> {
        self.metrics().packet_loss
    }

    /// When it was logged.
    async fn created_at(&self) -> DateTime<Utc> {
        utc(self.0.created_at)
    }
}

impl ConnectionLogEntry {
    fn metrics(&self) -> Metrics {
        self.0
            .metrics
            .as_ref()
            .map(Metrics::from_json)
            .unwrap_or_default()
    }
}

/// `Call.connectionEvents`: the events logged naming one of `call`'s sessions, oldest first;
/// for the room's owners and admins (FORBIDDEN for anyone else).
pub async fn connection_events(
    ctx: &Context<'_>,
    call: &calls::Model,
    first: Option<i32>,
    after: Option<&str>,
) -> Result<ConnectionLogEntryConnection> {
    let me = auth::require(viewer(ctx))?.id();
    let page = cursor::forward(first, after)?;
    let members = load(ctx, MembersOf(call.room_id))
        .await?
        .unwrap_or_default();
    let role = members
        .iter()
        .find(|(member, _)| member.user_id == me)
        .map(|(member, _)| Role::parse(&member.role));
    history::may_read_events(role)?;
    let slice = load(ctx, EventsOfCall(call.id, page))
        .await?
        .unwrap_or_else(empty);
    Ok(cursor::connection(
        slice,
        |entry| Key {
            at: entry.created_at,
            id: entry.id,
        },
        ConnectionLogEntry,
    ))
}
