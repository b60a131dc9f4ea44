//! Reading messages in batches, for the loaders: pages per room, each room's last message,
//! reactions and read receipts, each in one statement however many keys (unread counts are
//! in `store::unread`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use entity::{message_reactions, messages, users};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};
use uuid::Uuid;

use super::page::{Page, Slice};
use super::rows::{self, Positional};
use super::sql::Sql;
use crate::db::direct::Source;

/// Messages by id.
pub async fn many(db: &impl Source, ids: Vec<Uuid>) -> Result<Vec<messages::Model>, DbErr> {
    rows::by_id(db, ids).await
}

/// Rooms per statement in [`pages`] on SQLite (its default limit of a compound SELECT is 500).
const SQLITE_MAX_BRANCHES: usize = 400;

/// One page of messages for each room, with their senders (deleted users included: old
/// messages keep their authors' names), in one statement however many rooms: each room's
/// page is an index range scan that stops after `limit + 1` rows (a LATERAL join on
/// PostgreSQL, a UNION ALL of limited scans on SQLite), never all of a room's history.
///
/// PostgreSQL outer-joins the senders into that statement: a round trip less (quick A/B, page
/// workload, +5-7% req/s). SQLite reads them in a second statement, one row per distinct
/// sender: there the join cost more than it saved (callgrind, instructions per request: page
/// 4.07M -> 5.50M, nested 66.2M -> 77.0M), decoding a sender per message and sorting the wider
/// rows.
/// With `since`, only the messages after that time (a floor, whichever way the page walks).
pub async fn pages(
    db: &impl Source,
    room_ids: &[Uuid],
    page: Page,
    since: Option<DateTime<FixedOffset>>,
) -> Result<HashMap<Uuid, Slice<MessageWithSender>>, DbErr> {
    let messages = since.map_or(Messages::All, Messages::Since);
    pages_of(db, room_ids, page, messages).await
}

/// Which messages of a room a page walks.
#[derive(Clone, Copy)]
enum Messages {
    All,
    /// Not deleted (a room's last message).
    Undeleted,
    /// Created after a time.
    Since(DateTime<FixedOffset>),
}

