//! Verification tokens: single-use, expiring, stored as a sha256 like session tokens.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000001_create_users::Users;
use crate::util::{fk, index, one_of};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum VerificationTokens {
    Table,
    Id,
    UserId,
    Purpose,
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
                    .table(VerificationTokens::Table)
                    .col(pk_uuid(VerificationTokens::Id))
                    .col(uuid(VerificationTokens::UserId))
                    .col(string_len(VerificationTokens::Purpose, 32))
                    .col(string_len_uniq(VerificationTokens::TokenHash, 64))
                    .col(timestamp_with_time_zone(VerificationTokens::CreatedAt))
                    .col(timestamp_with_time_zone(VerificationTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(VerificationTokens::UsedAt))
                    .check(one_of("purpose", &["verify_email", "reset_password"]))
                    .foreign_key(&mut fk(
                        VerificationTokens::Table,
                        VerificationTokens::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                VerificationTokens::Table,
                "user",
                &["user_id", "purpose"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(VerificationTokens::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
