//! `blob_uploads.filename` and `blob_uploads.room_id`: what each uploader called a file
//! (sanitised: no path, no control characters, bounded) and the conversation an upload was
//! made for. Both belong to the upload, not the blob: the same bytes uploaded by two people
//! are one blob with two names and possibly two rooms. Members of an upload's room may read
//! it while they belong (`Room.blobs`); a room that is deleted leaves the upload unnamed.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum BlobUploads {
    Table,
    Filename,
    RoomId,
}

/// The foreign key, written into the column definition: SQLite cannot add a constraint to an
/// existing table except with a new column, and this form reads the same on PostgreSQL.
const REFERENCES: &str = "CONSTRAINT fk_blob_uploads_room_id \
     REFERENCES rooms (id) ON DELETE SET NULL ON UPDATE CASCADE";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(BlobUploads::Table)
                    .add_column(string_len_null(BlobUploads::Filename, 255))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(BlobUploads::Table)
                    .add_column(uuid_null(BlobUploads::RoomId).extra(REFERENCES))
                    .to_owned(),
            )
            .await?;
        // `Room.blobs` and `myUploads`: newest first, by keyset.
        manager
            .create_index(index(
                BlobUploads::Table,
                "room_created",
                &["room_id", "created_at", "blob_id"],
            ))
            .await?;
        manager
            .create_index(index(
                BlobUploads::Table,
                "user_created",
                &["user_id", "created_at", "blob_id"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [
            "idx_blob_uploads_user_created",
            "idx_blob_uploads_room_created",
        ] {
            manager
                .drop_index(
                    Index::drop()
                        .name(name)
                        .table(BlobUploads::Table)
                        .to_owned(),
                )
                .await?;
        }
        // The foreign key goes with the column, on both backends.
        for column in [BlobUploads::RoomId, BlobUploads::Filename] {
            manager
                .alter_table(
                    Table::alter()
                        .table(BlobUploads::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
