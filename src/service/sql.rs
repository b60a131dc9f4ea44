//! Hand-written SQL for the queries the query builder cannot say (window functions, keyset
//! comparisons over joins). Written once with `?` placeholders; numbered for PostgreSQL here.

use sea_orm::{DatabaseBackend, Statement, Value};

/// A statement for `backend` from SQL using `?` placeholders.
pub fn stmt(backend: DatabaseBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DatabaseBackend::Postgres => {
            let mut numbered = String::with_capacity(sql.len() + 8);
            let mut n = 0;
            for ch in sql.chars() {
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
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// `?, ?, ?` for `n` values (an `IN (...)` list).
pub fn list(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// `(?), (?), (?)` for `n` values: a one-column `VALUES` list, one row per value.
pub fn values_list(n: usize) -> String {
    vec!["(?)"; n].join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_placeholders_for_postgres() {
        let s = stmt(DatabaseBackend::Postgres, "a = ? AND b IN (?, ?)", vec![]);
        assert_eq!(s.sql, "a = $1 AND b IN ($2, $3)");
        let s = stmt(DatabaseBackend::Sqlite, "a = ?", vec![]);
        assert_eq!(s.sql, "a = ?");
        assert_eq!(list(3), "?, ?, ?");
        assert_eq!(values_list(2), "(?), (?)");
    }
}
