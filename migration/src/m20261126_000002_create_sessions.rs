//! Sessions: one row per signed-in device; only the sha256 of the bearer token is stored.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000001_create_users::Users;
use crate::util::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Sessions {
    Table,
    Id,
    UserId,
    TokenHash,
    UserAgent,
    Ip,
    CreatedAt,
    LastActiveAt,
    ExpiresAt,
    RevokedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(pk_uuid(Sessions::Id))
                    .col(uuid(Sessions::UserId))
                    .col(string_len_uniq(Sessions::TokenHash, 64))
                    .col(text_null(Sessions::UserAgent))
                    .col(string_len_null(Sessions::Ip, 64))
                    .col(timestamp_with_time_zone(Sessions::CreatedAt))
                    .col(timestamp_with_time_zone(Sessions::LastActiveAt))
                    .col(timestamp_with_time_zone(Sessions::ExpiresAt))
                    .col(timestamp_with_time_zone_null(Sessions::RevokedAt))
                    .foreign_key(&mut fk(
                        Sessions::Table,
                        Sessions::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(Sessions::Table, "user", &["user_id", "created_at"]))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Sessions::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
