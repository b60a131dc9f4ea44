//! Contacts: one row per direction of a pair, both written in one transaction by the service.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000001_create_users::Users;
use crate::util::{check, fk, index, one_of};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Contacts {
    Table,
    UserId,
    ContactId,
    Status,
    RequestedBy,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Contacts::Table)
                    .col(uuid(Contacts::UserId))
                    .col(uuid(Contacts::ContactId))
                    .col(string_len(Contacts::Status, 16))
                    .col(uuid(Contacts::RequestedBy))
                    .col(timestamp_with_time_zone(Contacts::CreatedAt))
                    .col(timestamp_with_time_zone(Contacts::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(Contacts::UserId)
                            .col(Contacts::ContactId),
                    )
                    .check(one_of("status", &["pending", "accepted", "blocked"]))
                    .check(check("no_self_contact", "user_id <> contact_id"))
                    .foreign_key(&mut fk(
                        Contacts::Table,
                        Contacts::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        Contacts::Table,
                        Contacts::ContactId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        Contacts::Table,
                        Contacts::RequestedBy,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(Contacts::Table, "contact", &["contact_id"]))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Contacts::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
