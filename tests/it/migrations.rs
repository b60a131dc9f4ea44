//! The migrations: they run on both backends, enforce the model's constraints, and undo fully.

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, Statement};

use crate::util::TestDatabase;

async fn user_tables(db: &DatabaseConnection) -> i64 {
    let sql = match db.get_database_backend() {
        DatabaseBackend::Sqlite => {
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'messages_fts%' AND name <> 'seaql_migrations'"
        }
        _ => {
            "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = 'public' \
             AND table_name <> 'seaql_migrations'"
        }
    };
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

async fn exec(db: &DatabaseConnection, sql: &str) -> Result<(), sea_orm::DbErr> {
    db.execute_unprepared(sql).await.map(|_| ())
}

async fn up_down_up(url: &str) {
    let db = Database::connect(url).await.unwrap();
    if db.get_database_backend() == DatabaseBackend::Sqlite {
        exec(&db, "PRAGMA foreign_keys = ON").await.unwrap();
    }
    // PostgreSQL has one table more: its stored search documents (migration 38).
    let tables = match db.get_database_backend() {
        DatabaseBackend::Postgres => 24,
        _ => 23,
    };
    Migrator::up(&db, None).await.unwrap();
    assert_eq!(user_tables(&db).await, tables);
    constraints_hold(&db).await;
    Migrator::reset(&db).await.unwrap();
    assert_eq!(
        user_tables(&db).await,
        0,
        "down() must drop everything up() made"
    );
    Migrator::up(&db, None).await.unwrap();
    assert_eq!(user_tables(&db).await, tables);
    if db.get_database_backend() == DatabaseBackend::Postgres {
        // The search index merges its pending list at 256 kB, not at the 4 MB default, so no
        // send waits behind a long merge (migration 19, kept by migration 38).
        let sql = "SELECT array_to_string(reloptions, ',') AS o FROM pg_class \
                   WHERE relname = 'idx_search_documents_document'";
        let row = db
            .query_one_raw(Statement::from_string(DatabaseBackend::Postgres, sql))
            .await
            .unwrap()
            .unwrap();
        let options: Option<String> = row.try_get("", "o").unwrap();
        assert_eq!(options.as_deref(), Some("gin_pending_list_limit=256"));
    }
    db.close().await.unwrap();
}

/// The checks and keys the model relies on, tried with raw SQL so no service logic helps.
async fn constraints_hold(db: &DatabaseConnection) {
    let now = "'2026-01-01T00:00:00+00:00'";
    let user = |id: &str, name: &str| {
        format!(
            "INSERT INTO users (id, username, email, display_name, password_hash, role, status, created_at, updated_at) \
             VALUES ('{id}', '{name}', '{name}@x.io', '{name}', 'h', 'user', 'offline', {now}, {now})"
        )
    };
    let a = "01900000-0000-7000-8000-000000000001";
    let b = "01900000-0000-7000-8000-000000000002";
    exec(db, &user(a, "ann")).await.unwrap();
    exec(db, &user(b, "bob")).await.unwrap();
    let refused = [
        user("01900000-0000-7000-8000-000000000003", "ANN_UPPER"),
        user("01900000-0000-7000-8000-000000000004", "ann"),
        format!(
            "INSERT INTO contacts (user_id, contact_id, status, requested_by, created_at, updated_at) \
             VALUES ('{a}', '{a}', 'pending', '{a}', {now}, {now})"
        ),
        format!(
            "INSERT INTO contacts (user_id, contact_id, status, requested_by, created_at, updated_at) \
             VALUES ('{a}', '{b}', 'friends', '{a}', {now}, {now})"
        ),
        format!(
            "INSERT INTO rooms (id, kind, created_by, epoch, created_at, updated_at) \
             VALUES ('01900000-0000-7000-8000-0000000000a1', 'group', '{a}', 0, {now}, {now})"
        ),
        format!(
            "INSERT INTO rooms (id, kind, name, join_code, created_by, epoch, created_at, updated_at) \
             VALUES ('01900000-0000-7000-8000-0000000000a2', 'group', 'g', 'ABC', '{a}', 0, {now}, {now})"
        ),
        format!(
            "INSERT INTO sessions (id, user_id, token_hash, created_at, last_active_at, expires_at) \
             VALUES ('01900000-0000-7000-8000-0000000000b1', '01900000-0000-7000-8000-0000000000ff', 'x', {now}, {now}, {now})"
        ),
    ];
    for sql in refused {
        assert!(exec(db, &sql).await.is_err(), "accepted: {sql}");
    }
    exec(
        db,
        &format!(
            "INSERT INTO contacts (user_id, contact_id, status, requested_by, created_at, updated_at) \
             VALUES ('{a}', '{b}', 'pending', '{a}', {now}, {now})"
        ),
    )
    .await
    .unwrap();
}

#[actix_web::test]
async fn sqlite_migrations_apply_and_undo() {
    let (_db, url) = TestDatabase::sqlite();
    up_down_up(&url).await;
}

#[actix_web::test]
async fn postgres_migrations_apply_and_undo() {
    if let Some((_db, url)) = TestDatabase::postgres().await {
        up_down_up(&url).await;
    }
}
