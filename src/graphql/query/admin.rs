//! Administrator views.

use async_graphql::connection::Connection;
use async_graphql::{Context, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::audit_events;
use uuid::Uuid;

use super::room::RoomConnection;
use crate::auth;
use crate::graphql::types::{Room, cursor};
use crate::graphql::{state, viewer};
use crate::service;
use crate::store::page::{DEFAULT_PAGE, Key, MAX_PAGE, Slice};

/// Instance-wide figures.
#[derive(SimpleObject)]
pub struct InstanceStats {
    /// Users not deleted.
    pub users: i64,
    /// Rooms not deleted.
    pub rooms: i64,
    /// Messages not deleted.
    pub messages: i64,
    /// Stored blobs.
    pub blobs: i64,
    /// Bytes of stored blobs.
    pub storage_bytes: i64,
    /// Signed-in WebSocket connections open on this instance.
    pub active_sockets: i64,
}

/// One audit-log row: an administrator action or a security event.
#[derive(SimpleObject)]
pub struct AuditEvent {
    /// The row.
    pub id: Uuid,
    /// What happened: login_failed, password_changed, password_reset, email_changed,
    /// email_verified, totp_enabled, totp_disabled, recovery_codes_regenerated,
    /// session_revoked, user_banned, user_unbanned, role_changed, message_deleted,
    /// member_removed, room_deleted, account_deleted, oidc_login, oidc_linked.
    pub kind: String,
    /// Who acted (null: nobody signed in, e.g. a failed sign-in).
    pub actor_user_id: Option<Uuid>,
    /// Whose account it concerns (null: a failed sign-in naming no account).
    pub target_user_id: Option<Uuid>,
    /// Particulars, as JSON text (at most 2,000 characters).
    pub details: String,
    /// The client address, where known.
    pub ip: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A page of audit events, newest first.
pub type AuditEventConnection = Connection<cursor::Cursor, AuditEvent>;

fn audit_page(slice: Slice<audit_events::Model>) -> AuditEventConnection {
    cursor::connection(
        slice,
        |row| Key {
            at: row.created_at,
            id: row.id,
        },
        |row| AuditEvent {
            id: row.id,
            kind: row.kind,
            actor_user_id: row.actor_user_id,
            target_user_id: row.target_user_id,
            details: row.details,
            ip: row.ip,
            created_at: row.created_at.to_utc(),
        },
    )
}

#[derive(Default)]
pub struct AdminQuery;

#[Object]
impl AdminQuery {
    /// Instance-wide figures; administrators only.
    async fn stats(&self, ctx: &Context<'_>) -> Result<InstanceStats> {
        let viewer = auth::require(viewer(ctx))?;
        let s = service::admin::stats(state(ctx)?, viewer).await?;
        Ok(InstanceStats {
            users: s.users as i64,
            rooms: s.rooms as i64,
            messages: s.messages as i64,
            blobs: s.blobs as i64,
            storage_bytes: s.storage_bytes,
            active_sockets: s.active_sockets as i64,
        })
    }

    /// Every room on the instance, oldest first, whoever its members are: a moderation view
    /// for administrators. At most 100 a page.
    #[graphql(
        complexity = "first.unwrap_or(DEFAULT_PAGE as i32).clamp(1, MAX_PAGE as i32) as usize * child_complexity"
    )]
    async fn rooms(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many items, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Continue after this cursor.")] after: Option<String>,
    ) -> Result<RoomConnection> {
        let viewer = auth::require(viewer(ctx))?;
        let page = cursor::forward(first, after.as_deref())?;
        let slice = service::admin::rooms(state(ctx)?, viewer, page).await?;
        Ok(cursor::connection(
            slice,
            |room| Key {
                at: room.created_at,
                id: room.id,
            },
            Room,
        ))
    }

    /// The audit log, newest first: every administrator action and security event;
    /// administrators only. At most 100 a page.
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many items, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Continue after this cursor.")] after: Option<String>,
        #[graphql(desc = "Only events concerning this user.")] user_id: Option<Uuid>,
        #[graphql(desc = "Only events of this kind (see `AuditEvent.kind`).")] kind: Option<String>,
    ) -> Result<AuditEventConnection> {
        let viewer = auth::require(viewer(ctx))?;
        let page = cursor::forward(first, after.as_deref())?;
        let slice =
            service::audit::log(state(ctx)?, viewer, page, user_id, kind.as_deref()).await?;
        Ok(audit_page(slice))
    }

    /// The security events of the caller's own account (failed sign-ins, password and
    /// two-factor changes, revoked sessions, bans, role changes), newest first. At most 100
    /// a page.
    async fn my_security_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many items, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Continue after this cursor.")] after: Option<String>,
    ) -> Result<AuditEventConnection> {
        let viewer = auth::require(viewer(ctx))?;
        let page = cursor::forward(first, after.as_deref())?;
        let slice = service::audit::mine(state(ctx)?, viewer, page).await?;
        Ok(audit_page(slice))
    }
}

#[cfg(test)]
mod tests {
    /// The description of `AuditEvent.kind` names every kind `auditLog(kind:)` accepts.
    #[test]
    fn the_kind_description_lists_every_kind() {
        let sdl = crate::graphql::sdl();
        let start = sdl
            .find("type AuditEvent {")
            .expect("AuditEvent in the schema");
        let described = &sdl[start..];
        let described = &described[..described.find("kind: String!").expect("its kind field")];
        for kind in crate::service::audit::kind::ALL {
            assert!(
                described.contains(kind),
                "AuditEvent.kind does not name {kind}"
            );
        }
    }
}
