//! Models read from a row by column position, for the queries that return many rows.
//!
//! sea-orm's derived `FromQueryResult` finds every column of every row by name, and first
//! formats that name (`format!("{prefix}{column}")`) into a new string: for a request that
//! reads hundreds of rows, formatting and looking up names costs more than everything else
//! in it (docs/performance.md, "Reading rows"). Here a query selects [`columns`] of an
//! entity, which lists them in the entity's own order, and [`Positional::read`] takes them by
//! index from a given offset. A [`Row`] is one sqlx read (through sea-orm) or one a SQLite
//! reader is stepping on its own thread: [`fetch`] runs a query on the readers when its
//! [`Source`] has them (`crate::db::direct`), so the same readers serve both.
//!
//! Each `read` names every field of its model, so a column added to an entity (and so to the
//! generated model) does not compile until it is read here too; the `rows` integration test
//! compares each reader with sea-orm's on fully populated rows of both backends.

use entity::{message_reactions, messages, room_members, rooms, users};
use sea_orm::prelude::{DateTimeWithTimeZone, Json};
use sea_orm::sqlx::{Decode, Postgres, Row as _, Sqlite, Type, ValueRef as _};
use sea_orm::{
    DbErr, EntityName, EntityTrait, IdenStatic, Iterable, QueryResult, Statement, TryGetable,
};
use uuid::Uuid;

use super::sql::Sql;
pub use crate::db::direct::Row;
use crate::db::direct::Source;

/// A model read from `COLUMNS` consecutive columns of a row, in its entity's column order.
pub trait Positional: Sized {
    type Entity: EntityTrait;
    const COLUMNS: usize;

    /// The model from the columns at `at..at + COLUMNS`.
    fn read(row: &dyn Row, at: usize) -> Result<Self, DbErr>;

    /// The model, or `None` where an outer join found none (its first column, a key, is
    /// NULL).
    fn read_optional(row: &dyn Row, at: usize) -> Result<Option<Self>, DbErr> {
        if row.is_null(at) {
            Ok(None)
        } else {
            Self::read(row, at).map(Some)
        }
    }
}

/// A column's Rust type, read from a [`Row`].
pub trait Column: Sized {
    fn get(row: &dyn Row, at: usize) -> Result<Self, DbErr>;
}

macro_rules! column {
    ($($t:ty => $read:ident),* $(,)?) => {$(
        impl Column for $t {
            fn get(row: &dyn Row, at: usize) -> Result<Self, DbErr> {
                row.$read(at)
            }
        }
    )*};
}

/// A nullable column. sea-orm reads an `Option<T>` by decoding a `T` and turning the error a
/// NULL gives into `None`, and that error formats the column's index into a new string first:
/// for the page benchmark's ~300 NULLs per answer, 7.5% of the server's instructions
/// (callgrind). A NULL is seen here before anything is decoded.
impl<T: Column> Column for Option<T> {
    fn get(row: &dyn Row, at: usize) -> Result<Self, DbErr> {
        if row.is_null(at) {
            Ok(None)
        } else {
            T::get(row, at).map(Some)
        }
    }
}

column!(
    Uuid => uuid,
    String => text,
    i32 => int32,
    i64 => int64,
    bool => boolean,
    Vec<u8> => bytes,
    DateTimeWithTimeZone => time,
    Json => json,
);

/// The columns of one row from a position on, read in turn: a reader lists its model's fields
/// in column order (struct fields are evaluated in the order written), so no index is written
/// by hand.
struct Columns<'a> {
    row: &'a dyn Row,
    at: usize,
}

impl Columns<'_> {
    fn next<T: Column>(&mut self) -> Result<T, DbErr> {
        let at = self.at;
        self.at += 1;
        T::get(self.row, at)
    }
}

/// A column type sea-orm and both of sqlx's drivers can decode.
trait SqlxColumn:
    TryGetable
    + for<'r> Decode<'r, Postgres>
    + Type<Postgres>
    + for<'r> Decode<'r, Sqlite>
    + Type<Sqlite>
{
}

impl<T> SqlxColumn for T where
    T: TryGetable
        + for<'r> Decode<'r, Postgres>
        + Type<Postgres>
        + for<'r> Decode<'r, Sqlite>
        + Type<Sqlite>
{
}

