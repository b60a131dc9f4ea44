//! Message reactions: one row per (message, user, emoji).

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000001_create_users::Users;
use crate::m20261126_000007_create_messages::Messages;
use crate::util::{check, fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MessageReactions {
    Table,
    MessageId,
    UserId,
    Emoji,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MessageReactions::Table)
                    .col(uuid(MessageReactions::MessageId))
                    .col(uuid(MessageReactions::UserId))
                    .col(string_len(MessageReactions::Emoji, 64))
                    .col(timestamp_with_time_zone(MessageReactions::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(MessageReactions::MessageId)
                            .col(MessageReactions::UserId)
                            .col(MessageReactions::Emoji),
                    )
                    .check(check("emoji_len", "length(emoji) BETWEEN 1 AND 64"))
                    .foreign_key(&mut fk(
                        MessageReactions::Table,
                        MessageReactions::MessageId,
                        Messages::Table,
                        Messages::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        MessageReactions::Table,
                        MessageReactions::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(MessageReactions::Table, "user", &["user_id"]))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MessageReactions::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
