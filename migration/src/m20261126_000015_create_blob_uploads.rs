//! Blob uploads: who uploaded which content. Blobs are stored once however many users upload
//! the same bytes; each uploader gets a row here, which grants them the blob and counts it
//! toward their storage.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000001_create_users::Users;
use crate::m20261126_000005_create_blobs::Blobs;
use crate::util::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum BlobUploads {
    Table,
    BlobId,
    UserId,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(BlobUploads::Table)
                    .col(string_len(BlobUploads::BlobId, 64))
                    .col(uuid(BlobUploads::UserId))
                    .col(timestamp_with_time_zone(BlobUploads::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(BlobUploads::BlobId)
                            .col(BlobUploads::UserId),
                    )
                    .foreign_key(&mut fk(
                        BlobUploads::Table,
                        BlobUploads::BlobId,
                        Blobs::Table,
                        Blobs::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        BlobUploads::Table,
                        BlobUploads::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(BlobUploads::Table, "user", &["user_id"]))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(BlobUploads::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
