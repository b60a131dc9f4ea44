//! Loading the benchmark data into PostgreSQL: `COPY ... FROM STDIN` (text format) of rows
//! made in Rust, all tables on one connection in one transaction, so an interrupted load
//! leaves nothing behind.
//!
//! The secondary indexes of `messages`, `message_reactions` and `search_documents` (all but
//! those behind a constraint) are dropped in that transaction and built again after the rows
//! are in, and the search documents are made in one statement after the messages: one
//! sorted build per index instead of an insert per row, and for the full-text GIN index no
//! merge of its pending list every few hundred rows (its list is kept small for sends:
//! migration 19). The definitions are read from the catalog, so the rebuilt indexes are the
//! migrations' own, whatever they are by then.

use std::fmt::{Display, Write as _};

use chrono::{DateTime, FixedOffset};
use sea_orm::DatabaseConnection;
use sea_orm::sqlx::{self, AssertSqlSafe, Connection as _, Executor as _, postgres::PgConnection};

use super::Loaded;
use super::rows::{self, Epochs, MEMBERS, Scale};
use crate::store::kinds::{MessageKind, RoomKind};

/// Bytes of COPY data sent at a time.
const CHUNK: usize = 1 << 20;

/// The indexes dropped for the load: name and definition.
const SECONDARY_INDEXES: &str = "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) \
     FROM pg_index i \
     WHERE i.indrelid IN ('messages'::regclass, 'message_reactions'::regclass, \
       'search_documents'::regclass) \
     AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)";

pub async fn load(
    db: &DatabaseConnection,
    scale: Scale,
    at: &Epochs,
    password_hash: &str,
) -> anyhow::Result<Loaded> {
    let mut conn = db.get_postgres_connection_pool().acquire().await?;
    let mut txn = conn.begin().await?;
    let indexes: Vec<(String, String)> = sqlx::query_as(SECONDARY_INDEXES)
        .fetch_all(&mut *txn)
        .await?;
    for (name, _) in &indexes {
        txn.execute(AssertSqlSafe(format!("DROP INDEX {name}")))
            .await?;
    }
    copy(
        &mut txn,
        "COPY users (id, username, email, display_name, password_hash, role, status, \
         created_at, updated_at) FROM STDIN",
        (0..scale.users()).map(|u| rows::user(at, u)),
        |row, user| {
            row.show(user.id)
                .text(&user.username)
                .text(&user.email)
                .text(&user.display_name)
                .text(password_hash)
                .text(user.role)
                .text("offline")
                .time(user.created_at)
                .time(user.created_at);
        },
    )
    .await?;
    copy(
        &mut txn,
        "COPY sessions (id, user_id, token_hash, created_at, last_active_at, expires_at) \
         FROM STDIN",
        (0..scale.users()).map(|u| rows::session(at, u)),
        |row, session| {
            row.show(session.id)
                .show(session.user_id)
                .text(&session.token_hash)
                .time(session.created_at)
                .time(session.created_at)
                .time(session.expires_at);
        },
    )
    .await?;
    copy(
        &mut txn,
        "COPY rooms (id, kind, name, created_by, epoch, created_at, updated_at) FROM STDIN",
        (0..scale.rooms()).map(|r| rows::room(at, r)),
        |row, room| {
            row.show(room.id)
                .text(RoomKind::Group.as_str())
                .text(&room.name)
                .show(room.created_by)
                .show(0)
                .time(room.created_at)
                .time(room.created_at);
        },
    )
    .await?;
    copy(
        &mut txn,
        "COPY room_members (room_id, user_id, role, joined_at) FROM STDIN",
        (0..scale.rooms()).flat_map(|r| (0..MEMBERS).map(move |k| rows::room_member(at, r, k))),
        |row, member| {
            row.show(member.room_id)
                .show(member.user_id)
                .text(member.role)
                .time(member.joined_at);
        },
    )
    .await?;
    // The search documents are made after the load, in one statement, not by the trigger
    // from a transition table of every message.
    txn.execute("ALTER TABLE messages DISABLE TRIGGER search_documents_insert")
        .await?;
    let messages = copy(
        &mut txn,
        "COPY messages (id, room_id, sender_id, kind, body, created_at, deleted_at, reacted, \
         seq) FROM STDIN",
        (0..scale.messages()).map(|i| rows::message(at, i)),
        |row, message| {
            row.show(message.id)
                .show(message.room_id)
                .show(message.sender_id)
                .text(MessageKind::Text.as_str())
                .text(&message.body)
                .time(message.created_at);
            match message.deleted_at {
                Some(deleted) => row.time(deleted),
                None => row.null(),
            }
            .show(if message.reacted { 't' } else { 'f' })
            .show(message.seq);
        },
    )
    .await?;
    let reactions = copy(
        &mut txn,
        "COPY message_reactions (message_id, user_id, emoji, created_at) FROM STDIN",
        (0..scale.messages()).flat_map(|i| rows::reactions(at, i)),
        |row, reaction| {
            row.show(reaction.message_id)
                .show(reaction.user_id)
                .text(reaction.emoji)
                .time(reaction.created_at);
        },
    )
    .await?;
    txn.execute("ALTER TABLE messages ENABLE TRIGGER search_documents_insert")
        .await?;
    txn.execute(migration::search_documents_fill).await?;
    // Memory for the sorts of the index builds (PostgreSQL's default is 64 MB).
    txn.execute("SET LOCAL maintenance_work_mem = '512MB'")
        .await?;
    for (_, definition) in indexes {
        txn.execute(AssertSqlSafe(definition)).await?;
    }
    txn.commit().await?;
    Ok(Loaded {
        messages,
        reactions,
    })
}

