//! `messages.reacted`: true once a message has had a reaction, never cleared. A list of
//! messages asks for the reactions of those that have it only: most messages never get one
//! (in the benchmark data one in six has), and each message asked about costs PostgreSQL a
//! probe of the reactions' primary key, 400 of them for the nested benchmark's 20 rooms of 20
//! messages. A reaction sets it before it is written, so a message with a reaction row always
//! has it; one whose reactions were all taken back keeps it and is asked about as before.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Messages {
    Table,
    Reacted,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Messages::Table)
                    .add_column(
                        ColumnDef::new(Messages::Reacted)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE messages SET reacted = TRUE \
                 WHERE id IN (SELECT message_id FROM message_reactions)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Messages::Table)
                    .drop_column(Messages::Reacted)
                    .to_owned(),
            )
            .await
    }
}
