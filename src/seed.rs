//! `confab seed --demo`: a few users, rooms and a few thousand messages, so GraphiQL shows
//! something real. Every demo user signs in with the password [`DEMO_PASSWORD`].

use chrono::Duration;
use entity::{messages, room_members, rooms, users};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, Statement, TransactionTrait,
};
use uuid::Uuid;

use crate::auth;
use crate::service::membership::Role;
use crate::service::membership::direct_key;
use crate::store::kinds::{MessageKind, RoomKind, UserRole};

pub const DEMO_PASSWORD: &str = "confab-demo";
const DEMO_USERS: [(&str, &str); 5] = [
    ("ann", "Ann Archer"),
    ("bob", "Bob Baker"),
    ("cat", "Cat Carter"),
    ("dan", "Dan Dunn"),
    ("eve", "Eve Evans"),
];
const MESSAGES_PER_ROOM: usize = 1_000;
const LINES: [&str; 8] = [
    "Morning all! Coffee's on.",
    "Did anyone look at the release checklist?",
    "Pushed a fix for the flaky test, please review.",
    "Lunch at noon? The new place on 5th.",
    "I'll take the on-call shift this weekend.",
    "Can we move the standup to 10:15?",
    "Great demo yesterday, well done 🎉",
    "Reading the design doc now, comments by EOD.",
];

/// Seeds the demo data once; a second run changes nothing. Processes starting together on
/// an empty database race to seed it: the data goes in one transaction, so one wins, and the
/// others' transactions fail on the demo users' unique names and find the data there.
pub async fn demo(db: &DatabaseConnection) -> anyhow::Result<String> {
    if demo_present(db).await? {
        return Ok("demo data already present".to_owned());
    }
    match seed_demo(db).await {
        Ok(report) => Ok(report),
        Err(_) if demo_present(db).await? => {
            Ok("demo data already present (seeded by another process)".to_owned())
        }
        Err(err) => Err(err),
    }
}

async fn demo_present(db: &DatabaseConnection) -> anyhow::Result<bool> {
    Ok(users::Entity::find()
        .filter(users::Column::Username.eq(DEMO_USERS[0].0))
        .one(db)
        .await?
        .is_some())
}

async fn seed_demo(db: &DatabaseConnection) -> anyhow::Result<String> {
    let hash = auth::hash_password(DEMO_PASSWORD.to_owned())
        .await
        .map_err(|err| anyhow::anyhow!("hashing the demo password: {err:?}"))?;
    let now = crate::db::now();
    let start = now - Duration::days(7);
    let txn = db.begin().await?;

    let users: Vec<users::ActiveModel> = DEMO_USERS
        .iter()
        .map(|(name, display)| users::ActiveModel {
            id: Set(Uuid::now_v7()),
            username: Set((*name).to_owned()),
            email: Set(format!("{name}@demo.confab.dev")),
            display_name: Set((*display).to_owned()),
            password_hash: Set(hash.clone()),
            role: Set(if *name == "ann" {
                UserRole::Admin
            } else {
                UserRole::User
            }
            .as_str()
            .to_owned()),
            // The status they chose: shown while they are connected (OFFLINE otherwise).
            // `offline` would make them invisible, as if never signed in.
            status: Set("online".to_owned()),
            created_at: Set(start),
            updated_at: Set(start),
            ..Default::default()
        })
        .collect();
    let ids: Vec<Uuid> = users.iter().filter_map(|u| u.id.clone().take()).collect();
    users::Entity::insert_many(users).exec(&txn).await?;

    let rooms = [
        ("general", None, ids.clone()),
        ("random", None, ids[..3].to_vec()),
        ("design", None, vec![ids[0], ids[2], ids[4]]),
        ("", Some(direct_key(ids[0], ids[1])), vec![ids[0], ids[1]]),
    ];
    let mut message_count = 0;
    for (index, (name, direct, members)) in rooms.into_iter().enumerate() {
        let room_id = Uuid::now_v7();
        let created = start + Duration::minutes(index as i64);
        rooms::Entity::insert(rooms::ActiveModel {
            id: Set(room_id),
            kind: Set(if direct.is_some() {
                RoomKind::Direct
            } else {
                RoomKind::Group
            }
            .as_str()
            .to_owned()),
            name: Set((!name.is_empty()).then(|| name.to_owned())),
            topic: Set((!name.is_empty()).then(|| format!("All things {name}"))),
            created_by: Set(ids[0]),
            epoch: Set(0),
            direct_key: Set(direct),
            created_at: Set(created),
            updated_at: Set(created),
            ..Default::default()
        })
        .exec(&txn)
        .await?;
        room_members::Entity::insert_many(members.iter().enumerate().map(|(i, user)| {
            room_members::ActiveModel {
                room_id: Set(room_id),
                user_id: Set(*user),
                role: Set(if i == 0 { Role::Owner } else { Role::Member }
                    .as_str()
                    .to_owned()),
                joined_at: Set(created),
                ..Default::default()
            }
        }))
        .exec(&txn)
        .await?;
        // Their stints, as a join writes them (`Room.memberHistory`).
        crate::store::stint::open(&txn, room_id, &members, created).await?;
        let step = (now - created).num_seconds() / MESSAGES_PER_ROOM as i64;
        let batch: Vec<messages::ActiveModel> = (0..MESSAGES_PER_ROOM)
            .map(|i| {
                let at = created + Duration::seconds(step * i as i64 + 1);
                messages::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    room_id: Set(room_id),
                    sender_id: Set(Some(members[i % members.len()])),
                    kind: Set(MessageKind::Text.as_str().to_owned()),
                    body: Set(Some(format!("{} (#{i})", LINES[i % LINES.len()]))),
                    created_at: Set(at),
                    ..Default::default()
                }
            })
            .collect();
        for chunk in batch.chunks(500) {
            messages::Entity::insert_many(chunk.to_vec())
                .exec(&txn)
                .await?;
        }
        message_count += MESSAGES_PER_ROOM;
    }
    txn.commit().await?;
    Ok(format!(
        "seeded {} users (password \"{DEMO_PASSWORD}\"), 4 rooms, {message_count} messages",
        DEMO_USERS.len()
    ))
}

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
