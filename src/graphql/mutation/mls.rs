//! MLS ciphertext and key packages; connection logs.

use async_graphql::{Context, Enum, InputObject, Object, Result};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::auth;
use crate::graphql::types::Message;
use crate::graphql::types::mls::{ConnectionEvent, KeyPackage};
use crate::graphql::{state, viewer};
use crate::service;
use crate::service::connection_log::{Metrics, Scope};
use crate::service::mls::{CipherKind, Ciphertext, NewKeyPackage};

/// The kinds of MLS message.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum CiphertextKind {
    /// An application message for the current epoch.
    App,
    /// A commit: moves the room to the next epoch.
    Commit,
}

/// An MLS message to store and fan out.
#[derive(InputObject)]
pub struct SendCiphertextInput {
    /// The room (its MLS group).
    pub room_id: Uuid,
    /// APP or COMMIT.
    pub kind: CiphertextKind,
    /// The MLS message, base64 (at most 256 KiB decoded).
    pub ciphertext: String,
    /// The room's current epoch, as the client knows it; a stale one is a CONFLICT.
    pub epoch: i64,
}

/// One key package to publish.
#[derive(InputObject)]
pub struct KeyPackageInput {
    /// The MLS cipher suite number.
    pub cipher_suite: i32,
    /// The package, base64 (at most 64 KiB decoded).
    pub key_data: String,
    /// When to stop handing it out (default: 30 days).
    pub expires_at: Option<DateTime<Utc>>,
}

/// Quality figures of a connection sample.
#[derive(InputObject)]
pub struct ConnectionMetricsInput {
    /// Round-trip time, ms (0-60,000).
    pub rtt_ms: Option<f64>,
    /// Jitter, ms (0-60,000).
    pub jitter_ms: Option<f64>,
    /// Packet loss, a fraction 0..1.
    pub packet_loss: Option<f64>,
}

/// One connection event.
#[derive(InputObject)]
pub struct ConnectionEventInput {
    /// The call's room, if any (the caller must be a member).
    pub room_id: Option<Uuid>,
    /// The caller's own call session the event comes from, if any (FORBIDDEN for somebody
    /// else's); the event is then in its call's room, which `roomId`, if given, must be. The
    /// event shows in that call's `connectionEvents`.
    pub call_session_id: Option<Uuid>,
    /// What happened.
    pub event: ConnectionEvent,
    /// Quality figures.
    pub metrics: Option<ConnectionMetricsInput>,
}

#[derive(Default)]
pub struct MlsMutation;

#[Object]
impl MlsMutation {
    /// Stores an MLS message for the room's members; a COMMIT advances the room's epoch.
    async fn send_ciphertext(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: SendCiphertextInput,
    ) -> Result<Message> {
        let viewer = auth::require(viewer(ctx))?;
        let input = Ciphertext {
            room_id: input.room_id,
            kind: match input.kind {
                CiphertextKind::App => CipherKind::App,
                CiphertextKind::Commit => CipherKind::Commit,
            },
            ciphertext: input.ciphertext,
            epoch: input.epoch,
        };
        Ok(Message::new(
            service::mls::send(state(ctx)?, viewer, input).await?,
        ))
    }

    /// Publishes the caller's key packages (1-100); ones already published are skipped.
    /// Returns how many were new.
    async fn publish_key_packages(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: Vec<KeyPackageInput>,
    ) -> Result<i32> {
        let viewer = auth::require(viewer(ctx))?;
        let packages = input
            .into_iter()
            .map(|p| NewKeyPackage {
                cipher_suite: p.cipher_suite,
                key_data: p.key_data,
                expires_at: p.expires_at.map(|at| at.fixed_offset()),
            })
            .collect();
        let stored = service::mls::publish(state(ctx)?, viewer, packages).await?;
        Ok(stored.min(i32::MAX as u64) as i32)
    }

    /// Takes `userId`'s oldest unexpired key package for the suite; each is handed out once.
    /// Null when none is left.
    async fn claim_key_package(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user.")] user_id: Uuid,
        #[graphql(desc = "The MLS cipher suite number.")] cipher_suite: i32,
    ) -> Result<Option<KeyPackage>> {
        let viewer = auth::require(viewer(ctx))?;
        let claimed = service::mls::claim(state(ctx)?, viewer, user_id, cipher_suite).await?;
        Ok(claimed.map(KeyPackage))
    }

    /// Records a connection event of the caller's voice/video client.
    async fn log_connection_event(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The event.")] input: ConnectionEventInput,
    ) -> Result<bool> {
        let viewer = auth::require(viewer(ctx))?;
        let metrics = input.metrics.map(|m| Metrics {
            rtt_ms: m.rtt_ms,
            jitter_ms: m.jitter_ms,
            packet_loss: m.packet_loss,
        });
        let scope = Scope {
            room_id: input.room_id,
            call_session_id: input.call_session_id,
        };
        service::connection_log::log(state(ctx)?, viewer, scope, input.event.as_db(), metrics)
            .await?;
        Ok(true)
    }
}
