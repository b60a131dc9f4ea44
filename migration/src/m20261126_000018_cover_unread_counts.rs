//! Makes the index messages are paged and counted by cover unread counts: (room, time, id)
//! plus the sender and the deletion time, which an unread count tests for every message after
//! a member's read marker. Counting then reads only the index, not each message's row (on
//! SQLite a table lookup per counted message was most of the cost of the counts pushed to
//! connected members after each send). It replaces the narrower index, so a send writes no
//! more index entries than before.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const NARROW: (&str, &str) = ("idx_messages_room_created", "room_id, created_at, id");
const COVERING: (&str, &str) = (
    "idx_messages_room_timeline",
    "room_id, created_at, id, sender_id, deleted_at",
);

/// Creates `new`, then drops `old`. Plain SQL that reads the same on SQLite and PostgreSQL (the
/// builder's `DROP INDEX ... ON` is not SQLite's syntax).
async fn replace(
    manager: &SchemaManager<'_>,
    old: (&str, &str),
    new: (&str, &str),
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let ((old, _), (new, columns)) = (old, new);
    db.execute_unprepared(&format!("CREATE INDEX {new} ON messages ({columns})"))
        .await?;
    db.execute_unprepared(&format!("DROP INDEX {old}")).await?;
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        replace(manager, NARROW, COVERING).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        replace(manager, COVERING, NARROW).await
    }
}
