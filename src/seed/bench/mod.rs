//! `confab seed --bench [--scale N]`: the side-by-side benchmark's data, with the same formulas
//! as `../shared/bench-peer/seed.sql`, N times over ([`rows`] says how the copies are laid
//! out). Loaded in bulk: COPY on PostgreSQL ([`postgres`]), prepared multi-row INSERTs in
//! large transactions on SQLite ([`sqlite`]). The search index is kept by the database as rows
//! arrive (the GIN index on PostgreSQL, the FTS5 triggers on SQLite), so it is complete when
//! the load commits.

mod postgres;
mod rows;
mod sqlite;

use entity::{messages, users};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    Statement,
};
use uuid::Uuid;

use crate::auth;

use rows::Epochs;
pub use rows::Scale;

/// The benchmark's user `u`.
pub fn bench_user(u: u64) -> Uuid {
    rows::user_id(u)
}

/// The benchmark's room `r`.
pub fn bench_room(r: u64) -> Uuid {
    rows::room_id(r)
}

/// Member `k` of benchmark room `r` (k = 0 is the owner).
pub fn bench_member(r: u64, k: u64) -> u64 {
    rows::member(r, k)
}

/// Message `i` of the benchmark seed: `md5('message:' || i)::uuid`.
pub fn bench_message(i: u64) -> Uuid {
    rows::message_id(i)
}

/// The password of every benchmark user (they sign in with their tokens anyway).
pub const BENCH_PASSWORD: &str = "confab-bench";

/// What a load wrote to the big tables.
struct Loaded {
    messages: u64,
    reactions: u64,
}

/// Loads `scale` times the data of the side-by-side benchmark's `seed.sql` (same ids, formulas
/// and timestamps; scale 1 is exactly seed.sql), makes user0000 an admin and gives user `u` a
/// session with the bearer token `bench-token-<u>`. Seeds once; later runs only remove what
/// the send workload wrote (messages whose body starts with `bench-send`), as the harness's
/// reset.sql does.
pub async fn bench(db: &DatabaseConnection, scale: Scale) -> anyhow::Result<String> {
    if users::Entity::find_by_id(bench_user(0))
        .one(db)
        .await?
        .is_some()
    {
        return reset(db, scale).await;
    }
    let hash = auth::hash_password(BENCH_PASSWORD.to_owned())
        .await
        .map_err(|err| anyhow::anyhow!("hashing the bench password: {err:?}"))?;
    let at = Epochs::new()?;
    let loaded = match db.get_database_backend() {
        DbBackend::Postgres => postgres::load(db, scale, &at, &hash).await?,
        _ => sqlite::load(db, scale, &at, &hash).await?,
    };
    crate::store::seq::recount(db).await?;
    analyze(db).await?;
    Ok(format!(
        "seeded {} users (tokens bench-token-<i>, password \"{BENCH_PASSWORD}\"), \
         {} rooms, {} messages, {} reactions",
        scale.users(),
        scale.rooms(),
        loaded.messages,
        loaded.reactions,
    ))
}

/// The data is there: checks it is of this scale and removes what send runs wrote.
async fn reset(db: &DatabaseConnection, scale: Scale) -> anyhow::Result<String> {
    let last = users::Entity::find_by_id(bench_user(scale.users() - 1))
        .one(db)
        .await?;
    let beyond = users::Entity::find_by_id(bench_user(scale.users()))
        .one(db)
        .await?;
    anyhow::ensure!(
        last.is_some() && beyond.is_none(),
        "this database holds benchmark data of another scale than {}: seed an empty one",
        scale.0
    );
    let removed = messages::Entity::delete_many()
        .filter(messages::Column::Body.starts_with("bench-send"))
        .exec(db)
        .await?;
    // The senders' read markers pointed at those messages; the seed has none (on
    // PostgreSQL the marker has no foreign key to clear it: migration 20).
    db.execute_unprepared(
        "UPDATE room_members SET last_read_message_id = NULL \
         WHERE last_read_message_id IS NOT NULL AND NOT EXISTS \
         (SELECT 1 FROM messages m WHERE m.id = room_members.last_read_message_id)",
    )
    .await?;
    // Send runs numbered their messages after the seed's, so the rest keep theirs.
    crate::store::seq::recount(db).await?;
    analyze(db).await?;
    Ok(format!(
        "benchmark data present; removed {} messages of earlier send runs",
        removed.rows_affected
    ))
}

/// Refreshes the planner's statistics after bulk changes, as the harness's seed.sql and
/// reset.sql do for the peer's database (`VACUUM ANALYZE`): without them PostgreSQL plans for
/// empty tables until autovacuum comes by.
///
/// On SQLite only the per-index summaries (`sqlite_stat1`) are kept. The bundled SQLite is
/// built with STAT4, whose value samples make it re-prepare a cached statement every time new
/// values are bound to it (a plan might depend on them); Confab's statements are index lookups
/// whose plan never does, and re-preparing them showed up as a sixth of the read workloads'
/// throughput on SQLite.
async fn analyze(db: &DatabaseConnection) -> anyhow::Result<()> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared(
            "VACUUM ANALYZE users, sessions, rooms, room_members, room_seqs, messages, \
             message_reactions, search_documents",
        )
        .await?;
        return Ok(());
    }
    db.execute_unprepared("ANALYZE").await?;
    let samples = db
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_stat4'",
        ))
        .await?;
    if samples.is_some() {
        // The server's connections, opened later, load the statistics without the samples.
        db.execute_unprepared("DELETE FROM sqlite_stat4").await?;
    }
    Ok(())
}