/// The value is decoded without sqlx's per-value type check (sea-orm's path clones the
/// column's type info and compares it with `T`'s for every value: on PostgreSQL 6.5% of the
/// nested benchmark's instructions, callgrind; on SQLite about 6% of the server's CPU per
/// nested request, docs/performance.md). The queries that use these readers select the
/// entity's own columns, whose types the migrations fix, and the `rows` integration test
/// reads every column of every reader on both backends and compares with sea-orm.
fn decode<T: SqlxColumn>(row: &QueryResult, at: usize) -> Result<T, DbErr> {
    let decoded = if let Some(row) = row.try_as_pg_row() {
        row.try_get_unchecked::<T, _>(at)
    } else if let Some(row) = row.try_as_sqlite_row() {
        row.try_get_unchecked::<T, _>(at)
    } else {
        return row.try_get_by_index(at);
    };
    decoded.map_err(|err| DbErr::Type(format!("column {at}: {err}")))
}

impl Row for QueryResult {
    fn is_null(&self, at: usize) -> bool {
        if let Some(row) = self.try_as_pg_row() {
            return row.try_get_raw(at).is_ok_and(|value| value.is_null());
        }
        if let Some(row) = self.try_as_sqlite_row() {
            return row.try_get_raw(at).is_ok_and(|value| value.is_null());
        }
        false
    }
    fn uuid(&self, at: usize) -> Result<Uuid, DbErr> {
        decode(self, at)
    }
    fn text(&self, at: usize) -> Result<String, DbErr> {
        decode(self, at)
    }
    fn int32(&self, at: usize) -> Result<i32, DbErr> {
        decode(self, at)
    }
    fn int64(&self, at: usize) -> Result<i64, DbErr> {
        decode(self, at)
    }
    fn boolean(&self, at: usize) -> Result<bool, DbErr> {
        decode(self, at)
    }
    fn bytes(&self, at: usize) -> Result<Vec<u8>, DbErr> {
        decode(self, at)
    }
    fn time(&self, at: usize) -> Result<DateTimeWithTimeZone, DbErr> {
        decode(self, at)
    }
    fn json(&self, at: usize) -> Result<Json, DbErr> {
        decode(self, at)
    }
}

/// A model and its outer-joined partner, from a row that selects [`columns`] of `A`, then of
/// `B`.
pub fn joined<A: Positional, B: Positional>(row: &dyn Row) -> Result<(A, Option<B>), DbErr> {
    Ok((A::read(row, 0)?, B::read_optional(row, A::COLUMNS)?))
}

/// Runs `query` and reads each row with `read`: on a SQLite reader's own thread where `db`
/// has them, else through sqlx.
pub async fn fetch<T: Send + 'static>(
    db: &impl Source,
    query: Sql,
    read: impl Fn(&dyn Row) -> Result<T, DbErr> + Send + 'static,
) -> Result<Vec<T>, DbErr> {
    fetch_statement(db, query.statement(db.get_database_backend()), read).await
}

/// [`fetch`] for a statement built elsewhere (a sea-orm `Select`, say, whose columns are in
/// the order `read` expects).
pub async fn fetch_statement<T: Send + 'static>(
    db: &impl Source,
    mut statement: Statement,
    read: impl Fn(&dyn Row) -> Result<T, DbErr> + Send + 'static,
) -> Result<Vec<T>, DbErr> {
    if let Some(reads) = db.direct()
        && let Some(readers) = reads.readers
        && let Some(values) = crate::db::direct::bind(&statement)
    {
        let started = std::time::Instant::now();
        let (sql, found) = readers
            .fetch(std::mem::take(&mut statement.sql), values, read)
            .await;
        statement.sql = sql;
        reads.ran(&statement, started.elapsed(), found.is_err());
        return found;
    }
    let rows = db.query_all_raw(statement).await?;
    // Sized up front: collecting into a `Result` loses the length, and the models are a few
    // hundred bytes each, moved on every doubling.
    let mut read_rows = Vec::with_capacity(rows.len());
    for row in &rows {
        read_rows.push(read(row)?);
    }
    Ok(read_rows)
}

/// The rows of `M`'s table whose `id` is one of `ids` (in no particular order), read by
/// position: one statement however many.
pub async fn by_id<M: Positional + Send + 'static>(
    db: &impl Source,
    ids: Vec<Uuid>,
) -> Result<Vec<M>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = Sql::new("SELECT ");
    query
        .push(&columns::<M>("t"))
        .push(" FROM \"")
        .push(M::Entity::default().table_name())
        .push("\" t WHERE t.id IN (")
        .list(ids)
        .push(")");
    fetch(db, query, |row| M::read(row, 0)).await
}

