//! Unread counts from a room's message sequence, not message by message (issue #30 item 3).
//!
//! Every message gets `seq`, its place in its room: 1, 2, 3, ... with no gaps, assigned when
//! it is written, in the same transaction that moves the room's counter in `room_seqs`
//! (`last_seq`, the room's newest seq; no row until its first message). A member whose read
//! marker is the message of seq `s` then has
//!
//! ```text
//! unread = last_seq - s                                   (messages after the marker)
//!        - deleted messages after s                       (idx_messages_room_deleted_seq)
//!        - their own undeleted messages after s           (idx_messages_sender_room_seq)
//! ```
//!
//! Neither subtracted term reads the unread messages: the first reads only deleted ones (a
//! partial index that holds nothing else), the second only the member's own, which are few
//! after their marker since every send moves the sender's marker to it. So no stored count
//! changes when a marker moves or a message is deleted or restored; only a send writes the
//! counter, and only hard deletes (a whole room, which takes its counter with it) could leave
//! a gap.
//!
//! Existing messages are numbered per room in (created_at, id) order, the order unread counts
//! used so far. `(room_id, seq)` is unique: two writes given one number fail instead of
//! miscounting. The index on the sender becomes (sender_id, room_id, seq), as many index
//! entries per message as before.
//!
//! Expand only: a process of the previous release, still serving beside this one during a
//! rolling upgrade (docs/deploy.md), writes messages without a number. `seq` defaults to 0 and
//! a trigger numbers such a row (and moves the room's counter) as it is written; this
//! release always writes the number itself, so the trigger never fires for it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

use crate::m20261126_000006_create_rooms::Rooms;
use crate::util::fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RoomSeqs {
    Table,
    RoomId,
    LastSeq,
}

const NUMBER: &str = "UPDATE messages SET seq = s.n FROM (SELECT id, ROW_NUMBER() OVER \
     (PARTITION BY room_id ORDER BY created_at, id) AS n FROM messages) AS s \
     WHERE messages.id = s.id";
const COUNTERS: &str = "INSERT INTO room_seqs (room_id, last_seq) \
     SELECT room_id, MAX(seq) FROM messages GROUP BY room_id";
/// Numbers a message written without one (see the module's documentation). PostgreSQL: before
/// the row is written, with the counter's row locked until the writer commits.
const NUMBER_UNNUMBERED_POSTGRES: [&str; 2] = [
    "CREATE FUNCTION messages_number() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
     INSERT INTO room_seqs (room_id, last_seq) VALUES (NEW.room_id, 1) \
     ON CONFLICT (room_id) DO UPDATE SET last_seq = room_seqs.last_seq + 1 \
     RETURNING last_seq INTO NEW.seq; RETURN NEW; END $$",
    "CREATE TRIGGER messages_number BEFORE INSERT ON messages FOR EACH ROW \
     WHEN (NEW.seq = 0) EXECUTE FUNCTION messages_number()",
];
/// SQLite: right after the row is written (its 0 is unique until the next such row, which
/// comes after this trigger has run), in the writer's transaction.
const NUMBER_UNNUMBERED_SQLITE: &str = "CREATE TRIGGER messages_number AFTER INSERT ON messages \
     WHEN NEW.seq = 0 BEGIN \
     INSERT INTO room_seqs (room_id, last_seq) VALUES (NEW.room_id, 1) \
     ON CONFLICT (room_id) DO UPDATE SET last_seq = last_seq + 1; \
     UPDATE messages SET seq = (SELECT last_seq FROM room_seqs WHERE room_id = NEW.room_id) \
     WHERE id = NEW.id; END";
const INDEXES: [&str; 3] = [
    "CREATE UNIQUE INDEX idx_messages_room_seq ON messages (room_id, seq)",
    "CREATE INDEX idx_messages_room_deleted_seq ON messages (room_id, seq) \
     WHERE deleted_at IS NOT NULL",
    "CREATE INDEX idx_messages_sender_room_seq ON messages (sender_id, room_id, seq)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("ALTER TABLE messages ADD COLUMN seq bigint NOT NULL DEFAULT 0")
            .await?;
        db.execute_unprepared(NUMBER).await?;
        for index in INDEXES {
            db.execute_unprepared(index).await?;
        }
        db.execute_unprepared("DROP INDEX idx_messages_sender")
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RoomSeqs::Table)
                    .col(pk_uuid(RoomSeqs::RoomId))
                    .col(big_integer(RoomSeqs::LastSeq))
                    .foreign_key(&mut fk(
                        RoomSeqs::Table,
                        RoomSeqs::RoomId,
                        Rooms::Table,
                        Rooms::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        db.execute_unprepared(COUNTERS).await?;
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            for statement in NUMBER_UNNUMBERED_POSTGRES {
                db.execute_unprepared(statement).await?;
            }
        } else {
            db.execute_unprepared(NUMBER_UNNUMBERED_SQLITE).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            if manager.get_database_backend() == DatabaseBackend::Postgres {
                "DROP TRIGGER messages_number ON messages; DROP FUNCTION messages_number()"
            } else {
                "DROP TRIGGER messages_number"
            },
        )
        .await?;
        manager
            .drop_table(Table::drop().table(RoomSeqs::Table).to_owned())
            .await?;
        db.execute_unprepared("CREATE INDEX idx_messages_sender ON messages (sender_id)")
            .await?;
        for index in [
            "idx_messages_sender_room_seq",
            "idx_messages_room_deleted_seq",
            "idx_messages_room_seq",
        ] {
            db.execute_unprepared(&format!("DROP INDEX {index}"))
                .await?;
        }
        db.execute_unprepared("ALTER TABLE messages DROP COLUMN seq")
            .await?;
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
