//! Server administration: `users.banned_at` / `banned_until` / `ban_reason` (a user is banned
//! while `banned_at` is set and `banned_until` is null, a permanent ban, or still in the
//! future: a ban ends by itself, nothing has to run) and `audit_events`, one row
//! per administrator action or security event (a failed sign-in, a password or two-factor
//! change, a revoked session, a ban, a role change), written in the transaction of the change
//! where there is one.
//!
//! Audit rows name users without a foreign key: they outlive the accounts they mention and
//! are purged only by age (`--audit-retention-days`).

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    BannedAt,
    BannedUntil,
    BanReason,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    Kind,
    ActorUserId,
    TargetUserId,
    Details,
    Ip,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        for column in [
            timestamp_with_time_zone_null(Users::BannedAt),
            timestamp_with_time_zone_null(Users::BannedUntil),
            string_len_null(Users::BanReason, 500),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(pk_uuid(AuditEvents::Id))
                    .col(string_len(AuditEvents::Kind, 64))
                    .col(uuid_null(AuditEvents::ActorUserId))
                    .col(uuid_null(AuditEvents::TargetUserId))
                    .col(text(AuditEvents::Details))
                    .col(string_len_null(AuditEvents::Ip, 64))
                    .col(timestamp_with_time_zone(AuditEvents::CreatedAt))
                    .to_owned(),
            )
            .await?;
        // `auditLog(userId:)` and `mySecurityEvents`: one user's events, newest first.
        manager
            .create_index(index(
                AuditEvents::Table,
                "target_created",
                &["target_user_id", "created_at"],
            ))
            .await?;
        // `auditLog(kind:)`, and the retention purge by age.
        manager
            .create_index(index(
                AuditEvents::Table,
                "kind_created",
                &["kind", "created_at"],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditEvents::Table).to_owned())
            .await?;
        for column in [Users::BanReason, Users::BannedUntil, Users::BannedAt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