/// `t."a", t."b", ...`: every column of `M`'s entity as `table` (a name or an alias), in the
/// order [`Positional::read`] expects.
pub fn columns<M: Positional>(table: &str) -> String {
    <M::Entity as EntityTrait>::Column::iter()
        .map(|c| format!("{table}.\"{}\"", c.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Positional for users::Model {
    type Entity = users::Entity;
    const COLUMNS: usize = 19;

    fn read(row: &dyn Row, at: usize) -> Result<Self, DbErr> {
        let mut c = Columns { row, at };
        Ok(Self {
            id: c.next()?,
            username: c.next()?,
            email: c.next()?,
            display_name: c.next()?,
            password_hash: c.next()?,
            role: c.next()?,
            status: c.next()?,
            last_seen_at: c.next()?,
            email_verified_at: c.next()?,
            totp_secret: c.next()?,
            totp_enabled_at: c.next()?,
            avatar_blob_id: c.next()?,
            created_at: c.next()?,
            updated_at: c.next()?,
            deleted_at: c.next()?,
            totp_last_step: c.next()?,
            banned_at: c.next()?,
            banned_until: c.next()?,
            ban_reason: c.next()?,
        })
    }
}

impl Positional for messages::Model {
    type Entity = messages::Entity;
    const COLUMNS: usize = 14;

    fn read(row: &dyn Row, at: usize) -> Result<Self, DbErr> {
        let mut c = Columns { row, at };
        Ok(Self {
            id: c.next()?,
            room_id: c.next()?,
            sender_id: c.next()?,
            kind: c.next()?,
            body: c.next()?,
            ciphertext: c.next()?,
            epoch: c.next()?,
            reply_to_id: c.next()?,
            metadata: c.next()?,
            created_at: c.next()?,
            edited_at: c.next()?,
            deleted_at: c.next()?,
            reacted: c.next()?,
            seq: c.next()?,
        })
    }
}

impl Positional for rooms::Model {
    type Entity = rooms::Entity;
    const COLUMNS: usize = 13;

    fn read(row: &dyn Row, at: usize) -> Result<Self, DbErr> {
        let mut c = Columns { row, at };
        Ok(Self {
            id: c.next()?,
            kind: c.next()?,
            name: c.next()?,
            topic: c.next()?,
            join_code: c.next()?,
            max_members: c.next()?,
            created_by: c.next()?,
            epoch: c.next()?,
            direct_key: c.next()?,
            archived_at: c.next()?,
            created_at: c.next()?,
            updated_at: c.next()?,
            deleted_at: c.next()?,
        })
    }
}

impl Positional for room_members::Model {
    type Entity = room_members::Entity;
    const COLUMNS: usize = 8;

    fn read(row: &dyn Row, at: usize) -> Result<Self, DbErr> {
        let mut c = Columns { row, at };
        Ok(Self {
            room_id: c.next()?,
            user_id: c.next()?,
            role: c.next()?,
            joined_at: c.next()?,
            left_at: c.next()?,
            last_delivered_message_id: c.next()?,
            last_read_message_id: c.next()?,
            muted_until: c.next()?,
        })
    }
}

impl Positional for message_reactions::Model {
    type Entity = message_reactions::Entity;
    const COLUMNS: usize = 4;

    fn read(row: &dyn Row, at: usize) -> Result<Self, DbErr> {
        let mut c = Columns { row, at };
        Ok(Self {
            message_id: c.next()?,
            user_id: c.next()?,
            emoji: c.next()?,
            created_at: c.next()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed<M: Positional>() -> usize {
        <M::Entity as EntityTrait>::Column::iter().count()
    }

    #[test]
    fn every_column_is_read() {
        assert_eq!(users::Model::COLUMNS, listed::<users::Model>());
        assert_eq!(messages::Model::COLUMNS, listed::<messages::Model>());
        assert_eq!(rooms::Model::COLUMNS, listed::<rooms::Model>());
        assert_eq!(
            room_members::Model::COLUMNS,
            listed::<room_members::Model>()
        );
        assert_eq!(
            message_reactions::Model::COLUMNS,
            listed::<message_reactions::Model>()
        );
        assert_eq!(
            columns::<message_reactions::Model>("r"),
            r#"r."message_id", r."user_id", r."emoji", r."created_at""#
        );
    }
}
