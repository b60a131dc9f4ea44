//! SQLite reads decoded on the connection's own thread.
//!
//! sqlx runs each SQLite connection on a thread of its own and hands every row to the async
//! side as a copy: each column value duplicated with `sqlite3_value_dup` (a C `malloc` per
//! value, one more per text or blob), sent through a channel, then decoded and freed on a
//! runtime thread. For the statements that read many rows (the DataLoaders' lists), copying,
//! freeing and the hand-offs were most of a nested request's CPU on SQLite
//! (docs/performance.md, "SQLite, the embedded default"). Here a few threads each own a
//! connection (rusqlite, on the same bundled SQLite) and run a whole statement: they bind its
//! values, step its rows, read each into the caller's model straight from SQLite's column
//! buffers, and send the finished `Vec` back in one hand-off.
//!
//! Only reads through [`Reads`] come here, never a transaction's: the readers see what is
//! committed, as the pool's connections do. Their connections are `query_only`.

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, TimeZone as _, Utc};
use rusqlite::types::{Value as SqliteValue, ValueRef};
use rusqlite::{Connection, OpenFlags};
use sea_orm::prelude::{DateTimeWithTimeZone, Json};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult,
    QueryResult, Statement, Value,
};
use uuid::Uuid;

pub mod writer;

/// One row of a result, its columns read by position: a row sqlx read (through sea-orm), or
/// one a SQLite reader is stepping on its own thread ([`Readers`]).
pub trait Row {
    /// Whether the column holds NULL; false when that cannot be told (the read then decides).
    fn is_null(&self, at: usize) -> bool;
    fn uuid(&self, at: usize) -> Result<Uuid, DbErr>;
    fn text(&self, at: usize) -> Result<String, DbErr>;
    fn int32(&self, at: usize) -> Result<i32, DbErr>;
    fn int64(&self, at: usize) -> Result<i64, DbErr>;
    fn boolean(&self, at: usize) -> Result<bool, DbErr>;
    fn bytes(&self, at: usize) -> Result<Vec<u8>, DbErr>;
    fn time(&self, at: usize) -> Result<DateTimeWithTimeZone, DbErr>;
    fn json(&self, at: usize) -> Result<Json, DbErr>;
}

/// Called with every statement the HTTP workers' pools and the SQLite readers run (see
/// `AppState::with_statement_hook`).
pub type StatementHook = Arc<dyn Fn(&sea_orm::metric::Info<'_>) + Send + Sync>;

/// Statements each reader keeps prepared (sqlx's default cache holds 100).
const STATEMENTS: usize = 128;

type Job = Box<dyn FnOnce(&Connection) + Send>;

/// Threads with a SQLite connection each, taking statements from one queue. They stop, and
/// close their connections, when the last handle is dropped.
pub struct Readers {
    jobs: mpsc::Sender<Job>,
    /// Statements handed to the readers (tests check that reads take this path).
    ran: AtomicU64,
}

impl Readers {
    /// `threads` readers on the file of `db`'s SQLite pool. None for PostgreSQL, for an
    /// in-memory database (another connection would see another database) and for
    /// `threads == 0`.
    pub fn for_pool(db: &DatabaseConnection, threads: usize) -> Option<anyhow::Result<Self>> {
        if threads == 0 {
            return None;
        }
        sqlite_file(db).map(|path| Self::open(&path, threads))
    }

    fn open(path: &Path, threads: usize) -> anyhow::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads {
            let connection = open_reader(path)?;
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("confab-sqlite-read-{n}"))
                .spawn(move || serve(&connection, &queue))?;
        }
        Ok(Self {
            jobs,
            ran: AtomicU64::new(0),
        })
    }

    /// Runs `sql` with `values` on a reader and reads each row with `read` there. Gives the
    /// text back with the rows (the statement hook names it).
    pub async fn fetch<T: Send + 'static>(
        &self,
        sql: String,
        values: Vec<SqliteValue>,
        read: impl Fn(&dyn Row) -> Result<T, DbErr> + Send + 'static,
    ) -> (String, Result<Vec<T>, DbErr>) {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |connection| {
            let found = step(connection, &sql, values, &read, failed);
            let _ = answer.send((sql, found));
        });
        let stopped = || DbErr::Custom("the SQLite readers stopped".to_owned());
        if let Err(mpsc::SendError(_)) = self.jobs.send(job) {
            return (String::new(), Err(stopped()));
        }
        self.ran.fetch_add(1, Ordering::Relaxed);
        answered
            .await
            .unwrap_or_else(|_| (String::new(), Err(stopped())))
    }

    /// Statements handed to the readers so far.
    pub fn statements(&self) -> u64 {
        self.ran.load(Ordering::Relaxed)
    }
}

