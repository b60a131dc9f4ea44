//! Calls: a room's call, its participants (live sessions) with their media state, and the
//! session a `joinCall` hands back. The history (`Room.calls`, `Call.connectionEvents`) is in
//! [`super::call_history`].

use async_graphql::{Context, Enum, InputObject, Object, Result};
use chrono::{DateTime, Utc};
use entity::{call_sessions, calls};
use uuid::Uuid;

use super::call_history::ConnectionLogEntryConnection;
use super::ice::IceServer;
use super::{Room, User, utc};
use crate::error::ApiError;
use crate::graphql::loaders::{LiveCallOf, MembersOf, ParticipantsOf, RoomId, UserId};
use crate::graphql::{load, viewer};
use crate::service::call::session::{Connection, JoinFlags, StateChange};
use crate::store::page::{DEFAULT_PAGE, MAX_PAGE};

/// How a participant's media connection is doing, as its client reports it.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum CallConnectionState {
    /// Joined, still negotiating (every session starts here).
    Connecting,
    /// Media flows.
    Connected,
    /// Media stopped; the client is restarting ICE.
    Reconnecting,
    /// The client gave up connecting.
    Failed,
}

impl From<Connection> for CallConnectionState {
    fn from(value: Connection) -> Self {
        match value {
            Connection::Connecting => Self::Connecting,
            Connection::Connected => Self::Connected,
            Connection::Reconnecting => Self::Reconnecting,
            Connection::Failed => Self::Failed,
        }
    }
}

impl From<CallConnectionState> for Connection {
    fn from(value: CallConnectionState) -> Self {
        match value {
            CallConnectionState::Connecting => Self::Connecting,
            CallConnectionState::Connected => Self::Connected,
            CallConnectionState::Reconnecting => Self::Reconnecting,
            CallConnectionState::Failed => Self::Failed,
        }
    }
}

/// The media flags to join a call with; both off when omitted.
#[derive(InputObject, Default)]
pub struct JoinCallInput {
    /// Join with the microphone off.
    pub muted: Option<bool>,
    /// Join with the camera off.
    pub camera_off: Option<bool>,
}

impl From<JoinCallInput> for JoinFlags {
    fn from(input: JoinCallInput) -> Self {
        Self {
            muted: input.muted.unwrap_or(false),
            camera_off: input.camera_off.unwrap_or(false),
        }
    }
}

/// A change of the caller's state in a call; omitted fields stay as they are.
#[derive(InputObject)]
pub struct CallStateInput {
    /// The microphone is off.
    pub muted: Option<bool>,
    /// The camera is off.
    pub camera_off: Option<bool>,
    /// The screen is shared.
    pub screen_sharing: Option<bool>,
    /// The hand is raised.
    pub hand_raised: Option<bool>,
    /// Speaking now (voice activity, as the client detects it).
    pub speaking: Option<bool>,
    /// How the media connection is doing.
    pub connection: Option<CallConnectionState>,
}

impl From<CallStateInput> for StateChange {
    fn from(input: CallStateInput) -> Self {
        Self {
            muted: input.muted,
            camera_off: input.camera_off,
            screen_sharing: input.screen_sharing,
            hand_raised: input.hand_raised,
            speaking: input.speaking,
            connection: input.connection.map(Connection::from),
        }
    }
}

/// A voice or video call in a room: started by the first to join, ended when the last
/// session leaves or times out.
pub struct Call(pub calls::Model);

/// A voice or video call in a room: started by the first to join, ended when the last
/// session leaves or times out.
#[Object]
impl Call {
    /// Stable id (UUID v7).
    async fn id(&self) -> Uuid {
        self.0.id
    }

    /// The room the call is in.
    async fn room(&self, ctx: &Context<'_>) -> Result<Room> {
        let room = load(ctx, RoomId(self.0.room_id)).await?;
        room.map(Room).ok_or_else(|| {
            ApiError::broken(format_args!("call {}: room {}", self.0.id, self.0.room_id)).into()
        })
    }

    /// When the first session joined.
    async fn started_at(&self) -> DateTime<Utc> {
        utc(self.0.started_at)
    }

