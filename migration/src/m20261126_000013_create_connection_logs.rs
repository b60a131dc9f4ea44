//! Connection logs: voice/video connection events with JSON quality metrics, kept for a
//! retention window and summarised by `connectionStats`.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000001_create_users::Users;
use crate::m20261126_000006_create_rooms::Rooms;
use crate::util::{fk, index, one_of};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ConnectionLogs {
    Table,
    Id,
    UserId,
    RoomId,
    Event,
    Metrics,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ConnectionLogs::Table)
                    .col(pk_uuid(ConnectionLogs::Id))
                    .col(uuid(ConnectionLogs::UserId))
                    .col(uuid_null(ConnectionLogs::RoomId))
                    .col(string_len(ConnectionLogs::Event, 16))
                    .col(json_binary_null(ConnectionLogs::Metrics))
                    .col(timestamp_with_time_zone(ConnectionLogs::CreatedAt))
                    .check(one_of(
                        "event",
                        &["connected", "disconnected", "reconnected", "quality"],
                    ))
                    .foreign_key(&mut fk(
                        ConnectionLogs::Table,
                        ConnectionLogs::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        ConnectionLogs::Table,
                        ConnectionLogs::RoomId,
                        Rooms::Table,
                        Rooms::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        for stmt in [
            index(
                ConnectionLogs::Table,
                "room_created",
                &["room_id", "created_at"],
            ),
            index(
                ConnectionLogs::Table,
                "user_created",
                &["user_id", "created_at"],
            ),
            index(ConnectionLogs::Table, "created", &["created_at"]),
        ] {
            manager.create_index(stmt).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ConnectionLogs::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
