//! Small builders the migrations share: foreign keys, checks and indexes named the same way.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DatabaseBackend, Statement};

/// A foreign key `table.column -> target.id` named `fk_{table}_{column}`.
pub fn fk(
    table: impl IntoIden,
    column: impl IntoIden,
    target: impl IntoIden,
    target_column: impl IntoIden,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    let (table, column) = (table.into_iden(), column.into_iden());
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(table, column)
        .to(target, target_column)
        .on_delete(on_delete)
        .on_update(ForeignKeyAction::Cascade)
        .to_owned()
}

/// A check that `column` holds one of `values` (the portable form of an enum).
pub fn one_of(column: &str, values: &[&str]) -> Check {
    let list = values
        .iter()
        .map(|v| format!("'{v}'"))
        .collect::<Vec<_>>()
        .join(", ");
    Check::named(
        format!("ck_{column}"),
        Expr::cust(format!("{column} IN ({list})")),
    )
}

/// A named check from SQL that reads the same on SQLite and PostgreSQL.
pub fn check(name: &str, sql: &str) -> Check {
    Check::named(format!("ck_{name}"), Expr::cust(sql.to_owned()))
}

/// A plain index `idx_{table}_{suffix}` over `columns`.
pub fn index(table: impl IntoIden, suffix: &str, columns: &[&'static str]) -> IndexCreateStatement {
    let table = table.into_iden();
    let mut stmt = Index::create();
    stmt.name(format!("idx_{table}_{suffix}")).table(table);
    for column in columns {
        stmt.col(Alias::new(*column));
    }
    stmt.to_owned()
}

/// Runs `sql` on PostgreSQL only (settings SQLite has no counterpart for).
pub async fn postgres_only(manager: &SchemaManager<'_>, sql: &str) -> Result<(), DbErr> {
    if manager.get_database_backend() == DatabaseBackend::Postgres {
        manager.get_connection().execute_unprepared(sql).await?;
    }
    Ok(())
}

/// Runs `statements` in order (raw SQL the migration chose for this backend).
pub async fn run_all(
    manager: &SchemaManager<'_>,
    statements: impl IntoIterator<Item = impl AsRef<str>>,
) -> Result<(), DbErr> {
    for sql in statements {
        manager
            .get_connection()
            .execute_unprepared(sql.as_ref())
            .await?;
    }
    Ok(())
}

/// The quoted value after `marker` in the text `sql` selects as `def` (a definition read from
/// the catalog: an FTS5 table's SQL, a function's source), e.g. `english` after
/// `to_tsvector('`; `what` names the object in the error when there is none.
pub async fn quoted_in_definition(
    manager: &SchemaManager<'_>,
    sql: &str,
    marker: &str,
    what: &str,
) -> Result<String, DbErr> {
    let row = manager
        .get_connection()
        .query_one_raw(Statement::from_string(manager.get_database_backend(), sql))
        .await?
        .ok_or_else(|| DbErr::Migration(format!("{what} does not exist")))?;
    let def: Option<String> = row.try_get("", "def")?;
    let def = def.ok_or_else(|| DbErr::Migration(format!("{what} does not exist")))?;
    def.split_once(marker)
        .and_then(|(_, rest)| rest.split_once('\''))
        .map(|(value, _)| value.to_owned())
        .ok_or_else(|| DbErr::Migration(format!("no {marker}...' in {def}")))
}
