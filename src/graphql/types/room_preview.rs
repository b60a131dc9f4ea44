//! `RoomPreview`: a room as `roomByCode` shows it to someone deciding whether to join.

use async_graphql::Object;
use uuid::Uuid;

use crate::service::call::preview::Preview;

/// A room seen from outside, before joining it by its code: what it is, how full, and whether
/// a call is on.
pub struct RoomPreview(pub Preview);

/// A room seen from outside, before joining it by its code: what it is, how full, and whether
/// a call is on.
#[Object]
impl RoomPreview {
    /// The room's id (what `joinRoom` will return).
    async fn id(&self) -> Uuid {
        self.0.room.id
    }

    /// The room's name.
    async fn name(&self) -> Option<&str> {
        self.0.room.name.as_deref()
    }

    /// What the room is about.
    async fn topic(&self) -> Option<&str> {
        self.0.room.topic.as_deref()
    }

    /// How many active members the room has.
    async fn member_count(&self) -> i32 {
        i32::try_from(self.0.member_count).unwrap_or(i32::MAX)
    }

    /// The most active members the room admits; null for no cap.
    async fn max_members(&self) -> Option<i32> {
        self.0.room.max_members
    }

    /// Whether a call is going on in the room.
    async fn call_live(&self) -> bool {
        self.0.call_live
    }

    /// How many sessions the live call has; 0 when there is none.
    async fn participant_count(&self) -> i32 {
        i32::try_from(self.0.participant_count).unwrap_or(i32::MAX)
    }
}
