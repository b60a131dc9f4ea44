//! Deleted messages keep their text for a retention period (moderation: an abuse report can
//! still be read after the author deleted the message); the maintenance job then erases it.
//! This partial index lets that job find the few rows it has to erase without a table scan.

use sea_orm_migration::prelude::*;

use crate::util::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Messages {
    Table,
    Body,
    DeletedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                index(Messages::Table, "retained_body", &["deleted_at"])
                    .and_where(Expr::col(Messages::DeletedAt).is_not_null())
                    .and_where(Expr::col(Messages::Body).is_not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_messages_retained_body")
                    .table(Messages::Table)
                    .to_owned(),
            )
            .await
    }
}
