//! Key package supply and connection statistics.

use async_graphql::{Context, Object, Result};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::auth;
use crate::graphql::types::mls::{ConnectionEvent, ConnectionEventCount, ConnectionStats};
use crate::graphql::types::utc;
use crate::graphql::{state, viewer};
use crate::service;
use crate::service::connection_log::Scope;

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
