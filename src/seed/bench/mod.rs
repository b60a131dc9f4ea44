//! `confab seed --bench`: the side-by-side benchmark's data, with the same formulas as
//! `../shared/bench-peer/seed.sql`.

use chrono::Duration;
use entity::{messages, room_members, rooms, users};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, Statement, TransactionTrait,
};
use uuid::Uuid;

use crate::auth;
use crate::store::kinds::{MessageKind, RoomKind, UserRole};

/// Users in the benchmark seed (`../shared/bench-peer/seed.sql`).
const BENCH_USERS: u64 = 2_000;
/// Rooms in the benchmark seed.
const BENCH_ROOMS: u64 = 500;
/// Members of every benchmark room.
const BENCH_MEMBERS: u64 = 10;
/// Messages in the benchmark seed (400 per room).
const BENCH_MESSAGES: u64 = 200_000;
const BENCH_NAMES: [&str; 8] = [
    "Ada", "Grace", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Frances",
];
const BENCH_EMOJI: [&str; 6] = ["👍", "❤️", "😂", "🎉", "😮", "🙏"];
/// Every sixth benchmark message has reactions (`i % 6 = 0` in seed.sql).
const BENCH_REACTED_EVERY: u64 = 6;
/// Rows per INSERT: well under SQLite's and PostgreSQL's bind-parameter limits.
const BENCH_CHUNK: usize = 1_000;

fn bench_id(prefix: u64, n: u64) -> Uuid {
    Uuid::from_u64_pair(0x0000_0000_0000_4000, (prefix << 48) | n)
}

/// The benchmark's user `u`.
pub fn bench_user(u: u64) -> Uuid {
    bench_id(0x8000, u)
}

/// The benchmark's room `r`.
pub fn bench_room(r: u64) -> Uuid {
    bench_id(0x9000, r)
}

/// Member `k` of benchmark room `r` (k = 0 is the owner).
pub fn bench_member(r: u64, k: u64) -> u64 {
    ((r * 10 + k) * 7 + r / 200) % BENCH_USERS
}

/// Message `i` of the benchmark seed: `md5('message:' || i)::uuid`.
pub fn bench_message(i: u64) -> Uuid {
    use md5::Digest;
    Uuid::from_bytes(md5::Md5::digest(format!("message:{i}").as_bytes()).into())
}

fn utc(s: &str) -> anyhow::Result<chrono::DateTime<chrono::FixedOffset>> {
    Ok(chrono::DateTime::parse_from_rfc3339(s)?)
}

