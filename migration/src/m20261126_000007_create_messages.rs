//! Messages: text and system messages with a body, MLS `app`/`commit` messages with ciphertext;
//! replies, edits and soft deletes. Keyset pagination runs on (room_id, created_at, id).

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000001_create_users::Users;
use crate::m20261126_000006_create_rooms::Rooms;
use crate::util::{check, fk, index, one_of};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Messages {
    Table,
    Id,
    RoomId,
    SenderId,
    Kind,
    Body,
    Ciphertext,
    Epoch,
    ReplyToId,
    Metadata,
    CreatedAt,
    EditedAt,
    DeletedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Messages::Table)
                    .col(pk_uuid(Messages::Id))
                    .col(uuid(Messages::RoomId))
                    .col(uuid_null(Messages::SenderId))
                    .col(string_len(Messages::Kind, 16))
                    .col(text_null(Messages::Body))
                    .col(blob_null(Messages::Ciphertext))
                    .col(big_integer_null(Messages::Epoch))
                    .col(uuid_null(Messages::ReplyToId))
                    .col(json_binary_null(Messages::Metadata))
                    .col(timestamp_with_time_zone(Messages::CreatedAt))
                    .col(timestamp_with_time_zone_null(Messages::EditedAt))
                    .col(timestamp_with_time_zone_null(Messages::DeletedAt))
                    .check(one_of("kind", &["text", "system", "app", "commit"]))
                    .check(check("body_len", "body IS NULL OR length(body) <= 10000"))
                    .check(check(
                        "ciphertext_kind",
                        "kind IN ('text', 'system') OR (body IS NULL AND epoch IS NOT NULL AND (ciphertext IS NOT NULL OR deleted_at IS NOT NULL))",
                    ))
                    .check(check(
                        "text_body",
                        "kind <> 'text' OR body IS NOT NULL OR deleted_at IS NOT NULL",
                    ))
                    .foreign_key(&mut fk(
                        Messages::Table,
                        Messages::RoomId,
                        Rooms::Table,
                        Rooms::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        Messages::Table,
                        Messages::SenderId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        Messages::Table,
                        Messages::ReplyToId,
                        Messages::Table,
                        Messages::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        for stmt in [
            index(
                Messages::Table,
                "room_created",
                &["room_id", "created_at", "id"],
            ),
            index(Messages::Table, "sender", &["sender_id"]),
            index(Messages::Table, "reply_to", &["reply_to_id"]),
        ] {
            manager.create_index(stmt).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Messages::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