async fn pages_of(
    db: &impl Source,
    room_ids: &[Uuid],
    page: Page,
    messages: Messages,
) -> Result<HashMap<Uuid, Slice<MessageWithSender>>, DbErr> {
    if room_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let (cursor, limit, op, order) = match page {
        Page::Forward { after, limit } => (after, limit, ">", "ASC"),
        Page::Backward { before, limit } => (before, limit, "<", "DESC"),
    };
    // One room's page: `room` binds its id, or `None` takes it from the lateral join's `r.id`;
    // with `senders`, each row joined with its sender.
    let select = format!("SELECT {}", rows::columns::<messages::Model>("messages"));
    let order_limit = format!(" ORDER BY messages.created_at {order}, messages.id {order} LIMIT ");
    let one_room = |room: Option<Uuid>, senders: bool| {
        let mut q = Sql::new(&select);
        if senders {
            q.push(", ")
                .push(&rows::columns::<users::Model>("u"))
                .push(" FROM messages LEFT JOIN users u ON u.id = messages.sender_id");
        } else {
            q.push(" FROM messages");
        }
        q.push(" WHERE messages.room_id = ");
        match room {
            Some(id) => q.bind(id),
            None => q.push("r.id"),
        };
        if let Some(key) = cursor {
            // A row value: an index range from the cursor on (see `page::keyset`).
            q.push(" AND (messages.created_at, messages.id) ")
                .push(op)
                .push(" (")
                .bind(key.at)
                .push(", ")
                .bind(key.id)
                .push(")");
        }
        match messages {
            Messages::Undeleted => q.push(" AND messages.deleted_at IS NULL"),
            Messages::Since(at) => q.push(" AND messages.created_at > ").bind(at),
            Messages::All => &mut q,
        };
        q.push(&order_limit).bind((limit + 1) as i64);
        q
    };
    let backend = db.get_database_backend();
    let postgres = backend == sea_orm::DatabaseBackend::Postgres;
    let found = if postgres {
        let query = if let [room_id] = room_ids {
            // One room (a client paging through it): the page and its senders in one plain
            // join, which PostgreSQL runs as the index scan with a (memoized) primary-key
            // lookup per row. pgbench, the page workload's statement (51 rows): 0.25 ->
            // 0.16 ms against the several-room statement below, whose join hashed all users.
            one_room(Some(*room_id), true)
        } else {
            // The pages first, then their senders, in one join: planned inside the lateral
            // loop, the senders' join was a hash join that read all of users once per room
            // (seen on the benchmark data after a send run; 3.0 -> 1.4 ms for 20 rooms). The
            // join reads only the pages' senders (without the IN, PostgreSQL hashed all of
            // users), and the rows come back unsorted: each page is put in order below.
            // pgbench, 20 pages of 21: 1.77 -> 1.47 ms.
            let message_columns = rows::columns::<messages::Model>("m");
            let mut q = Sql::new("WITH m AS MATERIALIZED (SELECT ");
            q.push(&message_columns)
                .push(" FROM (VALUES ")
                .values_list(room_ids.iter().copied())
                .push(") AS r(id) CROSS JOIN LATERAL (")
                .append(one_room(None, false))
                .push(") m) SELECT ")
                .push(&message_columns)
                .push(", ")
                .push(&rows::columns::<users::Model>("u"))
                .push(
                    " FROM m LEFT JOIN users u \
                     ON u.id = m.sender_id AND u.id IN (SELECT sender_id FROM m)",
                );
            q
        };
        rows::fetch(db, query, with_shared_senders()).await?
    } else {
        // SQLite caps a compound SELECT at 500 terms by default.
        if room_ids.len() > SQLITE_MAX_BRANCHES {
            let mut all = HashMap::new();
            for chunk in room_ids.chunks(SQLITE_MAX_BRANCHES) {
                all.extend(Box::pin(pages_of(db, chunk, page, messages)).await?);
            }
            return Ok(all);
        }
        let branches = room_ids.iter().map(|id| {
            let mut branch = Sql::new("SELECT * FROM (");
            branch.append(one_room(Some(*id), false)).push(")");
            branch
        });
        let mut query = Sql::join(branches, " UNION ALL ");
        query.push(&format!(
            " ORDER BY room_id, created_at {order}, id {order}"
        ));
        let messages = rows::fetch(db, query, |row| messages::Model::read(row, 0)).await?;
        with_senders(db, messages).await?
    };
    let mut grouped: HashMap<Uuid, Vec<MessageWithSender>> = HashMap::new();
    for (message, sender) in found {
        grouped
            .entry(message.room_id)
            .or_default()
            .push((message, sender));
    }
    if postgres && room_ids.len() > 1 {
        // In the order the page walks (see `Slice::from_probe`).
        for rows in grouped.values_mut() {
            rows.sort_unstable_by_key(|(m, _)| (m.created_at, m.id));
            if let Page::Backward { .. } = page {
                rows.reverse();
            }
        }
    }
    Ok(room_ids
        .iter()
        .map(|id| {
            (
                *id,
                Slice::from_probe(page, grouped.remove(id).unwrap_or_default()),
            )
        })
        .collect())
}

/// Reads a message and its joined sender (the columns of `users` after the message's), each
/// sender once per statement, by the id in its first column, and shared: a page is 50 messages
/// from a room's few members, and reading a user (19 columns) was an eighth of a page
/// request's instructions (docs/performance.md, "Where a page request goes").
fn with_shared_senders()
-> impl Fn(&dyn rows::Row) -> Result<MessageWithSender, DbErr> + Send + 'static {
    let read = RefCell::new(HashMap::<Uuid, Arc<users::Model>>::new());
    move |row| {
        let message = messages::Model::read(row, 0)?;
        let at = messages::Model::COLUMNS;
        if row.is_null(at) {
            return Ok((message, None));
        }
        let id = row.uuid(at)?;
        if let Some(sender) = read.borrow().get(&id) {
            return Ok((message, Some(Arc::clone(sender))));
        }
        let sender = Arc::new(users::Model::read(row, at)?);
        read.borrow_mut().insert(id, Arc::clone(&sender));
        Ok((message, Some(sender)))
    }
}

/// The newest message that is not deleted, per room, with its sender: a page of one per room
/// (see [`pages`]), each a backward index scan that stops at the first undeleted message. It
/// was a `ROW_NUMBER()` over every undeleted message of the rooms, which read and sorted whole
/// histories to keep one row each (a room list of 20 rooms of 400 messages: 8,000 rows).
pub async fn last_in_rooms(
    db: &impl Source,
    room_ids: &[Uuid],
) -> Result<HashMap<Uuid, MessageWithSender>, DbErr> {
    let newest = Page::Backward {
        before: None,
        limit: 1,
    };
    let pages = pages_of(db, room_ids, newest, Messages::Undeleted).await?;
    Ok(pages
        .into_iter()
        .filter_map(|(room_id, slice)| Some((room_id, slice.items.into_iter().next()?)))
        .collect())
}

