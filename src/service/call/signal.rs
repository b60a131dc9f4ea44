//! Signalling: opaque payloads (SDP offers and answers, ICE candidates) from one call session
//! to another session of the same call. Relayed to the addressed session's `callEvents`
//! subscription on whichever process holds it, never stored.

use std::sync::Arc;
use std::time::Duration;

use entity::call_sessions;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::session::session_not_found;
use crate::auth::Viewer;
use crate::error::{ApiError, ApiResult};
use crate::realtime::{Event, Topic};
use crate::state::AppState;

/// Largest payload a signal may carry, as JSON text.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;
/// Most signals one session may send per [`SIGNAL_WINDOW`].
pub const SIGNALS_PER_WINDOW: u32 = 100;
/// The window [`SIGNALS_PER_WINDOW`] counts in.
pub const SIGNAL_WINDOW: Duration = Duration::from_secs(1);

/// What a signal is for: the client's business, passed through as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalKind {
    Offer,
    Answer,
    IceCandidate,
    Renegotiate,
    Bye,
}

impl SignalKind {
    /// The word events carry.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Offer => "offer",
            Self::Answer => "answer",
            Self::IceCandidate => "ice_candidate",
            Self::Renegotiate => "renegotiate",
            Self::Bye => "bye",
        }
    }

    /// The kind an event's word names; `None` for a word of a newer release.
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "offer" => Self::Offer,
            "answer" => Self::Answer,
            "ice_candidate" => Self::IceCandidate,
            "renegotiate" => Self::Renegotiate,
            "bye" => Self::Bye,
            _ => return None,
        })
    }
}

/// One signal to relay.
pub struct Signal {
    pub from_session_id: Uuid,
    pub to_session_id: Uuid,
    pub kind: SignalKind,
    pub payload: serde_json::Value,
}

/// Relays `signal` from the viewer's own live session to another live session of the same
/// call. FORBIDDEN when `from` is somebody else's session; NOT_FOUND when either session is
/// gone or `to` is in another call; BAD_USER_INPUT for a payload over
/// [`MAX_PAYLOAD_BYTES`] or a signal to oneself; RATE_LIMITED past [`SIGNALS_PER_WINDOW`].
pub async fn send(state: &AppState, viewer: &Viewer, signal: Signal) -> ApiResult<()> {
    let size = serde_json::to_vec(&signal.payload)
        .map(|bytes| bytes.len())
        .unwrap_or(usize::MAX);
    if size > MAX_PAYLOAD_BYTES {
        return Err(ApiError::bad_input(
            "payload",
            format!("a signal's payload is at most {MAX_PAYLOAD_BYTES} bytes of JSON"),
        ));
    }
    if signal.from_session_id == signal.to_session_id {
        return Err(ApiError::bad_input(
            "toSessionId",
            "a session cannot signal itself",
        ));
    }
    let sessions = call_sessions::Entity::find()
        .filter(call_sessions::Column::Id.is_in([signal.from_session_id, signal.to_session_id]))
        .all(&state.db)
        .await?;
    let find = |id: Uuid| sessions.iter().find(|s| s.id == id);
    let from = find(signal.from_session_id).ok_or_else(session_not_found)?;
    if from.user_id != viewer.id() {
        return Err(ApiError::Forbidden(
            "that call session is somebody else's".to_owned(),
        ));
    }
    let to = find(signal.to_session_id);
    if from.left_at.is_some()
        || !to.is_some_and(|to| to.left_at.is_none() && to.call_id == from.call_id)
    {
        return Err(session_not_found());
    }
    state
        .limiter
        .hit(
            &format!("signal:{}", signal.from_session_id),
            SIGNALS_PER_WINDOW,
            SIGNAL_WINDOW,
        )
        .await?;
    state.publish(
        Topic::CallSession(signal.to_session_id),
        Event::CallSignal {
            from_session_id: signal.from_session_id,
            to_session_id: signal.to_session_id,
            kind: signal.kind.as_str().to_owned(),
            payload: Arc::new(signal.payload),
        },
    );
    Ok(())
}
