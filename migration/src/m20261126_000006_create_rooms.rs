//! Rooms: direct (created once per pair through `direct_key`) or group (named), with an
//! optional unique join code, a member cap and the MLS epoch.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000001_create_users::Users;
use crate::util::{check, fk, index, one_of};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Rooms {
    Table,
    Id,
    Kind,
    Name,
    Topic,
    JoinCode,
    MaxMembers,
    CreatedBy,
    Epoch,
    DirectKey,
    ArchivedAt,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Rooms::Table)
                    .col(pk_uuid(Rooms::Id))
                    .col(string_len(Rooms::Kind, 16))
                    .col(string_len_null(Rooms::Name, 100))
                    .col(text_null(Rooms::Topic))
                    .col(string_len_null(Rooms::JoinCode, 6).unique_key())
                    .col(integer_null(Rooms::MaxMembers))
                    .col(uuid(Rooms::CreatedBy))
                    .col(big_integer(Rooms::Epoch).default(0))
                    .col(string_len_null(Rooms::DirectKey, 73).unique_key())
                    .col(timestamp_with_time_zone_null(Rooms::ArchivedAt))
                    .col(timestamp_with_time_zone(Rooms::CreatedAt))
                    .col(timestamp_with_time_zone(Rooms::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Rooms::DeletedAt))
                    .check(one_of("kind", &["direct", "group"]))
                    .check(check("group_named", "kind <> 'group' OR name IS NOT NULL"))
                    .check(check(
                        "direct_keyed",
                        "(kind = 'direct' AND direct_key IS NOT NULL) OR (kind = 'group' AND direct_key IS NULL)",
                    ))
                    .check(check("join_code_len", "join_code IS NULL OR length(join_code) = 6"))
                    .check(check("max_members", "max_members IS NULL OR max_members > 0"))
                    .check(check("epoch", "epoch >= 0"))
                    .foreign_key(&mut fk(
                        Rooms::Table,
                        Rooms::CreatedBy,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(Rooms::Table, "created", &["created_at", "id"]))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Rooms::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
