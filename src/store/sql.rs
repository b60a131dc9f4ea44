//! Hand-written SQL for the queries the query builder cannot say (window functions, keyset
//! comparisons over joins, LATERAL joins), as [`Sql`]: the text and the values it binds,
//! written together so a placeholder can never drift from its value.

use sea_orm::{DatabaseBackend, Statement, Value};

/// SQL text with `?` placeholders and their values, in order. Text goes in with
/// [`push`](Self::push) (never a placeholder of its own), each value with [`bind`](Self::bind)
/// or the list helpers, which write its placeholder at the same time; fragments built apart
/// join with [`append`](Self::append), carrying their values along.
///
/// ```
/// # use confab::store::sql::Sql;
/// # use sea_orm::DatabaseBackend;
/// let mut q = Sql::new("SELECT id FROM messages WHERE room_id = ");
/// q.bind(7).push(" AND id IN (").list([1, 2]).push(")");
/// let statement = q.statement(DatabaseBackend::Postgres);
/// assert_eq!(statement.sql, "SELECT id FROM messages WHERE room_id = $1 AND id IN ($2, $3)");
/// ```
#[derive(Debug, Clone, Default)]
pub struct Sql {
    text: String,
    values: Vec<Value>,
}

impl Sql {
    /// A fragment of literal SQL.
    pub fn new(text: &str) -> Self {
        let mut sql = Self::default();
        sql.push(text);
        sql
    }

    /// Appends literal SQL. It must not contain a `?`: values go in with [`bind`](Self::bind).
    pub fn push(&mut self, text: &str) -> &mut Self {
        debug_assert!(
            !text.contains('?'),
            "a placeholder without its value: {text}"
        );
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `value`.
    pub fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.text.push('?');
        self.values.push(value.into());
        self
    }

    /// Appends `?, ?, ?`, one placeholder per value (the inside of an `IN (...)`).
    pub fn list<V: Into<Value>>(&mut self, values: impl IntoIterator<Item = V>) -> &mut Self {
        self.separated(values, ", ", "?")
    }

    /// Appends `(?), (?), (?)`: a one-column `VALUES` list, one row per value.
    pub fn values_list<V: Into<Value>>(
        &mut self,
        values: impl IntoIterator<Item = V>,
    ) -> &mut Self {
        self.separated(values, ", ", "(?)")
    }

    fn separated<V: Into<Value>>(
        &mut self,
        values: impl IntoIterator<Item = V>,
        separator: &str,
        each: &str,
    ) -> &mut Self {
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(separator);
            }
            self.text.push_str(each);
            self.values.push(value.into());
        }
        self
    }

    /// Appends another fragment, text and values.
    pub fn append(&mut self, other: Sql) -> &mut Self {
        self.text.push_str(&other.text);
        self.values.extend(other.values);
        self
    }

    /// The fragments one after another with `separator` between them.
    pub fn join(parts: impl IntoIterator<Item = Sql>, separator: &str) -> Sql {
        let mut joined = Sql::default();
        for (i, part) in parts.into_iter().enumerate() {
            if i > 0 {
                joined.push(separator);
            }
            joined.append(part);
        }
        joined
    }

    /// The statement for `backend`: placeholders numbered `$1, $2, ...` for PostgreSQL.
    pub fn statement(self, backend: DatabaseBackend) -> Statement {
        let text = match backend {
            DatabaseBackend::Postgres => {
                let mut numbered = String::with_capacity(self.text.len() + 8);
                let mut n = 0;
                for ch in self.text.chars() {
                    if ch == '?' {
                        n += 1;
                        numbered.push('$');
                        numbered.push_str(&n.to_string());
                    } else {
                        numbered.push(ch);
                    }
                }
                numbered
            }
            _ => self.text,
        };
        Statement::from_sql_and_values(backend, text, self.values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_stay_with_their_placeholders() {
        let mut branch = Sql::new("SELECT * FROM t WHERE a = ");
        branch.bind(1).push(" LIMIT ").bind(2);
        let mut q = Sql::join([branch.clone(), branch], " UNION ALL ");
        q.push(" AND b IN (")
            .list([3, 4])
            .push(") AND c IN (VALUES ");
        q.values_list([5]).push(")");
        let s = q.statement(DatabaseBackend::Postgres);
        assert_eq!(
            s.sql,
            "SELECT * FROM t WHERE a = $1 LIMIT $2 UNION ALL SELECT * FROM t WHERE a = $3 \
             LIMIT $4 AND b IN ($5, $6) AND c IN (VALUES ($7))"
        );
        let values: Vec<Value> = [1, 2, 1, 2, 3, 4, 5].into_iter().map(Value::from).collect();
        assert_eq!(s.values.map(|v| v.0), Some(values));
        let s = Sql::new("a = ")
            .bind(1)
            .clone()
            .statement(DatabaseBackend::Sqlite);
        assert_eq!(s.sql, "a = ?");
    }
}