/// Streams `rows` into `statement` (a `COPY ... FROM STDIN`), each written by `line`;
/// returns how many.
async fn copy<T>(
    conn: &mut PgConnection,
    statement: &str,
    rows: impl Iterator<Item = T>,
    line: impl Fn(&mut Line<'_>, T),
) -> anyhow::Result<u64> {
    let mut copy = conn.copy_in_raw(statement).await?;
    let mut buf = String::with_capacity(CHUNK + 4096);
    for row in rows {
        line(
            &mut Line {
                buf: &mut buf,
                first: true,
            },
            row,
        );
        buf.push('\n');
        if buf.len() >= CHUNK {
            copy.send(buf.as_bytes()).await?;
            buf.clear();
        }
    }
    if !buf.is_empty() {
        copy.send(buf.as_bytes()).await?;
    }
    Ok(copy.finish().await?)
}

/// One line of COPY's text format: fields separated by tabs, `\N` for NULL.
struct Line<'a> {
    buf: &'a mut String,
    first: bool,
}

impl Line<'_> {
    fn next(&mut self) -> &mut String {
        if !self.first {
            self.buf.push('\t');
        }
        self.first = false;
        self.buf
    }

    /// A value whose text needs no escaping (ids, numbers).
    fn show(&mut self, value: impl Display) -> &mut Self {
        // Writing to a String cannot fail.
        let _ = write!(self.next(), "{value}");
        self
    }

    fn text(&mut self, value: &str) -> &mut Self {
        let buf = self.next();
        for c in value.chars() {
            match c {
                '\\' => buf.push_str("\\\\"),
                '\t' => buf.push_str("\\t"),
                '\n' => buf.push_str("\\n"),
                '\r' => buf.push_str("\\r"),
                c => buf.push(c),
            }
        }
        self
    }

    fn time(&mut self, at: DateTime<FixedOffset>) -> &mut Self {
        self.show(at.format("%Y-%m-%d %H:%M:%S%.f%:z"))
    }

    fn null(&mut self) -> &mut Self {
        self.next().push_str("\\N");
        self
    }
}