/// The file of `db`'s SQLite pool; None for PostgreSQL and for an in-memory database (another
/// connection would see another database).
fn sqlite_file(db: &DatabaseConnection) -> Option<std::path::PathBuf> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return None;
    }
    let options = db.get_sqlite_connection_pool().connect_options();
    let path = options.get_filename();
    path.is_file().then(|| path.to_path_buf())
}

fn open(path: &Path) -> anyhow::Result<Connection> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(super::SQLITE_BUSY_TIMEOUT)?;
    Ok(connection)
}

fn open_reader(path: &Path) -> anyhow::Result<Connection> {
    let connection = open(path)?;
    connection.execute_batch("PRAGMA query_only = ON")?;
    connection.set_prepared_statement_cache_capacity(STATEMENTS);
    Ok(connection)
}

/// A reader's loop: the next statement from the queue, until every handle is gone. A job
/// that panics fails its own caller (its answer is dropped), not the reader.
fn serve(connection: &Connection, queue: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        let job = {
            let queue = queue.lock().unwrap_or_else(PoisonError::into_inner);
            match queue.recv() {
                Ok(job) => job,
                Err(mpsc::RecvError) => return,
            }
        };
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(connection)));
    }
}

/// Runs `sql` (prepared once per connection) with `values` and reads every row with `read`.
/// The statement is reset when `rows` and then `statement` are dropped, so no read
/// transaction outlives it (one would hold the log back from checkpoints).
fn step<T>(
    connection: &Connection,
    sql: &str,
    values: Vec<SqliteValue>,
    read: &dyn Fn(&dyn Row) -> Result<T, DbErr>,
    failed: fn(rusqlite::Error) -> DbErr,
) -> Result<Vec<T>, DbErr> {
    let mut statement = connection.prepare_cached(sql).map_err(failed)?;
    let mut rows = statement
        .query(rusqlite::params_from_iter(values))
        .map_err(failed)?;
    let mut found = Vec::new();
    while let Some(row) = rows.next().map_err(failed)? {
        found.push(read(&Direct(row))?);
    }
    Ok(found)
}

fn failed(err: rusqlite::Error) -> DbErr {
    DbErr::Custom(format!("SQLite reader: {err}"))
}

/// The values of `statement` as SQLite stores them, encoded as sqlx encodes them for SQLite
/// (a UUID as its 16 bytes, a time as RFC 3339 text, a bool as 0 or 1), so a bound value
/// compares with the stored ones exactly as it does through the pool. None when a value is
/// of a type no reader query binds (the statement then goes through sqlx).
pub fn bind(statement: &Statement) -> Option<Vec<SqliteValue>> {
    let Some(values) = &statement.values else {
        return Some(Vec::new());
    };
    values.0.iter().map(sqlite_value).collect()
}

fn sqlite_value(value: &Value) -> Option<SqliteValue> {
    fn or_null<T>(value: &Option<T>, f: impl FnOnce(&T) -> SqliteValue) -> SqliteValue {
        value.as_ref().map_or(SqliteValue::Null, f)
    }
    let time = |t: &DateTimeWithTimeZone| {
        SqliteValue::Text(t.to_rfc3339_opts(SecondsFormat::AutoSi, false))
    };
    Some(match value {
        Value::Bool(v) => or_null(v, |b| SqliteValue::Integer(i64::from(*b))),
        Value::Int(v) => or_null(v, |n| SqliteValue::Integer(i64::from(*n))),
        Value::BigInt(v) => or_null(v, |n| SqliteValue::Integer(*n)),
        // A page's `LIMIT` (sea-orm's `limit` takes a u64), as sea-orm binds it.
        Value::BigUnsigned(Some(n)) => SqliteValue::Integer(i64::try_from(*n).ok()?),
        Value::BigUnsigned(None) => SqliteValue::Null,
        Value::String(v) => or_null(v, |s| SqliteValue::Text(s.clone())),
        Value::Bytes(v) => or_null(v, |b| SqliteValue::Blob(b.clone())),
        Value::Uuid(v) => or_null(v, |u| SqliteValue::Blob(u.as_bytes().to_vec())),
        Value::ChronoDateTimeWithTimeZone(v) => or_null(v, time),
        Value::ChronoDateTimeUtc(v) => or_null(v, |t| time(&t.fixed_offset())),
        // JSON as its text, as sqlx binds it.
        Value::Json(v) => or_null(v, |json| SqliteValue::Text(json.to_string())),
        _ => return None,
    })
}

/// A row a reader is stepping, read in place.
struct Direct<'a>(&'a rusqlite::Row<'a>);

