//! A call and a call session on the wire.

use chrono::{DateTime, FixedOffset};
use entity::{call_sessions, calls};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

type Time = DateTime<FixedOffset>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    pub id: Uuid,
    pub room_id: Uuid,
    pub started_at: Time,
    pub ended_at: Option<Time>,
    pub peak_participants: i32,
}

impl From<&calls::Model> for Call {
    fn from(call: &calls::Model) -> Self {
        let calls::Model {
            id,
            room_id,
            started_at,
            ended_at,
            peak_participants,
        } = call;
        Self {
            id: *id,
            room_id: *room_id,
            started_at: *started_at,
            ended_at: *ended_at,
            peak_participants: *peak_participants,
        }
    }
}

impl From<Call> for calls::Model {
    fn from(call: Call) -> Self {
        let Call {
            id,
            room_id,
            started_at,
            ended_at,
            peak_participants,
        } = call;
        Self {
            id,
            room_id,
            started_at,
            ended_at,
            peak_participants,
        }
    }
}

/// A call session (a participant) with the state its client published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallSession {
    pub id: Uuid,
    pub call_id: Uuid,
    pub user_id: Uuid,
    pub joined_at: Time,
    pub last_seen_at: Time,
    pub left_at: Option<Time>,
    pub leave_reason: Option<String>,
    pub muted: bool,
    pub camera_off: bool,
    pub screen_sharing: bool,
    pub hand_raised: bool,
    pub speaking: bool,
    pub connection: String,
}

impl From<&call_sessions::Model> for CallSession {
    fn from(session: &call_sessions::Model) -> Self {
        let call_sessions::Model {
            id,
            call_id,
            user_id,
            joined_at,
            last_seen_at,
            left_at,
            leave_reason,
            muted,
            camera_off,
            screen_sharing,
            hand_raised,
            speaking,
            connection,
        } = session;
        Self {
            id: *id,
            call_id: *call_id,
            user_id: *user_id,
            joined_at: *joined_at,
            last_seen_at: *last_seen_at,
            left_at: *left_at,
            leave_reason: leave_reason.clone(),
            muted: *muted,
            camera_off: *camera_off,
            screen_sharing: *screen_sharing,
            hand_raised: *hand_raised,
            speaking: *speaking,
            connection: connection.clone(),
        }
    }
}

impl From<CallSession> for call_sessions::Model {
    fn from(session: CallSession) -> Self {
        let CallSession {
            id,
            call_id,
            user_id,
            joined_at,
            last_seen_at,
            left_at,
            leave_reason,
            muted,
            camera_off,
            screen_sharing,
            hand_raised,
            speaking,
            connection,
        } = session;
        Self {
            id,
            call_id,
            user_id,
            joined_at,
            last_seen_at,
            left_at,
            leave_reason,
            muted,
            camera_off,
            screen_sharing,
            hand_raised,
            speaking,
            connection,
        }
    }
}