/// A reaction and who made it.
pub type Reaction = (message_reactions::Model, Option<users::Model>);

/// A message and its sender (`None` for a system message or a sender who no longer exists).
pub type MessageWithSender = (messages::Model, Option<Arc<users::Model>>);

/// Reactions per message with their users, oldest first, in one statement.
///
/// On PostgreSQL each message's reactions are one probe of the reactions' primary key (a
/// LATERAL join): given a list of a few hundred ids the planner otherwise scans the whole
/// table, since with its default costs (pages read from disk) the probes look dearer. `OFFSET
/// 0` keeps it from flattening the join back into that scan. Measured on the benchmark's data
/// (50,000 reactions, a page of 400 messages): 1.5 ms against 4.3 ms.
pub async fn reactions(
    db: &impl Source,
    message_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<Reaction>>, DbErr> {
    if message_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let backend = db.get_database_backend();
    let mut query = Sql::new("SELECT ");
    query
        .push(&rows::columns::<message_reactions::Model>("r"))
        .push(", ")
        .push(&rows::columns::<users::Model>("u"));
    if backend == sea_orm::DatabaseBackend::Postgres {
        query
            .push(" FROM (VALUES ")
            .values_list(message_ids.iter().copied())
            .push(
                ") AS k(id) CROSS JOIN LATERAL \
                 (SELECT * FROM message_reactions WHERE message_id = k.id OFFSET 0) r",
            );
    } else {
        query
            .push(" FROM (SELECT * FROM message_reactions WHERE message_id IN (")
            .list(message_ids.iter().copied())
            .push(")) r");
    }
    query.push(" LEFT JOIN users u ON u.id = r.user_id ORDER BY r.created_at, r.user_id");
    let rows: Vec<Reaction> = rows::fetch(db, query, rows::joined).await?;
    let mut grouped: HashMap<Uuid, Vec<Reaction>> = HashMap::new();
    for row in rows {
        grouped.entry(row.0.message_id).or_default().push(row);
    }
    Ok(grouped)
}

/// Pairs each message with its sender, fetched in one statement for all of them.
pub async fn with_senders(
    db: &impl Source,
    messages: Vec<messages::Model>,
) -> Result<Vec<MessageWithSender>, DbErr> {
    let mut ids: Vec<Uuid> = messages.iter().filter_map(|m| m.sender_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let users: HashMap<Uuid, Arc<users::Model>> = if ids.is_empty() {
        HashMap::new()
    } else {
        super::user::many(db, ids)
            .await?
            .into_iter()
            .map(|u| (u.id, Arc::new(u)))
            .collect()
    };
    Ok(messages
        .into_iter()
        .map(|m| {
            let sender = m.sender_id.and_then(|id| users.get(&id).cloned());
            (m, sender)
        })
        .collect())
}

#[derive(FromQueryResult)]
struct Reader {
    message_id: Uuid,
    user_id: Uuid,
}

/// Who has read each message: active members (other than the sender) whose read marker is at
/// or past it.
pub async fn readers(
    db: &impl ConnectionTrait,
    message_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<Uuid>>, DbErr> {
    if message_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut query = Sql::new(
        "SELECT m.id AS message_id, rm.user_id AS user_id \
         FROM messages m \
         JOIN room_members rm ON rm.room_id = m.room_id AND rm.left_at IS NULL \
         JOIN messages r ON r.id = rm.last_read_message_id \
         WHERE m.id IN (",
    );
    query.list(message_ids.iter().copied()).push(
        ") AND (m.sender_id IS NULL OR rm.user_id <> m.sender_id) \
           AND (r.created_at > m.created_at OR (r.created_at = m.created_at AND r.id >= m.id)) \
         ORDER BY rm.user_id",
    );
    let rows = Reader::find_by_statement(query.statement(db.get_database_backend()))
        .all(db)
        .await?;
    let mut grouped: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for row in rows {
        grouped.entry(row.message_id).or_default().push(row.user_id);
    }
    Ok(grouped)
}