/// Loads exactly the data of the side-by-side benchmark's `seed.sql` (same ids, formulas and
/// timestamps), makes user0000 an admin and gives user `u` a session with the bearer token
/// `bench-token-<u>`. Seeds once; later runs only remove what the send workload wrote
/// (messages whose body starts with `bench-send`), as the harness's reset.sql does.
pub async fn bench(db: &DatabaseConnection) -> anyhow::Result<String> {
    if users::Entity::find_by_id(bench_user(0))
        .one(db)
        .await?
        .is_some()
    {
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
        analyze(db).await?;
        return Ok(format!(
            "benchmark data present; removed {} messages of earlier send runs",
            removed.rows_affected
        ));
    }
    let hash = auth::hash_password(BENCH_PASSWORD.to_owned())
        .await
        .map_err(|err| anyhow::anyhow!("hashing the bench password: {err:?}"))?;
    let users_at = utc("2024-01-01T00:00:00Z")?;
    let rooms_at = utc("2024-06-01T00:00:00Z")?;
    let messages_at = utc("2025-01-01T00:00:00Z")?;
    let now = crate::db::now();
    let txn = db.begin().await?;

    let users = (0..BENCH_USERS).map(|u| {
        let at = users_at + Duration::hours(u as i64);
        users::ActiveModel {
            id: Set(bench_user(u)),
            username: Set(format!("user{u:04}")),
            email: Set(format!("user{u:04}@bench.confab.dev")),
            display_name: Set(format!("User {u} {}", BENCH_NAMES[(u % 8) as usize])),
            password_hash: Set(hash.clone()),
            role: Set(if u == 0 {
                UserRole::Admin
            } else {
                UserRole::User
            }
            .as_str()
            .to_owned()),
            status: Set("offline".to_owned()),
            created_at: Set(at),
            updated_at: Set(at),
            ..Default::default()
        }
    });
    insert_chunked(&txn, users).await?;
    let sessions = (0..BENCH_USERS).map(|u| entity::sessions::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(bench_user(u)),
        token_hash: Set(auth::hash_token(&format!("bench-token-{u}"))),
        created_at: Set(now),
        last_active_at: Set(now),
        expires_at: Set(now + Duration::days(365)),
        ..Default::default()
    });
    insert_chunked(&txn, sessions).await?;
    let rooms = (0..BENCH_ROOMS).map(|r| {
        let at = rooms_at + Duration::hours(r as i64);
        rooms::ActiveModel {
            id: Set(bench_room(r)),
            kind: Set(RoomKind::Group.as_str().to_owned()),
            name: Set(Some(format!("room-{r:03}"))),
            created_by: Set(bench_user(bench_member(r, 0))),
            epoch: Set(0),
            created_at: Set(at),
            updated_at: Set(at),
            ..Default::default()
        }
    });
    insert_chunked(&txn, rooms).await?;
    let members = (0..BENCH_ROOMS).flat_map(|r| {
        (0..BENCH_MEMBERS).map(move |k| room_members::ActiveModel {
            room_id: Set(bench_room(r)),
            user_id: Set(bench_user(bench_member(r, k))),
            role: Set(match k {
                0 => "owner",
                1 | 2 => "admin",
                _ => "member",
            }
            .to_owned()),
            joined_at: Set(rooms_at + Duration::hours(r as i64) + Duration::minutes(k as i64)),
            ..Default::default()
        })
    });
    insert_chunked(&txn, members).await?;
    let messages = (0..BENCH_MESSAGES).map(|i| {
        let r = i % BENCH_ROOMS;
        let at = messages_at + Duration::minutes(i as i64);
        messages::ActiveModel {
            id: Set(bench_message(i)),
            room_id: Set(bench_room(r)),
            sender_id: Set(Some(bench_user(bench_member(r, (i / 500) % 10)))),
            kind: Set(MessageKind::Text.as_str().to_owned()),
            body: Set(Some(format!(
                "Message {i} in room {r}: {}",
                "lorem ipsum dolor ".repeat(1 + (i % 7) as usize)
            ))),
            created_at: Set(at),
            deleted_at: Set((i % 97 == 0).then(|| at + Duration::minutes(5))),
            // The messages given reactions below.
            reacted: Set(i % BENCH_REACTED_EVERY == 0),
            ..Default::default()
        }
    });
    insert_chunked(&txn, messages).await?;
    let reactions = (0..BENCH_MESSAGES)
        .step_by(BENCH_REACTED_EVERY as usize)
        .flat_map(|i| {
            let r = i % BENCH_ROOMS;
            let at = messages_at + Duration::minutes(i as i64);
            // The k-th reacted message: one reaction, or two for every other one.
            let k = i / BENCH_REACTED_EVERY;
            (0..=k % 2).map(move |j| entity::message_reactions::ActiveModel {
                message_id: Set(bench_message(i)),
                user_id: Set(bench_user(bench_member(r, (i + 3 * j) % 10))),
                emoji: Set(BENCH_EMOJI[((k + j) as usize) % BENCH_EMOJI.len()].to_owned()),
                created_at: Set(at + Duration::minutes(1 + j as i64)),
            })
        });
    let reaction_count = insert_chunked(&txn, reactions).await?;
    txn.commit().await?;
    analyze(db).await?;
    Ok(format!(
        "seeded {BENCH_USERS} users (tokens bench-token-<i>, password \"{BENCH_PASSWORD}\"), \
         {BENCH_ROOMS} rooms, {BENCH_MESSAGES} messages, {reaction_count} reactions"
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
            "VACUUM ANALYZE users, sessions, rooms, room_members, messages, message_reactions",
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

/// The password of every benchmark user (they sign in with their tokens anyway).
pub const BENCH_PASSWORD: &str = "confab-bench";

/// Inserts rows in chunks of [`BENCH_CHUNK`]; returns how many.
async fn insert_chunked<A>(
    txn: &sea_orm::DatabaseTransaction,
    rows: impl Iterator<Item = A>,
) -> anyhow::Result<usize>
where
    A: sea_orm::ActiveModelTrait,
{
    let mut rows = rows.peekable();
    let mut count = 0;
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(BENCH_CHUNK).collect();
        count += chunk.len();
        <A::Entity as EntityTrait>::insert_many(chunk)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(count)
}
