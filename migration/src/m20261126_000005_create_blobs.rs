//! Blobs: content-addressed files (id = sha256 hex of the bytes); the bytes live in a blob store.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000001_create_users::Users;
use crate::util::{check, fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Blobs {
    Table,
    Id,
    Size,
    MimeType,
    UploaderId,
    CreatedAt,
}

const AVATAR_FK: &str = "fk_users_avatar_blob_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Blobs::Table)
                    .col(string_len(Blobs::Id, 64).primary_key())
                    .col(big_integer(Blobs::Size))
                    .col(string_len(Blobs::MimeType, 127))
                    .col(uuid_null(Blobs::UploaderId))
                    .col(timestamp_with_time_zone(Blobs::CreatedAt))
                    .check(check("size", "size >= 0"))
                    .check(check("sha256_id", "length(id) = 64"))
                    .foreign_key(&mut fk(
                        Blobs::Table,
                        Blobs::UploaderId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(Blobs::Table, "uploader", &["uploader_id"]))
            .await?;
        if manager.get_database_backend() != sea_orm::DatabaseBackend::Sqlite {
            // See the users migration: PostgreSQL gets the avatar key once blobs exists.
            manager
                .create_foreign_key(
                    ForeignKey::create()
                        .name(AVATAR_FK)
                        .from(Users::Table, Users::AvatarBlobId)
                        .to(Blobs::Table, Blobs::Id)
                        .on_delete(ForeignKeyAction::SetNull)
                        .on_update(ForeignKeyAction::Cascade)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DatabaseBackend::Sqlite {
            manager
                .drop_foreign_key(
                    ForeignKey::drop()
                        .name(AVATAR_FK)
                        .table(Users::Table)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(Blobs::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
