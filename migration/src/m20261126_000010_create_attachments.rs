//! Attachments: a message's reference to a blob, with the client's filename and metadata.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000005_create_blobs::Blobs;
use crate::m20261126_000007_create_messages::Messages;
use crate::util::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Attachments {
    Table,
    Id,
    MessageId,
    BlobId,
    Filename,
    Metadata,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Attachments::Table)
                    .col(pk_uuid(Attachments::Id))
                    .col(uuid(Attachments::MessageId))
                    .col(string_len(Attachments::BlobId, 64))
                    .col(string_len_null(Attachments::Filename, 255))
                    .col(json_binary_null(Attachments::Metadata))
                    .col(timestamp_with_time_zone(Attachments::CreatedAt))
                    .foreign_key(&mut fk(
                        Attachments::Table,
                        Attachments::MessageId,
                        Messages::Table,
                        Messages::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        Attachments::Table,
                        Attachments::BlobId,
                        Blobs::Table,
                        Blobs::Id,
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
        for stmt in [
            index(Attachments::Table, "message", &["message_id"]),
            index(Attachments::Table, "blob", &["blob_id"]),
        ] {
            manager.create_index(stmt).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Attachments::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
