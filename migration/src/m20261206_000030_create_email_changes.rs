//! Pending changes of address: `changeEmail` stores the new address with a single-use,
//! expiring token (a sha256, like session tokens) mailed to that address; the account's
//! address changes only when `confirmEmailChange` presents the token.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000001_create_users::Users;
use crate::util::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum EmailChanges {
    Table,
    Id,
    UserId,
    NewEmail,
    TokenHash,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EmailChanges::Table)
                    .col(pk_uuid(EmailChanges::Id))
                    .col(uuid(EmailChanges::UserId))
                    .col(string_len(EmailChanges::NewEmail, 254))
                    .col(string_len_uniq(EmailChanges::TokenHash, 64))
                    .col(timestamp_with_time_zone(EmailChanges::CreatedAt))
                    .col(timestamp_with_time_zone(EmailChanges::ExpiresAt))
                    .col(timestamp_with_time_zone_null(EmailChanges::UsedAt))
                    .foreign_key(&mut fk(
                        EmailChanges::Table,
                        EmailChanges::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(EmailChanges::Table, "user", &["user_id"]))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EmailChanges::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
