//! Relay cursors: an opaque (base64 JSON) form of a keyset position `(timestamp, id)`.

use async_graphql::OutputType;
use async_graphql::connection::{Connection, CursorType, Edge, OpaqueCursor};
use chrono::DateTime;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::store::page::{DEFAULT_PAGE, Key, Page, Slice};

#[derive(Serialize, Deserialize)]
pub struct CursorKey(i64, Uuid);

/// An edge's position, turned into its opaque string only when a client selects it (the
/// edge's `cursor`, `pageInfo`'s `startCursor` and `endCursor`): a page of 50 messages that
/// asks only for `endCursor` encodes one cursor, not 50.
#[derive(Clone, Copy)]
pub enum Cursor {
    /// A keyset position in a list ordered by `(time, id)`.
    Key(Key),
    /// How many results come before this one in a ranked list (search).
    Offset(u64),
}

impl CursorType for Cursor {
    type Error = &'static str;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        match decode("cursor", Some(s)) {
            Ok(Some(key)) => Ok(Self::Key(key)),
            _ => decode_offset("cursor", Some(s))
                .map(Self::Offset)
                .map_err(|_| "not a valid cursor"),
        }
    }

    fn encode_cursor(&self) -> String {
        match *self {
            Self::Key(key) => encode(key),
            Self::Offset(offset) => encode_offset(offset),
        }
    }
}

/// A page from Relay arguments (`first`/`after` or `last`/`before`); `default` when no size
/// or cursor is given.
pub fn page(
    first: Option<i32>,
    after: Option<&str>,
    last: Option<i32>,
    before: Option<&str>,
    default: Page,
) -> ApiResult<Page> {
    Page::from_args(
        first,
        decode("after", after)?,
        last,
        decode("before", before)?,
        default,
    )
}

/// A forward-only page (`first`/`after`), as most lists take; 20 items when `first` is omitted.
pub fn forward(first: Option<i32>, after: Option<&str>) -> ApiResult<Page> {
    page(
        first,
        after,
        None,
        None,
        Page::Forward {
            after: None,
            limit: DEFAULT_PAGE,
        },
    )
}

/// A Relay connection over a keyset slice: `key` gives each item's position, `node` its type.
pub fn connection<T, N: OutputType>(
    slice: Slice<T>,
    key: impl Fn(&T) -> Key,
    node: impl Fn(T) -> N,
) -> Connection<Cursor, N> {
    let mut connection = Connection::new(slice.has_previous, slice.has_next);
    connection.edges.extend(
        slice
            .items
            .into_iter()
            .map(|item| Edge::new(Cursor::Key(key(&item)), node(item))),
    );
    connection
}

/// The cursor string of a position.
pub fn encode(key: Key) -> String {
    OpaqueCursor(CursorKey(key.at.timestamp_micros(), key.id)).encode_cursor()
}

/// The position a client's cursor names; BAD_USER_INPUT on `field` when it is not ours.
pub fn decode(field: &str, cursor: Option<&str>) -> ApiResult<Option<Key>> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    let bad = || ApiError::bad_input(field, "not a valid cursor");
    let OpaqueCursor(CursorKey(micros, id)) =
        OpaqueCursor::<CursorKey>::decode_cursor(cursor).map_err(|_| bad())?;
    let at = DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
    Ok(Some(Key {
        at: at.fixed_offset(),
        id,
    }))
}

/// The cursor of a position in a ranked list (search results).
pub fn encode_offset(offset: u64) -> String {
    OpaqueCursor(offset).encode_cursor()
}

/// The offset a ranked-list cursor names; BAD_USER_INPUT on `field` when it is not ours.
pub fn decode_offset(field: &str, cursor: Option<&str>) -> ApiResult<u64> {
    match cursor {
        None => Ok(0),
        Some(cursor) => OpaqueCursor::<u64>::decode_cursor(cursor)
            .map(|c| c.0)
            .map_err(|_| ApiError::bad_input(field, "not a valid cursor")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage() {
        let key = Key {
            at: crate::db::now(),
            id: Uuid::now_v7(),
        };
        let cursor = encode(key);
        assert_eq!(decode("after", Some(&cursor)).ok().flatten(), Some(key));
        assert!(decode("after", Some("nope")).is_err());
        assert!(decode("after", Some("")).is_err());
        assert_eq!(decode("after", None).ok().flatten(), None);
    }

    #[test]
    fn edge_cursors_encode_as_the_arguments_decode() {
        let key = Key {
            at: crate::db::now(),
            id: Uuid::now_v7(),
        };
        let cursor = Cursor::Key(key).encode_cursor();
        assert_eq!(cursor, encode(key));
        assert!(matches!(Cursor::decode_cursor(&cursor), Ok(Cursor::Key(k)) if k == key));
        let cursor = Cursor::Offset(7).encode_cursor();
        assert_eq!(decode_offset("after", Some(&cursor)).ok(), Some(7));
        assert!(matches!(
            Cursor::decode_cursor(&cursor),
            Ok(Cursor::Offset(7))
        ));
        assert!(Cursor::decode_cursor("nope").is_err());
    }
}
