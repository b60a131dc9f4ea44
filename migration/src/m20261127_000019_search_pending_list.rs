//! Bounds the search index's pending list on PostgreSQL. A GIN index with `fastupdate` (the
//! default) appends new entries to a pending list and merges the list into the index when it
//! exceeds `gin_pending_list_limit` (4 MB by default), inside whichever INSERT crossed the
//! limit. Sends reach the database through one writer (group commit), so at ~5,000 sends/s
//! every send waited behind a 60-100 ms merge every ~4 s. With a 256 kB list each merge is a
//! sixteenth of that, and sends measured no slower (docs/performance.md). On SQLite (FTS5,
//! kept by triggers) nothing changes.

use sea_orm_migration::prelude::*;

use crate::util::postgres_only;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        postgres_only(
            manager,
            "ALTER INDEX idx_messages_search SET (gin_pending_list_limit = 256)",
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        postgres_only(
            manager,
            "ALTER INDEX idx_messages_search RESET (gin_pending_list_limit)",
        )
        .await
    }
}
