//! OpenID Connect sign-in: `oidc_identities`, the accounts at a provider linked to a user
//! (one row per provider and subject, so an identity signs in exactly one user), and
//! `oidc_logins`, the sign-ins under way between `startOidcLogin` and `completeOidcLogin`:
//! their state (stored only as a sha256), nonce and PKCE verifier, kept server-side so any
//! process can finish what another started. A login row is deleted when it is used (once)
//! and purged by housekeeping when it expires.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000001_create_users::Users;
use crate::util::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OidcIdentities {
    Table,
    Id,
    UserId,
    Provider,
    Subject,
    Email,
    CreatedAt,
    LastLoginAt,
}

#[derive(DeriveIden)]
enum OidcLogins {
    Table,
    Id,
    StateHash,
    Provider,
    RedirectUri,
    Nonce,
    PkceVerifier,
    UserId,
    CreatedAt,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OidcIdentities::Table)
                    .col(pk_uuid(OidcIdentities::Id))
                    .col(uuid(OidcIdentities::UserId))
                    .col(string_len(OidcIdentities::Provider, 32))
                    .col(string_len(OidcIdentities::Subject, 255))
                    .col(string_len_null(OidcIdentities::Email, 320))
                    .col(timestamp_with_time_zone(OidcIdentities::CreatedAt))
                    .col(timestamp_with_time_zone(OidcIdentities::LastLoginAt))
                    .foreign_key(&mut fk(
                        OidcIdentities::Table,
                        OidcIdentities::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(OidcIdentities::Table, "subject", &["provider", "subject"])
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(OidcIdentities::Table, "user", &["user_id"]).to_owned())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OidcLogins::Table)
                    .col(pk_uuid(OidcLogins::Id))
                    .col(string_len_uniq(OidcLogins::StateHash, 64))
                    .col(string_len(OidcLogins::Provider, 32))
                    .col(text(OidcLogins::RedirectUri))
                    .col(string_len(OidcLogins::Nonce, 128))
                    .col(string_len(OidcLogins::PkceVerifier, 128))
                    // Set when the sign-in was started by a signed-in user: only they may
                    // link the identity it brings back (linkOidcAccount).
                    .col(uuid_null(OidcLogins::UserId))
                    .col(timestamp_with_time_zone(OidcLogins::CreatedAt))
                    .col(timestamp_with_time_zone(OidcLogins::ExpiresAt))
                    .foreign_key(&mut fk(
                        OidcLogins::Table,
                        OidcLogins::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        // Housekeeping deletes by expiry.
        manager
            .create_index(index(OidcLogins::Table, "expires", &["expires_at"]).to_owned())
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OidcLogins::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(OidcIdentities::Table).to_owned())
            .await
    }
}
