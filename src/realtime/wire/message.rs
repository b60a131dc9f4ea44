//! A message on the wire.

use chrono::{DateTime, FixedOffset};
use entity::messages;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

type Time = DateTime<FixedOffset>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: Uuid,
    pub room_id: Uuid,
    pub sender_id: Option<Uuid>,
    pub kind: String,
    pub body: Option<String>,
    /// MLS messages: the ciphertext, base64 (a JSON array of numbers would be four times
    /// the size).
    #[serde(default, with = "base64_bytes")]
    pub ciphertext: Option<Vec<u8>>,
    pub epoch: Option<i64>,
    pub reply_to_id: Option<Uuid>,
    pub metadata: Option<serde_json::Value>,
    pub created_at: Time,
    pub edited_at: Option<Time>,
    pub deleted_at: Option<Time>,
    pub reacted: bool,
    /// The message's place in its room (`store::seq`); 0 from a release before it.
    #[serde(default)]
    pub seq: i64,
}

impl From<&messages::Model> for Message {
    fn from(message: &messages::Model) -> Self {
        let messages::Model {
            id,
            room_id,
            sender_id,
            kind,
            body,
            ciphertext,
            epoch,
            reply_to_id,
            metadata,
            created_at,
            edited_at,
            deleted_at,
            reacted,
            seq,
        } = message;
        Self {
            id: *id,
            room_id: *room_id,
            sender_id: *sender_id,
            kind: kind.clone(),
            body: body.clone(),
            ciphertext: ciphertext.clone(),
            epoch: *epoch,
            reply_to_id: *reply_to_id,
            metadata: metadata.clone(),
            created_at: *created_at,
            edited_at: *edited_at,
            deleted_at: *deleted_at,
            reacted: *reacted,
            seq: *seq,
        }
    }
}

impl From<Message> for messages::Model {
    fn from(message: Message) -> Self {
        let Message {
            id,
            room_id,
            sender_id,
            kind,
            body,
            ciphertext,
            epoch,
            reply_to_id,
            metadata,
            created_at,
            edited_at,
            deleted_at,
            reacted,
            seq,
        } = message;
        Self {
            id,
            room_id,
            sender_id,
            kind,
            body,
            ciphertext,
            epoch,
            reply_to_id,
            metadata,
            created_at,
            edited_at,
            deleted_at,
            reacted,
            seq,
        }
    }
}

/// `Option<Vec<u8>>` as an optional base64 string.
mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(bytes) => s.serialize_some(&STANDARD.encode(bytes)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| STANDARD.decode(text).map_err(serde::de::Error::custom))
            .transpose()
    }
}