impl Direct<'_> {
    fn value(&self, at: usize) -> Result<ValueRef<'_>, DbErr> {
        self.0.get_ref(at).map_err(failed)
    }

    fn mismatch(&self, at: usize, wanted: &str) -> DbErr {
        let found = self
            .0
            .get_ref(at)
            .map(|v| v.data_type().to_string())
            .unwrap_or_default();
        DbErr::Type(format!("column {at}: {wanted} expected, found {found}"))
    }

    fn str(&self, at: usize) -> Result<&str, DbErr> {
        match self.value(at)? {
            ValueRef::Text(text) => {
                std::str::from_utf8(text).map_err(|err| DbErr::Type(format!("column {at}: {err}")))
            }
            _ => Err(self.mismatch(at, "text")),
        }
    }
}

impl Row for Direct<'_> {
    fn is_null(&self, at: usize) -> bool {
        matches!(self.0.get_ref(at), Ok(ValueRef::Null))
    }

    fn uuid(&self, at: usize) -> Result<Uuid, DbErr> {
        match self.value(at)? {
            ValueRef::Blob(bytes) => {
                Uuid::from_slice(bytes).map_err(|err| DbErr::Type(format!("column {at}: {err}")))
            }
            _ => Err(self.mismatch(at, "a UUID's 16 bytes")),
        }
    }

    fn text(&self, at: usize) -> Result<String, DbErr> {
        self.str(at).map(str::to_owned)
    }

    fn int32(&self, at: usize) -> Result<i32, DbErr> {
        let n = self.int64(at)?;
        i32::try_from(n).map_err(|err| DbErr::Type(format!("column {at}: {err}")))
    }

    fn int64(&self, at: usize) -> Result<i64, DbErr> {
        match self.value(at)? {
            ValueRef::Integer(n) => Ok(n),
            _ => Err(self.mismatch(at, "integer")),
        }
    }

    fn boolean(&self, at: usize) -> Result<bool, DbErr> {
        self.int64(at).map(|n| n != 0)
    }

    fn bytes(&self, at: usize) -> Result<Vec<u8>, DbErr> {
        match self.value(at)? {
            ValueRef::Blob(bytes) => Ok(bytes.to_vec()),
            _ => Err(self.mismatch(at, "blob")),
        }
    }

    /// RFC 3339, as sqlx writes a time; SQLite's own `YYYY-MM-DD HH:MM:SS[.fff]` (UTC), as
    /// `CURRENT_TIMESTAMP` defaults write one; or seconds since 1970.
    fn time(&self, at: usize) -> Result<DateTimeWithTimeZone, DbErr> {
        if let ValueRef::Integer(seconds) = self.value(at)? {
            return Utc
                .timestamp_opt(seconds, 0)
                .single()
                .map(|t| t.fixed_offset())
                .ok_or_else(|| self.mismatch(at, "a time"));
        }
        let text = self.str(at)?;
        DateTime::parse_from_rfc3339(text)
            .or_else(|_| {
                NaiveDateTime::parse_from_str(text, "%F %T%.f").map(|t| t.and_utc().fixed_offset())
            })
            .map_err(|err| DbErr::Type(format!("column {at}: {err}: {text}")))
    }

    fn json(&self, at: usize) -> Result<Json, DbErr> {
        let text = match self.value(at)? {
            ValueRef::Text(text) | ValueRef::Blob(text) => text,
            _ => return Err(self.mismatch(at, "JSON text")),
        };
        serde_json::from_slice(text).map_err(|err| DbErr::Json(err.to_string()))
    }
}

/// The pool for reads: with SQLite's [`Readers`] where the process has them, so the
/// readers of `store` that take a [`Source`] run there; every other statement goes to the
/// pool through sqlx. Made by `AppState::reads`.
#[derive(Clone, Copy)]
pub struct Reads<'a> {
    pub db: &'a DatabaseConnection,
    pub readers: Option<&'a Readers>,
    pub on_statement: Option<&'a StatementHook>,
}

/// A connection the readers of `store` run on: the pool or a transaction through sqlx, or
/// [`Reads`], whose SQLite readers run a whole statement on their own thread.
pub trait Source: ConnectionTrait {
    /// This source as [`Reads`], the one kind that may have SQLite readers.
    fn direct(&self) -> Option<&Reads<'_>> {
        None
    }
}

impl Source for DatabaseConnection {}
impl Source for DatabaseTransaction {}

impl Source for Reads<'_> {
    fn direct(&self) -> Option<&Reads<'_>> {
        Some(self)
    }
}

impl Reads<'_> {
    /// Tells the statement hook (tests count statements with it) that a reader ran one.
    pub fn ran(&self, statement: &Statement, elapsed: Duration, failed: bool) {
        if let Some(hook) = self.on_statement {
            hook(&sea_orm::metric::Info {
                elapsed,
                statement,
                failed,
            });
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Reads<'_> {
    fn get_database_backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.db.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.db.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.db.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.db.query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.db.support_returning()
    }
}
