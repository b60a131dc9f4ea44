//! Lets PostgreSQL move a read marker without touching an index. Every send moves its
//! sender's read marker (`room_members.last_read_message_id`), so the marker is the most
//! updated column in the database. It was indexed (migration 17), for its foreign key's
//! `ON DELETE SET NULL`, and an UPDATE of an indexed column is never HOT: each one wrote a new
//! entry into every index of room_members and checked the key. Benchmark data after one send
//! run: room_members 14 MB and its marker index 27 MB for 5,000 rows.
//!
//! Here on PostgreSQL the marker loses its foreign key and its index, and room_members keeps
//! 30% of each page free (fillfactor 70) for new row versions. Marker moves become HOT: one
//! new row version on the same page, no index entry, no key check. Quick wrk runs, one binary,
//! alternating old and new schema on new benchmark databases: 7,110-7,494 sends/s before,
//! 7,784-8,523 after; PostgreSQL's CPU per send 0.108-0.112 ms before, 0.090-0.098 after.
//!
//! What the key did: Confab never deletes a message row (deletion is soft, rooms and accounts
//! too), and every reader of the marker treats a marker without its message like no marker.
//! Whatever deletes message rows by hand clears the markers itself (`confab seed --bench`
//! does). SQLite keeps the key and index: it has no HOT updates to gain.

use sea_orm_migration::prelude::*;

use crate::util::postgres_only;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        postgres_only(
            manager,
            "ALTER TABLE room_members DROP CONSTRAINT fk_room_members_last_read_message_id; \
             DROP INDEX idx_room_members_last_read; \
             ALTER TABLE room_members SET (fillfactor = 70)",
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        postgres_only(
            manager,
            "ALTER TABLE room_members RESET (fillfactor); \
             UPDATE room_members SET last_read_message_id = NULL \
               WHERE last_read_message_id IS NOT NULL AND NOT EXISTS \
               (SELECT 1 FROM messages m WHERE m.id = room_members.last_read_message_id); \
             CREATE INDEX idx_room_members_last_read ON room_members (last_read_message_id); \
             ALTER TABLE room_members ADD CONSTRAINT fk_room_members_last_read_message_id \
               FOREIGN KEY (last_read_message_id) REFERENCES messages (id) \
               ON UPDATE CASCADE ON DELETE SET NULL",
        )
        .await
    }
}
