//! Delivery and read state: which marker moved, and a message's state as its sender sees it.

use async_graphql::Enum;

use crate::realtime;
use crate::store::receipt::Progress;

/// Which of a member's receipt markers moved.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum ReceiptMarker {
    /// The delivered marker (`markDelivered`): messages up to it reached a device.
    Delivered,
    /// The read marker (`markRead`): messages up to it were read, which implies delivered.
    Read,
}

impl From<realtime::ReceiptMarker> for ReceiptMarker {
    fn from(marker: realtime::ReceiptMarker) -> Self {
        match marker {
            realtime::ReceiptMarker::Delivered => Self::Delivered,
            realtime::ReceiptMarker::Read => Self::Read,
        }
    }
}

/// Where a message has got, as its sender sees it. Its recipients are the room's active
/// members other than the sender: in a direct room the other person, in a group everyone else.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum MessageStatus {
    /// Stored, and not yet delivered to every recipient (or there is no recipient).
    Sent,
    /// Every recipient has it on a device; not every one has read it.
    Delivered,
    /// Every recipient has read it.
    Read,
}

impl From<Progress> for MessageStatus {
    fn from(p: Progress) -> Self {
        if p.recipients == 0 {
            Self::Sent
        } else if p.read >= p.recipients {
            Self::Read
        } else if p.delivered >= p.recipients {
            Self::Delivered
        } else {
            Self::Sent
        }
    }
}
