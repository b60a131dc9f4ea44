//! A notification on the wire.

use chrono::{DateTime, FixedOffset};
use entity::notifications;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

type Time = DateTime<FixedOffset>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub id: Uuid,
    pub user_id: Uuid,
    pub kind: String,
    pub title: String,
    pub body: Option<String>,
    pub data: Option<serde_json::Value>,
    pub read_at: Option<Time>,
    pub created_at: Time,
}

impl From<&notifications::Model> for Notification {
    fn from(notification: &notifications::Model) -> Self {
        let notifications::Model {
            id,
            user_id,
            kind,
            title,
            body,
            data,
            read_at,
            created_at,
        } = notification;
        Self {
            id: *id,
            user_id: *user_id,
            kind: kind.clone(),
            title: title.clone(),
            body: body.clone(),
            data: data.clone(),
            read_at: *read_at,
            created_at: *created_at,
        }
    }
}

impl From<Notification> for notifications::Model {
    fn from(notification: Notification) -> Self {
        let Notification {
            id,
            user_id,
            kind,
            title,
            body,
            data,
            read_at,
            created_at,
        } = notification;
        Self {
            id,
            user_id,
            kind,
            title,
            body,
            data,
            read_at,
            created_at,
        }
    }
}
