//! Loading the benchmark data into SQLite: multi-row INSERTs of rows made in Rust, each
//! statement prepared once (sqlx keeps it in the connection's statement cache), on one
//! connection, committing every [`BATCH`] rows.
//!
//! For the load only, that connection runs with `synchronous = OFF` (a commit does not wait
//! for the disk; a crash during the load can corrupt the file, which then is thrown away and
//! seeded again) and a bigger page cache ([`CACHE_KIB`]: the indexes on random keys, message
//! ids above all, otherwise keep rereading their pages). Both go back to Confab's settings
//! before the connection returns to the pool. The journal stays in WAL mode: leaving it needs
//! the only connection to the file, and the server's settings assume it.

use sea_orm::DatabaseConnection;
use sea_orm::sqlx::sqlite::{SqliteArguments, SqliteConnection};
use sea_orm::sqlx::{self, AssertSqlSafe, Executor as _, Sqlite, query::Query};

use super::Loaded;
use super::rows::{self, Epochs, MEMBERS, Scale};
use crate::store::kinds::{MessageKind, RoomKind};

/// Rows per INSERT statement (SQLite allows 32,766 parameters).
const ROWS: usize = 256;
/// Rows per transaction.
const BATCH: usize = 100_000;
/// The page cache during the load, in KiB.
const CACHE_KIB: u32 = 512 * 1024;

type Insert = Query<'static, Sqlite, SqliteArguments>;

pub async fn load(
    db: &DatabaseConnection,
    scale: Scale,
    at: &Epochs,
    password_hash: &str,
) -> anyhow::Result<Loaded> {
    let mut conn = db.get_sqlite_connection_pool().acquire().await?;
    let cache: i64 = sqlx::query_scalar("PRAGMA cache_size")
        .fetch_one(&mut *conn)
        .await?;
    conn.execute(AssertSqlSafe(format!(
        "PRAGMA synchronous = OFF; PRAGMA cache_size = -{CACHE_KIB}"
    )))
    .await?;
    let loaded = load_rows(&mut conn, scale, at, password_hash).await;
    if loaded.is_err() {
        // A batch may have been left open; the error above is the one to report.
        let _ = conn.execute("ROLLBACK").await;
    }
    // Confab's settings again (crate::db::connect), whether or not the load went through.
    conn.execute(AssertSqlSafe(format!(
        "PRAGMA synchronous = NORMAL; PRAGMA cache_size = {cache}"
    )))
    .await?;
    loaded
}

async fn load_rows(
    conn: &mut SqliteConnection,
    scale: Scale,
    at: &Epochs,
    password_hash: &str,
) -> anyhow::Result<Loaded> {
    insert(
        conn,
        "users (id, username, email, display_name, password_hash, role, status, created_at, \
         updated_at)",
        9,
        (0..scale.users()).map(|u| rows::user(at, u)),
        |q, user| {
            q.bind(user.id)
                .bind(user.username)
                .bind(user.email)
                .bind(user.display_name)
                .bind(password_hash)
                .bind(user.role)
                .bind("offline")
                .bind(user.created_at)
                .bind(user.created_at)
        },
    )
    .await?;
    insert(
        conn,
        "sessions (id, user_id, token_hash, created_at, last_active_at, expires_at)",
        6,
        (0..scale.users()).map(|u| rows::session(at, u)),
        |q, session| {
            q.bind(session.id)
                .bind(session.user_id)
                .bind(session.token_hash)
                .bind(session.created_at)
                .bind(session.created_at)
                .bind(session.expires_at)
        },
    )
    .await?;
    insert(
        conn,
        "rooms (id, kind, name, created_by, epoch, created_at, updated_at)",
        7,
        (0..scale.rooms()).map(|r| rows::room(at, r)),
        |q, room| {
            q.bind(room.id)
                .bind(RoomKind::Group.as_str())
                .bind(room.name)
                .bind(room.created_by)
                .bind(0_i64)
                .bind(room.created_at)
                .bind(room.created_at)
        },
    )
    .await?;
    insert(
        conn,
        "room_members (room_id, user_id, role, joined_at)",
        4,
        (0..scale.rooms()).flat_map(|r| (0..MEMBERS).map(move |k| rows::room_member(at, r, k))),
        |q, member| {
            q.bind(member.room_id)
                .bind(member.user_id)
                .bind(member.role)
                .bind(member.joined_at)
        },
    )
    .await?;
    let messages = insert(
        conn,
        "messages (id, room_id, sender_id, kind, body, created_at, deleted_at, reacted, seq)",
        9,
        (0..scale.messages()).map(|i| rows::message(at, i)),
        |q, message| {
            q.bind(message.id)
                .bind(message.room_id)
                .bind(message.sender_id)
                .bind(MessageKind::Text.as_str())
                .bind(message.body)
                .bind(message.created_at)
                .bind(message.deleted_at)
                .bind(message.reacted)
                .bind(message.seq)
        },
    )
    .await?;
    let reactions = insert(
        conn,
        "message_reactions (message_id, user_id, emoji, created_at)",
        4,
        (0..scale.messages()).flat_map(|i| rows::reactions(at, i)),
        |q, reaction| {
            q.bind(reaction.message_id)
                .bind(reaction.user_id)
                .bind(reaction.emoji)
                .bind(reaction.created_at)
        },
    )
    .await?;
    Ok(Loaded {
        messages,
        reactions,
    })
}

/// Inserts `rows` into `table` (its name and column list), [`ROWS`] at a time, each row's
/// `columns` values bound by `bind`; returns how many.
async fn insert<T>(
    conn: &mut SqliteConnection,
    table: &str,
    columns: usize,
    rows: impl Iterator<Item = T>,
    bind: impl Fn(Insert, T) -> Insert,
) -> anyhow::Result<u64> {
    let row = format!("({})", vec!["?"; columns].join(", "));
    let statement = |n: usize| {
        format!(
            "INSERT INTO {table} VALUES {}",
            vec![row.as_str(); n].join(", ")
        )
    };
    let full = statement(ROWS);
    let mut rows = rows.peekable();
    let mut count = 0;
    while rows.peek().is_some() {
        conn.execute("BEGIN").await?;
        let mut in_batch = 0;
        while in_batch < BATCH && rows.peek().is_some() {
            let chunk: Vec<T> = rows.by_ref().take(ROWS).collect();
            let sql = if chunk.len() == ROWS {
                full.clone()
            } else {
                statement(chunk.len())
            };
            in_batch += chunk.len();
            let query = chunk
                .into_iter()
                .fold(sqlx::query(AssertSqlSafe(sql)), &bind);
            query.execute(&mut *conn).await?;
        }
        conn.execute("COMMIT").await?;
        count += in_batch as u64;
    }
    Ok(count)
}
