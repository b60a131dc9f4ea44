//! Users: accounts with a lowercase unique username, argon2id hash, role and chosen status.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000005_create_blobs::Blobs;
use crate::util::{check, fk, one_of};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Users {
    Table,
    Id,
    Username,
    Email,
    DisplayName,
    PasswordHash,
    Role,
    Status,
    LastSeenAt,
    EmailVerifiedAt,
    TotpSecret,
    TotpEnabledAt,
    AvatarBlobId,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(Users::Table)
            .col(pk_uuid(Users::Id))
            .col(string_len_uniq(Users::Username, 32))
            .col(string_len_uniq(Users::Email, 254))
            .col(string_len(Users::DisplayName, 64))
            .col(text(Users::PasswordHash))
            .col(string_len(Users::Role, 16).default("user"))
            .col(string_len(Users::Status, 16).default("offline"))
            .col(timestamp_with_time_zone_null(Users::LastSeenAt))
            .col(timestamp_with_time_zone_null(Users::EmailVerifiedAt))
            .col(text_null(Users::TotpSecret))
            .col(timestamp_with_time_zone_null(Users::TotpEnabledAt))
            .col(string_len_null(Users::AvatarBlobId, 64))
            .col(timestamp_with_time_zone(Users::CreatedAt))
            .col(timestamp_with_time_zone(Users::UpdatedAt))
            .col(timestamp_with_time_zone_null(Users::DeletedAt))
            .check(one_of("role", &["user", "admin"]))
            .check(one_of("status", &["online", "away", "offline"]))
            .check(check(
                "username_shape",
                "username = lower(username) AND length(username) BETWEEN 3 AND 32",
            ))
            .check(check("email_lower", "email = lower(email)"));
        // users.avatar_blob_id and blobs.uploader_id point at each other. SQLite accepts a
        // foreign key to a table created later but cannot add one afterwards; PostgreSQL is the
        // other way round, so there the blobs migration adds this key.
        if manager.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
            table.foreign_key(&mut fk(
                Users::Table,
                Users::AvatarBlobId,
                Blobs::Table,
                Blobs::Id,
                ForeignKeyAction::SetNull,
            ));
        }
        manager.create_table(table).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Users::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
