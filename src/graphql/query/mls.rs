//! Key package supply, raw connection events and connection statistics.

use async_graphql::{Context, Object, Result};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::auth;
use crate::graphql::types::call_history::{ConnectionLogEntry, ConnectionLogEntryConnection};
use crate::graphql::types::cursor;
use crate::graphql::types::mls::{ConnectionEvent, ConnectionEventCount, ConnectionStats};
use crate::graphql::types::utc;
use crate::graphql::{state, viewer};
use crate::service;
use crate::service::connection_log::{EventQuery, Scope};
use crate::store::page::{DEFAULT_PAGE, Key, MAX_PAGE};

#[derive(Default)]
pub struct MlsQuery;

#[Object]
impl MlsQuery {
    /// How many unexpired, unclaimed key packages `userId` has for the suite.
    async fn key_package_count(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user.")] user_id: Uuid,
        #[graphql(desc = "The MLS cipher suite number.")] cipher_suite: i32,
    ) -> Result<i32> {
        auth::require(viewer(ctx))?;
        let n = service::mls::count(state(ctx)?, user_id, cipher_suite).await?;
        Ok(n.min(i32::MAX as u64) as i32)
    }

    /// Raw connection events, newest first: the caller's own (in every room, or in `roomId`),
    /// or, for the active owners and admins of `roomId`, everyone's there (one user's with
    /// `userId`). Naming another user elsewhere is FORBIDDEN. At most 100 a page; 20 when
    /// `first` is omitted.
    #[graphql(
        complexity = "first.unwrap_or(DEFAULT_PAGE as i32).clamp(1, MAX_PAGE as i32) as usize * child_complexity"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn connection_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Events logged in this room only.")] room_id: Option<Uuid>,
        #[graphql(
            desc = "This user's events only: the caller, or anyone in a room the caller owns or administers (with `roomId`)."
        )]
        user_id: Option<Uuid>,
        #[graphql(desc = "Events of this kind only.")] event: Option<ConnectionEvent>,
        #[graphql(desc = "Events logged at or after this time only.")] since: Option<DateTime<Utc>>,
        #[graphql(desc = "Events logged before this time only.")] until: Option<DateTime<Utc>>,
        #[graphql(desc = "How many items, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Continue after this cursor.")] after: Option<String>,
    ) -> Result<ConnectionLogEntryConnection> {
        let viewer = auth::require(viewer(ctx))?;
        let page = cursor::forward(first, after.as_deref())?;
        let query = EventQuery {
            room_id,
            user_id,
            event: event.map(ConnectionEvent::as_db),
            since: since.map(|at| at.fixed_offset()),
            until: until.map(|at| at.fixed_offset()),
        };
        let slice = service::connection_log::events(state(ctx)?, viewer, query, page).await?;
        Ok(cursor::connection(
            slice,
            |entry| Key {
                at: entry.created_at,
                id: entry.id,
            },
            ConnectionLogEntry,
        ))
    }

    /// Connection statistics of a room (members only), of one call session (members of its
    /// room only) or of the caller's own events, since `since` (default: the last 24 hours).
    async fn connection_stats(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A room the caller belongs to; the caller's own events when omitted.")]
        room_id: Option<Uuid>,
        #[graphql(
            desc = "The events logged from this call session only, in a room the caller belongs to (`roomId`, if also given, must be that room)."
        )]
        call_session_id: Option<Uuid>,
        #[graphql(desc = "Start of the window; 24 hours ago when omitted.")] since: Option<
            DateTime<Utc>,
        >,
    ) -> Result<ConnectionStats> {
        let viewer = auth::require(viewer(ctx))?;
        let scope = Scope {
            room_id,
            call_session_id,
        };
        let stats = service::connection_log::stats(
            state(ctx)?,
            viewer,
            scope,
            since.map(|at| at.fixed_offset()),
        )
        .await?;
        Ok(ConnectionStats {
            since: stats.since.map(utc),
            total: stats.total as i64,
            users: stats.users as i64,
            by_event: stats
                .by_event
                .into_iter()
                .map(|(event, count)| ConnectionEventCount {
                    event: ConnectionEvent::from_db(&event),
                    count: count as i64,
                })
                .collect(),
            avg_rtt_ms: stats.avg_rtt_ms,
            p95_rtt_ms: stats.p95_rtt_ms,
            avg_jitter_ms: stats.avg_jitter_ms,
            avg_packet_loss: stats.avg_packet_loss,
        })
    }
}
