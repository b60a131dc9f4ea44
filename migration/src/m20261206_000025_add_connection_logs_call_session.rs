//! `connection_logs.call_session_id`: the call session a connection event was logged from, so
//! a call's history can show how each participant's connection went (`Call.connectionEvents`).
//! Null for events logged outside a call (and for every event logged before this change); a
//! session that is deleted (with its call or room) leaves its events behind, unnamed, for the
//! statistics, as a deleted room does.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ConnectionLogs {
    Table,
    CallSessionId,
}

/// The foreign key, written into the column definition: SQLite cannot add a constraint to an
/// existing table except with a new column, and this form reads the same on PostgreSQL.
const REFERENCES: &str = "CONSTRAINT fk_connection_logs_call_session_id \
     REFERENCES call_sessions (id) ON DELETE SET NULL ON UPDATE CASCADE";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ConnectionLogs::Table)
                    .add_column(uuid_null(ConnectionLogs::CallSessionId).extra(REFERENCES))
                    .to_owned(),
            )
            .await?;
        // A call's events: those of its sessions, in time order.
        manager
            .create_index(index(
                ConnectionLogs::Table,
                "call_session_created",
                &["call_session_id", "created_at"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_connection_logs_call_session_created")
                    .table(ConnectionLogs::Table)
                    .to_owned(),
            )
            .await?;
        // The foreign key goes with the column, on both backends.
        manager
            .alter_table(
                Table::alter()
                    .table(ConnectionLogs::Table)
                    .drop_column(ConnectionLogs::CallSessionId)
                    .to_owned(),
            )
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
