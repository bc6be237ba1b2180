//! The storage boundary: a minimal SQL interface that SQLite and PostgreSQL
//! both implement, so every query of the service is written once
//! ([`crate::store`]) and both backends run the same test suite.
//!
//! Statements are written with `$N` placeholders, which both engines read as
//! they are: PostgreSQL's own form, and in SQLite a named parameter that the
//! SQLite backend binds by its name. Integers are `BIGINT`, reals
//! `DOUBLE PRECISION`, bytes `BLOB`/`BYTEA`; a NULL parameter is always an
//! integer column (the only nullable columns are times).

mod migrations;
mod postgres;
mod sqlite;

use std::future::Future;
use std::pin::Pin;

use thiserror::Error;

pub use postgres::{PostgresDatabase, PostgresOptions};
pub use sqlite::SqliteDatabase;

/// A boxed future: the trait is used as `dyn Database`.
pub type DbFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, DbError>> + Send + 'a>>;

/// A value passed to or read from the database.
#[derive(Clone, PartialEq)]
pub enum Value {
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
    Null,
}

/// Rows hold identifiers and ciphertexts: `Debug` shows the kind only.
impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Value::Int(_) => "Int",
            Value::Real(_) => "Real",
            Value::Text(_) => "Text",
            Value::Blob(_) => "Blob",
            Value::Null => "Null",
        };
        f.write_str(kind)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Real(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Blob(v)
    }
}
impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Value::Blob(v.to_vec())
    }
}
impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Value::Null, Value::Int)
    }
}

impl Value {
    pub fn int(&self) -> Result<i64, DbError> {
        match self {
            Value::Int(v) => Ok(*v),
            _ => Err(DbError::UnexpectedType),
        }
    }
    pub fn opt_int(&self) -> Result<Option<i64>, DbError> {
        match self {
            Value::Int(v) => Ok(Some(*v)),
            Value::Null => Ok(None),
            _ => Err(DbError::UnexpectedType),
        }
    }
    pub fn real(&self) -> Result<f64, DbError> {
        match self {
            Value::Real(v) => Ok(*v),
            Value::Int(v) => Ok(*v as f64),
            _ => Err(DbError::UnexpectedType),
        }
    }
    pub fn text(&self) -> Result<String, DbError> {
        match self {
            Value::Text(v) => Ok(v.clone()),
            _ => Err(DbError::UnexpectedType),
        }
    }
    pub fn blob(&self) -> Result<Vec<u8>, DbError> {
        match self {
            Value::Blob(v) => Ok(v.clone()),
            _ => Err(DbError::UnexpectedType),
        }
    }
}

pub type Row = Vec<Value>;

/// How many rows a statement of a batch must touch for the batch to commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Any,
    /// Exactly one: the batch rolls back with [`DbError::Conflict`] otherwise
    /// (optimistic concurrency on the audit chain head).
    One,
    /// At least one row: the batch rolls back with
    /// [`DbError::GuardFailed`] carrying this tag otherwise. A guard is how
    /// a check (the subject exists, the consent is live, nothing is enrolled
    /// yet) runs inside the transaction of the change it protects, so a
    /// concurrent delete or revoke cannot slip in between.
    Guard(&'static str),
}

/// One statement of an atomic batch.
#[derive(Debug, Clone)]
pub struct Stmt {
    pub sql: &'static str,
    pub params: Vec<Value>,
    pub expect: Expect,
}

impl Stmt {
    pub fn new(sql: &'static str, params: Vec<Value>) -> Stmt {
        Stmt {
            sql,
            params,
            expect: Expect::Any,
        }
    }

    pub fn expect_one(sql: &'static str, params: Vec<Value>) -> Stmt {
        Stmt {
            sql,
            params,
            expect: Expect::One,
        }
    }

    /// A statement that must touch a row, else the batch fails with `tag`.
    pub fn guard(tag: &'static str, sql: &'static str, params: Vec<Value>) -> Stmt {
        Stmt {
            sql,
            params,
            expect: Expect::Guard(tag),
        }
    }

    /// Whether `touched` rows satisfy this statement's expectation.
    pub(crate) fn check(&self, touched: u64) -> Result<(), DbError> {
        match self.expect {
            Expect::Any => Ok(()),
            Expect::One if touched == 1 => Ok(()),
            Expect::One => Err(DbError::Conflict),
            Expect::Guard(_) if touched > 0 => Ok(()),
            Expect::Guard(tag) => Err(DbError::GuardFailed(tag)),
        }
    }
}

