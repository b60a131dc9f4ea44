//! What `callEvents` delivers: participants joining, leaving and changing state, the call
//! ending, and signals addressed to the subscriber's session; and `sendSignal`'s input.

use async_graphql::{Enum, InputObject, Json, SimpleObject, Union};
use uuid::Uuid;

use super::call::{Call, CallParticipant};
use crate::service::call::session::LeaveReason;
use crate::service::call::signal::{self, SignalKind as Kind};

/// Something that happened in a room's call.
#[derive(Union)]
pub enum CallEvent {
    ParticipantJoined(ParticipantJoined),
    ParticipantLeft(ParticipantLeft),
    ParticipantUpdated(ParticipantUpdated),
    CallEnded(CallEnded),
    Signal(Signal),
}

/// A session joined the call (the first one started it). A subscription also starts with one
/// of these for each session already in the call: clients key participants by `sessionId`.
#[derive(SimpleObject)]
pub struct ParticipantJoined {
    /// Who joined, with the state they joined with.
    pub participant: CallParticipant,
}

/// A session left the call.
#[derive(SimpleObject)]
pub struct ParticipantLeft {
    /// The participant as they were when they left.
    pub participant: CallParticipant,
    /// Why they left.
    pub reason: CallLeaveReason,
}

/// A participant changed their media or connection state.
#[derive(SimpleObject)]
pub struct ParticipantUpdated {
    /// The participant with their new state.
    pub participant: CallParticipant,
}

/// The last session left: the call is over (the next join starts a new one).
#[derive(SimpleObject)]
pub struct CallEnded {
    /// The call, with `endedAt` set.
    pub call: Call,
}

/// A signal from another session of the call, for the subscriber's session only.
#[derive(SimpleObject)]
pub struct Signal {
    /// The sending session (reply to it with `toSessionId`).
    pub from_session_id: Uuid,
    /// What the sender says it is.
    pub kind: SignalKind,
    /// As the sender passed it.
    pub payload: Json<serde_json::Value>,
}

/// Why a session left its call.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum CallLeaveReason {
    /// `leaveCall`.
    Left,
    /// Not heard from (heartbeat or subscription) for `--call-session-ttl` seconds.
    Timeout,
    /// The `callEvents` subscription that held it ended: its socket closed.
    Disconnected,
    /// Its user left the room or was removed from it.
    Removed,
}

impl From<LeaveReason> for CallLeaveReason {
    fn from(value: LeaveReason) -> Self {
        match value {
            LeaveReason::Left => Self::Left,
            LeaveReason::Timeout => Self::Timeout,
            LeaveReason::Disconnected => Self::Disconnected,
            LeaveReason::Removed => Self::Removed,
        }
    }
}

/// What a signal is for; Confab passes it through.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum SignalKind {
    /// An SDP offer.
    Offer,
    /// An SDP answer.
    Answer,
    /// A trickled ICE candidate.
    IceCandidate,
    /// A request to renegotiate (new tracks, an ICE restart).
    Renegotiate,
    /// The sender is hanging up on the addressed session.
    Bye,
}

impl From<Kind> for SignalKind {
    fn from(value: Kind) -> Self {
        match value {
            Kind::Offer => Self::Offer,
            Kind::Answer => Self::Answer,
            Kind::IceCandidate => Self::IceCandidate,
            Kind::Renegotiate => Self::Renegotiate,
            Kind::Bye => Self::Bye,
        }
    }
}

impl From<SignalKind> for Kind {
    fn from(value: SignalKind) -> Self {
        match value {
            SignalKind::Offer => Self::Offer,
            SignalKind::Answer => Self::Answer,
            SignalKind::IceCandidate => Self::IceCandidate,
            SignalKind::Renegotiate => Self::Renegotiate,
            SignalKind::Bye => Self::Bye,
        }
    }
}

/// A signal for another session of the caller's call.
#[derive(InputObject)]
pub struct SignalInput {
    /// The caller's own live session.
    pub from_session_id: Uuid,
    /// The session it is for, in the same call.
    pub to_session_id: Uuid,
    /// What it is; passed through.
    pub kind: SignalKind,
    /// Any JSON (an SDP description, an ICE candidate), at most 64 KiB as text.
    pub payload: Json<serde_json::Value>,
}

impl From<SignalInput> for signal::Signal {
    fn from(input: SignalInput) -> Self {
        Self {
            from_session_id: input.from_session_id,
            to_session_id: input.to_session_id,
            kind: input.kind.into(),
            payload: input.payload.0,
        }
    }
}