    /// When the last session left; null while the call is live.
    async fn ended_at(&self) -> Option<DateTime<Utc>> {
        self.0.ended_at.map(utc)
    }

    /// The most sessions the call had at once.
    async fn peak_participants(&self) -> i32 {
        self.0.peak_participants
    }

    /// The sessions in the call now, in the order they joined (one person on two devices is
    /// two participants).
    async fn participants(&self, ctx: &Context<'_>) -> Result<Vec<CallParticipant>> {
        let sessions = load(ctx, ParticipantsOf(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(sessions.into_iter().map(CallParticipant).collect())
    }

    /// The connection events logged naming one of the call's sessions
    /// (`logConnectionEvent(input: { callSessionId })`), oldest first: `first`/`after` walks
    /// forward in time. For the room's owners and admins only (FORBIDDEN for anyone else). At
    /// most 100 a page; the first 20 when no argument is given.
    #[graphql(
        complexity = "first.unwrap_or(DEFAULT_PAGE as i32).clamp(1, MAX_PAGE as i32) as usize * child_complexity"
    )]
    async fn connection_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many items, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Continue after this cursor.")] after: Option<String>,
    ) -> Result<ConnectionLogEntryConnection> {
        super::call_history::connection_events(ctx, &self.0, first, after.as_deref()).await
    }
}

/// One session in a call: a person on one device, with the state their client publishes.
pub struct CallParticipant(pub call_sessions::Model);

/// One session in a call: a person on one device, with the state their client publishes.
#[Object]
impl CallParticipant {
    /// The call session's id (what `joinCall` returned to its client).
    async fn session_id(&self) -> Uuid {
        self.0.id
    }

    /// Who is in the call.
    async fn user(&self, ctx: &Context<'_>) -> Result<User> {
        let user = load(ctx, UserId(self.0.user_id)).await?;
        user.map(User::new).ok_or_else(|| {
            ApiError::broken(format_args!(
                "call session {}: user {}",
                self.0.id, self.0.user_id
            ))
            .into()
        })
    }

    /// When this session joined.
    async fn joined_at(&self) -> DateTime<Utc> {
        utc(self.0.joined_at)
    }

    /// The microphone is off.
    async fn muted(&self) -> bool {
        self.0.muted
    }

    /// The camera is off.
    async fn camera_off(&self) -> bool {
        self.0.camera_off
    }

    /// The screen is shared.
    async fn screen_sharing(&self) -> bool {
        self.0.screen_sharing
    }

    /// The hand is raised.
    async fn hand_raised(&self) -> bool {
        self.0.hand_raised
    }

    /// Speaking now (voice activity, as the client detects it).
    async fn speaking(&self) -> bool {
        self.0.speaking
    }

    /// How the media connection is doing.
    async fn connection(&self) -> CallConnectionState {
        Connection::parse(&self.0.connection).into()
    }
}

/// What `joinCall` hands the joining client: its session and what it needs to connect.
pub struct CallSession {
    pub session: call_sessions::Model,
    pub call: calls::Model,
    pub ice_servers: Vec<IceServer>,
}

/// What `joinCall` hands the joining client: its session and what it needs to connect.
#[Object]
impl CallSession {
    /// This client's session: pass it to `callHeartbeat`, `updateCallState` and `leaveCall`.
    async fn session_id(&self) -> Uuid {
        self.session.id
    }

    /// The call joined.
    async fn call(&self) -> Call {
        Call(self.call.clone())
    }

    /// STUN and TURN servers for `RTCPeerConnection`, as `iceServers` gives them.
    async fn ice_servers(&self) -> &Vec<IceServer> {
        &self.ice_servers
    }
}

/// `Room.call`: the room's live call, for its active members only (null for anyone else).
pub async fn live_call(ctx: &Context<'_>, room_id: Uuid) -> Result<Option<Call>> {
    let Some(me) = viewer(ctx).map(|v| v.id()) else {
        return Ok(None);
    };
    let members = load(ctx, MembersOf(room_id)).await?.unwrap_or_default();
    if !members.iter().any(|(member, _)| member.user_id == me) {
        return Ok(None);
    }
    Ok(load(ctx, LiveCallOf(room_id)).await?.map(Call))
}