/// Which engine a [`Database`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Why a database operation failed. Messages carry the engine's text, which
/// never contains parameter values (they are bound, not interpolated).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DbError {
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("a uniqueness or expectation check failed; retry")]
    Conflict,
    #[error("a precondition of the change no longer holds ({0})")]
    GuardFailed(&'static str),
    #[error("unexpected column type")]
    UnexpectedType,
    #[error("database files: {0}")]
    Files(#[source] std::io::Error),
    #[error("database worker stopped")]
    WorkerGone,
    /// The transaction this change was grouped into failed as a whole
    /// (SQLite's group commit): nothing of the change committed.
    #[error("the transaction of this change failed: {0}")]
    GroupFailed(#[source] std::sync::Arc<DbError>),
    /// The WAL could not be checkpointed and truncated (a reader held an
    /// older snapshot): deleted rows may still be in the files; retry.
    #[error("deleted data could not yet be purged from the database files; retry")]
    PurgeIncomplete,
    /// The schema could not be brought up to date: a script failed, or the
    /// database records scripts this binary does not have (a newer schema)
    /// or records them with other checksums.
    #[error("schema migration: {0}")]
    Migration(#[from] refinery_core::Error),
    /// The database records (in the history of versions before refinery) a
    /// schema newer than this binary knows.
    #[error("schema is newer ({found}) than this binary knows ({known})")]
    SchemaTooNew { found: i64, known: i64 },
    /// A statement's `$N` placeholders do not match its parameters.
    #[error("a statement's placeholders do not match its parameters")]
    Placeholders,
    /// No pooled PostgreSQL connection could be had or made in time.
    #[error("PostgreSQL connection pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// The PostgreSQL set-up is unusable (a CA file without certificates,
    /// no TLS protocol version in common).
    #[error("PostgreSQL set-up: {0}")]
    Setup(String),
}

/// The SQL interface both backends implement.
pub trait Database: Send + Sync {
    /// Runs one statement and returns its rows (also for `RETURNING`).
    /// Meant for point lookups and bounded pages: a backend may run it on
    /// the calling thread.
    fn query<'a>(&'a self, sql: &'static str, params: Vec<Value>) -> DbFuture<'a, Vec<Row>>;

    /// [`Database::query`] for a read whose size has no bound (a whole
    /// audit chain): never run on the calling thread.
    fn query_bulk<'a>(&'a self, sql: &'static str, params: Vec<Value>) -> DbFuture<'a, Vec<Row>> {
        self.query(sql, params)
    }

    /// Runs statements in one transaction: all commit or none; returns the
    /// number of rows each touched.
    fn batch<'a>(&'a self, stmts: Vec<Stmt>) -> DbFuture<'a, Vec<u64>>;

    /// [`Database::batch`] for a change that may be lost in a power failure
    /// (not in a process crash) as long as no later durable change has
    /// committed: the engine need not wait for the disk before answering.
    /// Both engines write their log in order, so the next durable commit
    /// makes every deferred change before it durable too. For a change whose
    /// loss harms no one (a challenge handed out, then forgotten, is refused
    /// as unknown), or one that a durable change of the same request always
    /// follows before anything is answered.
    fn batch_deferred<'a>(&'a self, stmts: Vec<Stmt>) -> DbFuture<'a, Vec<u64>> {
        self.batch(stmts)
    }

    /// A statement that writes and returns rows (`… RETURNING`), with the
    /// durability of [`Database::batch_deferred`].
    fn write_returning_deferred<'a>(
        &'a self,
        sql: &'static str,
        params: Vec<Value>,
    ) -> DbFuture<'a, Vec<Row>> {
        self.query(sql, params)
    }

    /// Makes deleted rows unrecoverable from the files the engine controls
    /// (SQLite: checkpoint and truncate the WAL; with `secure_delete` the
    /// freed cells are already zeroed). A no-op where the engine offers no
    /// such guarantee (PostgreSQL: see the README on VACUUM).
    fn purge_deleted(&self) -> DbFuture<'_, ()>;

    /// Whether [`Database::batch`] queues its batch at the call, before the
    /// future is polled, so that batches queued one after another commit (or
    /// fail) in that order without waiting for each other. The audit chain
    /// then appends without holding its lock across a commit.
    fn queues_batches_in_call_order(&self) -> bool {
        false
    }

    fn backend(&self) -> Backend;
}

/// Runs one statement, returning the number of rows it touched.
pub async fn execute(
    db: &dyn Database,
    sql: &'static str,
    params: Vec<Value>,
) -> Result<u64, DbError> {
    Ok(db.batch(vec![Stmt::new(sql, params)]).await?[0])
}
