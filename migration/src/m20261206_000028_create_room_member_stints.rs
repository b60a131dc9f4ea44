//! Membership history: one row per stint of a user in a room (joined, and left once they
//! leave), written in the same transaction as the `room_members` change it records. A member
//! row keeps only the latest stint (rejoining overwrites its `joined_at` and clears `left_at`);
//! these rows keep every one. At most one stint per member is open (`left_at` null).
//!
//! Existing memberships become one stint each (their current `joined_at` and `left_at`): what
//! was overwritten before this migration is not known.

use sea_orm_migration::sea_orm::DatabaseBackend;
use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000001_create_users::Users;
use crate::m20261126_000006_create_rooms::Rooms;
use crate::util::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RoomMemberStints {
    Table,
    Id,
    RoomId,
    UserId,
    JoinedAt,
    LeftAt,
}

/// Ids for the backfilled stints: PostgreSQL from the member's key, SQLite random (both store
/// a UUID as Confab reads it: `uuid` on PostgreSQL, 16 bytes on SQLite).
const BACKFILL_POSTGRES: &str = "INSERT INTO room_member_stints (id, room_id, user_id, joined_at, left_at) \
     SELECT md5(room_id::text || ':' || user_id::text)::uuid, room_id, user_id, joined_at, left_at \
     FROM room_members";
const BACKFILL_SQLITE: &str = "INSERT INTO room_member_stints (id, room_id, user_id, joined_at, left_at) \
     SELECT randomblob(16), room_id, user_id, joined_at, left_at FROM room_members";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RoomMemberStints::Table)
                    .col(pk_uuid(RoomMemberStints::Id))
                    .col(uuid(RoomMemberStints::RoomId))
                    .col(uuid(RoomMemberStints::UserId))
                    .col(timestamp_with_time_zone(RoomMemberStints::JoinedAt))
                    .col(timestamp_with_time_zone_null(RoomMemberStints::LeftAt))
                    .foreign_key(&mut fk(
                        RoomMemberStints::Table,
                        RoomMemberStints::RoomId,
                        Rooms::Table,
                        Rooms::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        RoomMemberStints::Table,
                        RoomMemberStints::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        // `Room.memberHistory` pages a room's stints on (joined_at, id).
        manager
            .create_index(index(
                RoomMemberStints::Table,
                "room_joined",
                &["room_id", "joined_at", "id"],
            ))
            .await?;
        // One open stint per member: the one a leave closes.
        manager
            .create_index(
                index(RoomMemberStints::Table, "open", &["room_id", "user_id"])
                    .unique()
                    .and_where(Expr::col(RoomMemberStints::LeftAt).is_null())
                    .to_owned(),
            )
            .await?;
        let backfill = match manager.get_database_backend() {
            DatabaseBackend::Postgres => BACKFILL_POSTGRES,
            _ => BACKFILL_SQLITE,
        };
        manager
            .get_connection()
            .execute_unprepared(backfill)
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RoomMemberStints::Table).to_owned())
            .await
    }
}
