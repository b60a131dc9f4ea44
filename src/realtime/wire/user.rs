//! A user on the wire: no password hash, no TOTP secret or last used step.

use chrono::{DateTime, FixedOffset};
use entity::users;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

type Time = DateTime<FixedOffset>;

/// A user as others see them: no password hash, no TOTP secret or last used step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub status: String,
    pub last_seen_at: Option<Time>,
    pub email_verified_at: Option<Time>,
    /// When two-factor sign-in was turned on (whether it is on; the secret stays home).
    pub totp_enabled_at: Option<Time>,
    pub avatar_blob_id: Option<String>,
    pub created_at: Time,
    pub updated_at: Time,
    pub deleted_at: Option<Time>,
}

impl From<&users::Model> for User {
    fn from(user: &users::Model) -> Self {
        let users::Model {
            id,
            username,
            email,
            display_name,
            password_hash: _,
            role,
            status,
            last_seen_at,
            email_verified_at,
            totp_secret: _,
            totp_enabled_at,
            avatar_blob_id,
            created_at,
            updated_at,
            deleted_at,
            totp_last_step: _,
            // Bans are checked where they are read from the database, never from an event.
            banned_at: _,
            banned_until: _,
            ban_reason: _,
        } = user;
        Self {
            id: *id,
            username: username.clone(),
            email: email.clone(),
            display_name: display_name.clone(),
            role: role.clone(),
            status: status.clone(),
            last_seen_at: *last_seen_at,
            email_verified_at: *email_verified_at,
            totp_enabled_at: *totp_enabled_at,
            avatar_blob_id: avatar_blob_id.clone(),
            created_at: *created_at,
            updated_at: *updated_at,
            deleted_at: *deleted_at,
        }
    }
}

/// The model back, with the secret fields empty, as [`crate::realtime::public_user`] leaves them.
impl From<User> for users::Model {
    fn from(user: User) -> Self {
        let User {
            id,
            username,
            email,
            display_name,
            role,
            status,
            last_seen_at,
            email_verified_at,
            totp_enabled_at,
            avatar_blob_id,
            created_at,
            updated_at,
            deleted_at,
        } = user;
        Self {
            id,
            username,
            email,
            display_name,
            password_hash: String::new(),
            role,
            status,
            last_seen_at,
            email_verified_at,
            totp_secret: None,
            totp_enabled_at,
            avatar_blob_id,
            created_at,
            updated_at,
            deleted_at,
            totp_last_step: None,
            banned_at: None,
            banned_until: None,
            ban_reason: None,
        }
    }
}
