//! MLS key packages: published in bulk, each claimed once (oldest unexpired first).

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000001_create_users::Users;
use crate::util::{check, fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum KeyPackages {
    Table,
    Id,
    OwnerId,
    CipherSuite,
    KeyData,
    KeyHash,
    CreatedAt,
    ExpiresAt,
    ConsumedAt,
    ConsumedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(KeyPackages::Table)
                    .col(pk_uuid(KeyPackages::Id))
                    .col(uuid(KeyPackages::OwnerId))
                    .col(integer(KeyPackages::CipherSuite))
                    .col(blob(KeyPackages::KeyData))
                    .col(string_len(KeyPackages::KeyHash, 64))
                    .col(timestamp_with_time_zone(KeyPackages::CreatedAt))
                    .col(timestamp_with_time_zone(KeyPackages::ExpiresAt))
                    .col(timestamp_with_time_zone_null(KeyPackages::ConsumedAt))
                    .col(uuid_null(KeyPackages::ConsumedBy))
                    .check(check("cipher_suite", "cipher_suite BETWEEN 0 AND 65535"))
                    .check(check(
                        "consumed_pair",
                        "(consumed_at IS NULL) = (consumed_by IS NULL)",
                    ))
                    .foreign_key(&mut fk(
                        KeyPackages::Table,
                        KeyPackages::OwnerId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        KeyPackages::Table,
                        KeyPackages::ConsumedBy,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    KeyPackages::Table,
                    "owner_suite_hash",
                    &["owner_id", "cipher_suite", "key_hash"],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    KeyPackages::Table,
                    "claimable",
                    &["owner_id", "cipher_suite", "created_at"],
                )
                .and_where(Expr::col(KeyPackages::ConsumedAt).is_null())
                .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(KeyPackages::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
