//! Calls: joining and leaving a room's call, heartbeats and media state.

use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use crate::auth;
use crate::graphql::types::call::{CallParticipant, CallSession, CallStateInput, JoinCallInput};
use crate::graphql::types::call_event::SignalInput;
use crate::graphql::types::ice::IceServer;
use crate::graphql::{state, viewer};
use crate::service;
use crate::service::call::{session, signal};

#[derive(Default)]
pub struct CallMutation;

#[Object]
impl CallMutation {
    /// Joins the room's call as a new session, starting the call when there is none. Members
    /// only; at most the room's `maxMembers` sessions (CONFLICT "call is full"). Keep the
    /// session alive with a `callEvents` subscription naming it, or with `callHeartbeat` at
    /// least every `--call-session-ttl` seconds.
    async fn join_call(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The room whose call to join.")] room_id: Uuid,
        #[graphql(desc = "Media flags to join with.")] input: Option<JoinCallInput>,
    ) -> Result<CallSession> {
        let viewer = auth::require(viewer(ctx))?;
        let state = state(ctx)?;
        let flags = input.map(session::JoinFlags::from).unwrap_or_default();
        let (call, session) = session::join(state, viewer, room_id, flags).await?;
        let ice_servers = service::call::ice_servers(state, viewer)?
            .into_iter()
            .map(IceServer::from)
            .collect();
        Ok(CallSession {
            session,
            call,
            ice_servers,
        })
    }

    /// Leaves the call: true when the session left now, false when it had already left. The
    /// last session leaving ends the call.
    async fn leave_call(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The caller's call session.")] session_id: Uuid,
    ) -> Result<bool> {
        let viewer = auth::require(viewer(ctx))?;
        Ok(session::leave(state(ctx)?, viewer, session_id).await?)
    }

    /// Keeps the caller's session in its call for another `--call-session-ttl` seconds.
    /// NOT_FOUND once the session left (or timed out): join again.
    async fn call_heartbeat(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The caller's call session.")] session_id: Uuid,
    ) -> Result<bool> {
        let viewer = auth::require(viewer(ctx))?;
        session::heartbeat(state(ctx)?, viewer, session_id).await?;
        Ok(true)
    }

    /// Changes the caller's media state in the call (also counts as a heartbeat).
    async fn update_call_state(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The caller's call session.")] session_id: Uuid,
        #[graphql(desc = "What changed; omitted fields stay.")] input: CallStateInput,
    ) -> Result<CallParticipant> {
        let viewer = auth::require(viewer(ctx))?;
        let updated = session::update_state(state(ctx)?, viewer, session_id, input.into()).await?;
        Ok(CallParticipant(updated))
    }

    /// Relays an opaque signal (an SDP offer or answer, an ICE candidate) from the caller's
    /// live session to another session of the same call: only that session's `callEvents`
    /// subscription receives it. Not stored. Payload at most 64 KiB of JSON; at most 100
    /// signals a second per session (RATE_LIMITED past that).
    async fn send_signal(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Who sends, to whom, what.")] input: SignalInput,
    ) -> Result<bool> {
        let viewer = auth::require(viewer(ctx))?;
        signal::send(state(ctx)?, viewer, input.into()).await?;
        Ok(true)
    }
}
