//! Notifications: per-user inbox rows; `read_at` null means unread (a partial index serves that).

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000001_create_users::Users;
use crate::util::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    UserId,
    Kind,
    Title,
    Body,
    Data,
    ReadAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .col(pk_uuid(Notifications::Id))
                    .col(uuid(Notifications::UserId))
                    .col(string_len(Notifications::Kind, 32))
                    .col(text(Notifications::Title))
                    .col(text_null(Notifications::Body))
                    .col(json_binary_null(Notifications::Data))
                    .col(timestamp_with_time_zone_null(Notifications::ReadAt))
                    .col(timestamp_with_time_zone(Notifications::CreatedAt))
                    .foreign_key(&mut fk(
                        Notifications::Table,
                        Notifications::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                Notifications::Table,
                "user_created",
                &["user_id", "created_at", "id"],
            ))
            .await?;
        manager
            .create_index(
                index(
                    Notifications::Table,
                    "user_unread",
                    &["user_id", "created_at"],
                )
                .and_where(Expr::col(Notifications::ReadAt).is_null())
                .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Notifications::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
