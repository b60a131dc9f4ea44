//! Models read from a row by column position, for the queries that return many rows.
//!
//! sea-orm's derived `FromQueryResult` finds every column of every row by name, and first
//! formats that name (`format!("{prefix}{column}")`) into a new string: for the nested
//! benchmark's ~500 users, 400 messages and their members per request, formatting and
//! looking up names cost more instructions than everything else in the request
//! (callgrind). Here a query selects [`columns`] of an entity, which lists them in the
//! entity's own order, and [`Positional::read`] takes them by index from a given offset.
//!
//! Each `read` names every field of its model, so a column added to an entity (and so to the
//! generated model) does not compile until it is read here too; the `rows` integration test
//! compares each reader with sea-orm's on fully populated rows of both backends.

use entity::{message_reactions, messages, room_members, rooms, users};
use sea_orm::sqlx::{Row as _, ValueRef as _};
use sea_orm::{
    ConnectionTrait, DbErr, EntityTrait, IdenStatic, Iterable, QueryResult, TryGetable, Value,
};

use crate::service::sql;

/// A model read from `COLUMNS` consecutive columns of a row, in its entity's column order.
pub trait Positional: Sized {
    type Entity: EntityTrait;
    const COLUMNS: usize;

    /// The model from the columns at `at..at + COLUMNS`.
    fn read(row: &QueryResult, at: usize) -> Result<Self, DbErr>;

    /// The model, or `None` where an outer join found none (its first column, a key, is
    /// NULL).
    fn read_optional(row: &QueryResult, at: usize) -> Result<Option<Self>, DbErr> {
        if is_null(row, at) {
            Ok(None)
        } else {
            Self::read(row, at).map(Some)
        }
    }
}

/// The value of a nullable column. sea-orm reads an `Option<T>` by decoding a `T` and turning
/// the error a NULL gives into `None`, and that error formats the column's index into a new
/// string first: for the page benchmark's ~300 NULLs per answer, 7.5% of the server's
/// instructions (callgrind). A NULL is seen here before anything is decoded.
fn nullable<T: TryGetable>(row: &QueryResult, at: usize) -> Result<Option<T>, DbErr> {
    if is_null(row, at) {
        Ok(None)
    } else {
        row.try_get_by_index::<Option<T>>(at)
    }
}

/// Whether the column at `at` holds NULL; false when that cannot be told here (the decode that
/// follows then decides, as before).
fn is_null(row: &QueryResult, at: usize) -> bool {
    if let Some(row) = row.try_as_pg_row() {
        return row.try_get_raw(at).is_ok_and(|value| value.is_null());
    }
    if let Some(row) = row.try_as_sqlite_row() {
        return row.try_get_raw(at).is_ok_and(|value| value.is_null());
    }
    false
}

/// A model and its outer-joined partner, from a row that selects [`columns`] of `A`, then of
/// `B`.
pub fn joined<A: Positional, B: Positional>(row: &QueryResult) -> Result<(A, Option<B>), DbErr> {
    Ok((A::read(row, 0)?, B::read_optional(row, A::COLUMNS)?))
}

/// Runs `query` (with `?` placeholders for `values`) and reads each row with `read`.
pub async fn fetch<T>(
    db: &impl ConnectionTrait,
    query: &str,
    values: Vec<Value>,
    read: impl Fn(&QueryResult) -> Result<T, DbErr>,
) -> Result<Vec<T>, DbErr> {
    db.query_all_raw(sql::stmt(db.get_database_backend(), query, values))
        .await?
        .iter()
        .map(read)
        .collect()
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
    const COLUMNS: usize = 15;

    fn read(row: &QueryResult, at: usize) -> Result<Self, DbErr> {
        Ok(Self {
            id: row.try_get_by_index(at)?,
            username: row.try_get_by_index(at + 1)?,
            email: row.try_get_by_index(at + 2)?,
            display_name: row.try_get_by_index(at + 3)?,
            password_hash: row.try_get_by_index(at + 4)?,
            role: row.try_get_by_index(at + 5)?,
            status: row.try_get_by_index(at + 6)?,
            last_seen_at: nullable(row, at + 7)?,
            email_verified_at: nullable(row, at + 8)?,
            totp_secret: nullable(row, at + 9)?,
            totp_enabled_at: nullable(row, at + 10)?,
            avatar_blob_id: nullable(row, at + 11)?,
            created_at: row.try_get_by_index(at + 12)?,
            updated_at: row.try_get_by_index(at + 13)?,
            deleted_at: nullable(row, at + 14)?,
        })
    }
}

impl Positional for messages::Model {
    type Entity = messages::Entity;
    const COLUMNS: usize = 12;

    fn read(row: &QueryResult, at: usize) -> Result<Self, DbErr> {
        Ok(Self {
            id: row.try_get_by_index(at)?,
            room_id: row.try_get_by_index(at + 1)?,
            sender_id: nullable(row, at + 2)?,
            kind: row.try_get_by_index(at + 3)?,
            body: nullable(row, at + 4)?,
            ciphertext: nullable(row, at + 5)?,
            epoch: nullable(row, at + 6)?,
            reply_to_id: nullable(row, at + 7)?,
            metadata: nullable(row, at + 8)?,
            created_at: row.try_get_by_index(at + 9)?,
            edited_at: nullable(row, at + 10)?,
            deleted_at: nullable(row, at + 11)?,
        })
    }
}

impl Positional for rooms::Model {
    type Entity = rooms::Entity;
    const COLUMNS: usize = 13;

    fn read(row: &QueryResult, at: usize) -> Result<Self, DbErr> {
        Ok(Self {
            id: row.try_get_by_index(at)?,
            kind: row.try_get_by_index(at + 1)?,
            name: nullable(row, at + 2)?,
            topic: nullable(row, at + 3)?,
            join_code: nullable(row, at + 4)?,
            max_members: nullable(row, at + 5)?,
            created_by: row.try_get_by_index(at + 6)?,
            epoch: row.try_get_by_index(at + 7)?,
            direct_key: nullable(row, at + 8)?,
            archived_at: nullable(row, at + 9)?,
            created_at: row.try_get_by_index(at + 10)?,
            updated_at: row.try_get_by_index(at + 11)?,
            deleted_at: nullable(row, at + 12)?,
        })
    }
}

impl Positional for room_members::Model {
    type Entity = room_members::Entity;
    const COLUMNS: usize = 8;

    fn read(row: &QueryResult, at: usize) -> Result<Self, DbErr> {
        Ok(Self {
            room_id: row.try_get_by_index(at)?,
            user_id: row.try_get_by_index(at + 1)?,
            role: row.try_get_by_index(at + 2)?,
            joined_at: row.try_get_by_index(at + 3)?,
            left_at: nullable(row, at + 4)?,
            last_delivered_message_id: nullable(row, at + 5)?,
            last_read_message_id: nullable(row, at + 6)?,
            muted_until: nullable(row, at + 7)?,
        })
    }
}

impl Positional for message_reactions::Model {
    type Entity = message_reactions::Entity;
    const COLUMNS: usize = 4;

    fn read(row: &QueryResult, at: usize) -> Result<Self, DbErr> {
        Ok(Self {
            message_id: row.try_get_by_index(at)?,
            user_id: row.try_get_by_index(at + 1)?,
            emoji: row.try_get_by_index(at + 2)?,
            created_at: row.try_get_by_index(at + 3)?,
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
