//! Bringing the schema up to date at start, beside other processes of this release or the
//! next (docs/deploy.md, "Rolling upgrades").
//!
//! - On PostgreSQL the migrations run under an advisory lock, so processes started together
//!   migrate one at a time: the first applies what is pending, the others then find nothing
//!   to do. (Not with `--db-pgbouncer`: a session lock through transaction pooling would be
//!   held by whichever client gets that server connection next. Migrate through the primary.)
//! - A database that a newer release has already migrated (versions this binary does not know,
//!   and none of its own pending) is served as it is, with a warning: migrations are
//!   expand-only, so an older process still finds every column and table it queries. That
//!   keeps a process of the previous release restartable during an upgrade, and a rollback
//!   possible.

use std::collections::BTreeSet;

use anyhow::{Context as _, bail};
use migration::{Migrator, MigratorTrait as _, SchemaManager};
use sea_orm::sqlx::{self, ConnectOptions as _, Connection as _};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};

/// The advisory lock key migrating processes take on PostgreSQL ("ConfabMg").
const MIGRATION_LOCK: i64 = 0x436f_6e66_6162_4d67;

/// Applies the pending migrations to `db` unless a newer release's are there already.
pub async fn migrate(db: &DatabaseConnection, pgbouncer: bool) -> anyhow::Result<()> {
    if db.get_database_backend() != DatabaseBackend::Postgres || pgbouncer {
        return apply(db).await;
    }
    // A connection of its own, outside the pool, so the lock's session is not lent out.
    let options = db.get_postgres_connection_pool().connect_options();
    let mut session = options
        .connect()
        .await
        .context("connecting for the migration lock")?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut session)
        .await
        .context("taking the migration lock")?;
    let applied = apply(db).await;
    // Closing the session releases the lock even if the unlock is lost.
    let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut session)
        .await;
    let _ = session.close().await;
    applied
}

async fn apply(db: &DatabaseConnection) -> anyhow::Result<()> {
    let known: BTreeSet<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let applied = applied_versions(db).await?;
    let newer: Vec<&String> = applied.difference(&known).collect();
    if !newer.is_empty() {
        let pending: Vec<&String> = known.difference(&applied).collect();
        if !pending.is_empty() {
            bail!(
                "the database holds migrations this release does not know ({newer:?}) and lacks \
                 some it has ({pending:?}): it was migrated by another line of releases"
            );
        }
        tracing::warn!(
            newer = ?newer,
            "the database was migrated by a newer release; serving it as it is (migrations are \
             expand-only)"
        );
        return Ok(());
    }
    Migrator::up(db, None).await.context("applying migrations")
}

/// The migration versions recorded in the database (none before the first start).
async fn applied_versions(db: &DatabaseConnection) -> anyhow::Result<BTreeSet<String>> {
    let table = M_TABLE;
    if !SchemaManager::new(db).has_table(table).await? {
        return Ok(BTreeSet::new());
    }
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT version FROM {table}"),
        ))
        .await
        .context("reading the applied migrations")?;
    rows.iter()
        .map(|row| row.try_get::<String>("", "version"))
        .collect::<Result<_, _>>()
        .context("reading the applied migrations")
}

/// sea-orm-migration's record of applied migrations (its default name, which Confab keeps).
const M_TABLE: &str = "seaql_migrations";
