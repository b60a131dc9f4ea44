//! Contacts between users.

use crate::error::ApiError;
use async_graphql::{Context, Enum, Object, Result};
use chrono::{DateTime, Utc};
use entity::contacts;

use super::{User, utc};
use crate::graphql::load;
use crate::graphql::loaders::UserId;
use crate::service::contact::{ACCEPTED, BLOCKED, PENDING};

/// Where a contact relationship stands.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum ContactStatus {
    /// Asked, not yet answered.
    Pending,
    /// Both agreed.
    Accepted,
    /// One side blocked the other.
    Blocked,
}

impl ContactStatus {
    pub fn as_db(self) -> &'static str {
        match self {
            Self::Pending => PENDING,
            Self::Accepted => ACCEPTED,
            Self::Blocked => BLOCKED,
        }
    }
}

/// The caller's relationship with another user.
pub struct Contact(pub contacts::Model);

/// The caller's relationship with another user.
#[Object]
impl Contact {
    /// The other user.
    async fn user(&self, ctx: &Context<'_>) -> Result<User> {
        let user = load(ctx, UserId(self.0.contact_id)).await?;
        user.map(User::new).ok_or_else(|| {
            ApiError::broken(format_args!(
                "contact of {}: user {}",
                self.0.user_id, self.0.contact_id
            ))
            .into()
        })
    }

    /// PENDING, ACCEPTED or BLOCKED.
    async fn status(&self) -> ContactStatus {
        match self.0.status.as_str() {
            ACCEPTED => ContactStatus::Accepted,
            BLOCKED => ContactStatus::Blocked,
            _ => ContactStatus::Pending,
        }
    }

    /// True when the other user asked (a request waiting for the caller's answer).
    async fn incoming(&self) -> bool {
        self.0.requested_by == self.0.contact_id
    }

    /// When the relationship began.
    async fn created_at(&self) -> DateTime<Utc> {
        utc(self.0.created_at)
    }

    /// When its status last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        utc(self.0.updated_at)
    }
}
