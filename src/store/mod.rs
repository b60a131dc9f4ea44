//! Reading and writing rows: every query that is more than a plain entity call, in one place.
//!
//! Services decide what may happen; this layer knows how the rows are laid out and how to
//! reach them quickly on both backends. Hand-written SQL is built with [`sql::Sql`], which
//! keeps each fragment with the values it binds, and rows are read by column position with
//! [`rows`]. Nothing here knows who is asking: callers check access first.

pub mod blob;
pub mod call;
pub mod call_history;
pub mod deleted_uploads;
pub mod kinds;
pub mod member;
pub mod message;
pub mod mls;
pub mod page;
pub mod purge;
pub mod receipt;
pub mod retention;
pub mod room;
pub mod rows;
pub mod search;
pub mod seq;
pub mod sql;
pub mod stint;
pub mod unread;
pub mod upload;
pub mod user;

/// The years a stored time may fall in (UTC): what both backends store and compare
/// (PostgreSQL's `timestamptz` ends in 294276, chrono's range and SQLite's text order differ
/// past year 9999 and before year 1). Times from clients outside it are refused.
pub const YEARS: std::ops::RangeInclusive<i32> = 1..=9999;

/// Whether `err` is a unique constraint refusing a row.
pub fn is_unique_violation(err: &sea_orm::DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}
