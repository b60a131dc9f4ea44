//! Calls and their sessions: the history of voice and video calls in a room. A call row per
//! call (at most one live per room, enforced by a partial unique index), a session row per
//! join (one person on two devices is two sessions) with its media state and why it left.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000001_create_users::Users;
use crate::m20261126_000006_create_rooms::Rooms;
use crate::util::{fk, index, one_of};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Calls {
    Table,
    Id,
    RoomId,
    StartedAt,
    EndedAt,
    PeakParticipants,
}

#[derive(DeriveIden)]
enum CallSessions {
    Table,
    Id,
    CallId,
    UserId,
    JoinedAt,
    LastSeenAt,
    LeftAt,
    LeaveReason,
    Muted,
    CameraOff,
    ScreenSharing,
    HandRaised,
    Speaking,
    Connection,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Calls::Table)
                    .col(pk_uuid(Calls::Id))
                    .col(uuid(Calls::RoomId))
                    .col(timestamp_with_time_zone(Calls::StartedAt))
                    .col(timestamp_with_time_zone_null(Calls::EndedAt))
                    .col(integer(Calls::PeakParticipants).default(0))
                    .foreign_key(&mut fk(
                        Calls::Table,
                        Calls::RoomId,
                        Rooms::Table,
                        Rooms::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(Calls::Table, "live_room", &["room_id"])
                    .unique()
                    .and_where(Expr::col(Calls::EndedAt).is_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                Calls::Table,
                "room_started",
                &["room_id", "started_at"],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CallSessions::Table)
                    .col(pk_uuid(CallSessions::Id))
                    .col(uuid(CallSessions::CallId))
                    .col(uuid(CallSessions::UserId))
                    .col(timestamp_with_time_zone(CallSessions::JoinedAt))
                    .col(timestamp_with_time_zone(CallSessions::LastSeenAt))
                    .col(timestamp_with_time_zone_null(CallSessions::LeftAt))
                    .col(string_len_null(CallSessions::LeaveReason, 16))
                    .col(boolean(CallSessions::Muted).default(false))
                    .col(boolean(CallSessions::CameraOff).default(false))
                    .col(boolean(CallSessions::ScreenSharing).default(false))
                    .col(boolean(CallSessions::HandRaised).default(false))
                    .col(boolean(CallSessions::Speaking).default(false))
                    .col(string_len(CallSessions::Connection, 16).default("connecting"))
                    .check(one_of("leave_reason", &["left", "timeout", "ended"]))
                    .check(one_of(
                        "connection",
                        &["connecting", "connected", "reconnecting", "failed"],
                    ))
                    .foreign_key(&mut fk(
                        CallSessions::Table,
                        CallSessions::CallId,
                        Calls::Table,
                        Calls::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        CallSessions::Table,
                        CallSessions::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        for stmt in [
            // The participants of a call: its live sessions.
            index(CallSessions::Table, "live", &["call_id", "joined_at"])
                .and_where(Expr::col(CallSessions::LeftAt).is_null())
                .to_owned(),
            // The liveness sweep: live sessions not seen since a cut-off.
            index(CallSessions::Table, "live_seen", &["last_seen_at"])
                .and_where(Expr::col(CallSessions::LeftAt).is_null())
                .to_owned(),
            index(CallSessions::Table, "user", &["user_id"]),
        ] {
            manager.create_index(stmt).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CallSessions::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Calls::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
