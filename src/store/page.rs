//! Keyset pagination on `(created_at, id)`: the arguments a page is asked with, checked once.

use chrono::{DateTime, Datelike, FixedOffset};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect, Select};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

pub const MAX_PAGE: usize = 100;
pub const DEFAULT_PAGE: usize = 20;

/// A position in a list ordered by `(at, id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub at: DateTime<FixedOffset>,
    pub id: Uuid,
}

/// Which slice of an ordered list to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Page {
    /// The first `limit` items after `after`, in list order.
    Forward { after: Option<Key>, limit: usize },
    /// The last `limit` items before `before` (still returned in list order).
    Backward { before: Option<Key>, limit: usize },
}

impl Page {
    /// Checks Relay arguments: `first` or `last` (not both), at most [`MAX_PAGE`]; `default`
    /// when neither is given.
    pub fn from_args(
        first: Option<i32>,
        after: Option<Key>,
        last: Option<i32>,
        before: Option<Key>,
        default: Page,
    ) -> ApiResult<Self> {
        // A cursor is ours only with a time we could have written.
        for (field, key) in [("after", after), ("before", before)] {
            if let Some(key) = key
                && !super::YEARS.contains(&key.at.naive_utc().year())
            {
                return Err(ApiError::bad_input(field, "not a valid cursor"));
            }
        }
        let size = |field: &str, n: i32| -> ApiResult<usize> {
            usize::try_from(n)
                .ok()
                .filter(|n| *n <= MAX_PAGE)
                .ok_or_else(|| {
                    ApiError::bad_input(field, format!("{field} must be between 0 and {MAX_PAGE}"))
                })
        };
        match (first, last) {
            (Some(_), Some(_)) => Err(ApiError::bad_input("last", "pass first or last, not both")),
            (Some(n), None) if before.is_none() => Ok(Self::Forward {
                after,
                limit: size("first", n)?,
            }),
            (None, Some(n)) if after.is_none() => Ok(Self::Backward {
                before,
                limit: size("last", n)?,
            }),
            (None, None) if after.is_some() => Ok(Self::Forward {
                after,
                limit: DEFAULT_PAGE,
            }),
            (None, None) if before.is_some() => Ok(Self::Backward {
                before,
                limit: DEFAULT_PAGE,
            }),
            (None, None) => Ok(default),
            _ => Err(ApiError::bad_input(
                "after",
                "use first with after, or last with before",
            )),
        }
    }

    /// The same page read in the opposite list order: a list shown newest first pages
    /// forward where the stored order pages backward, and the other way round.
    pub fn reversed(self) -> Self {
        match self {
            Self::Forward { after, limit } => Self::Backward {
                before: after,
                limit,
            },
            Self::Backward { before, limit } => Self::Forward {
                after: before,
                limit,
            },
        }
    }

    pub fn limit(&self) -> usize {
        match self {
            Self::Forward { limit, .. } | Self::Backward { limit, .. } => *limit,
        }
    }
}

/// One page of rows, oldest first, and whether more lie beyond each end.
#[derive(Debug, Clone)]
pub struct Slice<T> {
    pub items: Vec<T>,
    pub has_previous: bool,
    pub has_next: bool,
}

impl<T> Slice<T> {
    /// The page in the opposite list order (see [`Page::reversed`]).
    pub fn reversed(mut self) -> Self {
        self.items.reverse();
        Self {
            items: self.items,
            has_previous: self.has_next,
            has_next: self.has_previous,
        }
    }

    /// Builds a page from rows fetched `limit + 1` at a time walking in the page's direction
    /// (so in reverse list order for a backward page), trimming the probe row.
    pub fn from_probe(page: Page, mut rows: Vec<T>) -> Self {
        let limit = page.limit();
        let more = rows.len() > limit;
        rows.truncate(limit);
        match page {
            Page::Forward { after, .. } => Self {
                items: rows,
                has_previous: after.is_some(),
                has_next: more,
            },
            Page::Backward { before, .. } => {
                rows.reverse();
                Self {
                    items: rows,
                    has_previous: more,
                    has_next: before.is_some(),
                }
            }
        }
    }
}

/// Narrows a query over a list ordered by `(at_col, id_col)` to one page: the rows past the
/// page's cursor in the direction it walks, in that order, one more than the page holds (the
/// probe [`Slice::from_probe`] trims). `newest_first` says which way the list itself runs.
pub fn keyset<E: EntityTrait>(
    query: Select<E>,
    at_col: E::Column,
    id_col: E::Column,
    page: Page,
    newest_first: bool,
) -> Select<E> {
    let (cursor, limit, descending) = match page {
        Page::Forward { after, limit } => (after, limit, newest_first),
        Page::Backward { before, limit } => (before, limit, !newest_first),
    };
    let mut query = query;
    if let Some(Key { at, id }) = cursor {
        // A row-value comparison, which both databases turn into a range of the (…, at, id)
        // index: the scan starts at the cursor. The same test spelt `at < ? OR (at = ? AND
        // id < ?)` is only a filter, and a page deep in a long list read every row before it.
        let row = Expr::tuple([at_col.into_expr(), id_col.into_expr()]);
        let key = Expr::tuple([Expr::val(at), Expr::val(id)]);
        query = query.filter(if descending { row.lt(key) } else { row.gt(key) });
    }
    let order = if descending { Order::Desc } else { Order::Asc };
    query
        .order_by(at_col, order.clone())
        .order_by(id_col, order)
        .limit((limit + 1) as u64)
}
