//! Room members: role, soft leave (`left_at`, cleared on rejoin) and the per-member delivery and
//! read markers that make receipts and unread counts grow with members, not messages.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000001_create_users::Users;
use crate::m20261126_000006_create_rooms::Rooms;
use crate::m20261126_000007_create_messages::Messages;
use crate::util::{fk, index, one_of};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RoomMembers {
    Table,
    RoomId,
    UserId,
    Role,
    JoinedAt,
    LeftAt,
    LastDeliveredMessageId,
    LastReadMessageId,
    MutedUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RoomMembers::Table)
                    .col(uuid(RoomMembers::RoomId))
                    .col(uuid(RoomMembers::UserId))
                    .col(string_len(RoomMembers::Role, 16).default("member"))
                    .col(timestamp_with_time_zone(RoomMembers::JoinedAt))
                    .col(timestamp_with_time_zone_null(RoomMembers::LeftAt))
                    .col(uuid_null(RoomMembers::LastDeliveredMessageId))
                    .col(uuid_null(RoomMembers::LastReadMessageId))
                    .col(timestamp_with_time_zone_null(RoomMembers::MutedUntil))
                    .primary_key(
                        Index::create()
                            .col(RoomMembers::RoomId)
                            .col(RoomMembers::UserId),
                    )
                    .check(one_of("role", &["owner", "admin", "member"]))
                    .foreign_key(&mut fk(
                        RoomMembers::Table,
                        RoomMembers::RoomId,
                        Rooms::Table,
                        Rooms::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        RoomMembers::Table,
                        RoomMembers::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        RoomMembers::Table,
                        RoomMembers::LastDeliveredMessageId,
                        Messages::Table,
                        Messages::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        RoomMembers::Table,
                        RoomMembers::LastReadMessageId,
                        Messages::Table,
                        Messages::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(RoomMembers::Table, "user", &["user_id", "room_id"]))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RoomMembers::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
