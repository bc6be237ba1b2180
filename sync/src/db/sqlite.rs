//! The embedded backend: one SQLite file in WAL mode with `secure_delete`,
//! reached through a single connection on the blocking thread pool.
//!
//! One connection serialises writes, which SQLite does anyway; the work per
//! statement is small next to opening an envelope.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql, TransactionBehavior};

use super::{Backend, Database, DbError, DbFuture, Row, Stmt, Value};

pub struct SqliteDatabase {
    conn: Arc<Mutex<Connection>>,
}

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Real(v) => ToSqlOutput::Borrowed(ValueRef::Real(*v)),
            Value::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Value::Blob(v) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
        })
    }
}

fn read_value(v: ValueRef<'_>) -> Result<Value, DbError> {
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(r) => Value::Real(r),
        ValueRef::Text(t) => {
            Value::Text(String::from_utf8(t.to_vec()).map_err(|_| DbError::UnexpectedType)?)
        }
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    })
}

impl SqliteDatabase {
    /// Opens (creating if needed) the database file and brings its schema up
    /// to date.
    pub fn open(path: &Path) -> Result<SqliteDatabase, DbError> {
        owner_only_files(path).map_err(DbError::Files)?;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // secure_delete: deleted content is overwritten with zeros, so a hard
        // delete leaves nothing in free pages. synchronous=FULL: an
        // acknowledged enrolment survives a crash or power loss.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA secure_delete = ON;
             PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 5000;",
        )?;
        migrate(&conn)?;
        Ok(SqliteDatabase {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn with_conn<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, DbError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().map_err(|_| DbError::WorkerGone)?;
            f(&mut conn)
        })
        .await
        .map_err(|_| DbError::WorkerGone)?
    }
}

/// The database holds tenant data: create its file owner-only before SQLite
/// does (SQLite gives the `-wal` and `-shm` files the main file's mode), and
/// take group and other access from files an older version left readable.
fn owner_only_files(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    drop(options.open(path)?);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            match std::fs::set_permissions(&name, std::fs::Permissions::from_mode(0o600)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

fn migrate(conn: &Connection) -> Result<(), DbError> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")?;
    let current: i64 = conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_version",
        [],
        |r| r.get(0),
    )?;
    for (version, script) in super::migrations::pending(current)? {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(&super::migrations::sqlite_dialect(script))?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [version],
        )?;
        tx.commit()?;
    }
    Ok(())
}

fn run_query(conn: &Connection, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let columns = stmt.column_count();
    let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(columns);
        for i in 0..columns {
            values.push(read_value(row.get_ref(i)?)?);
        }
        out.push(values);
    }
    Ok(out)
}

impl Database for SqliteDatabase {
    fn query<'a>(&'a self, sql: &'static str, params: Vec<Value>) -> DbFuture<'a, Vec<Row>> {
        Box::pin(self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let rows = run_query(&tx, sql, &params)?;
            tx.commit()?;
            Ok(rows)
        }))
    }

    fn batch<'a>(&'a self, stmts: Vec<Stmt>) -> DbFuture<'a, Vec<u64>> {
        Box::pin(self.with_conn(move |conn| {
            // IMMEDIATE: take the write lock before the first read, so a
            // command-line process writing beside the server cannot change
            // what a guard checked before the batch commits.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut counts = Vec::with_capacity(stmts.len());
            for s in &stmts {
                let n = tx
                    .prepare_cached(s.sql)?
                    .execute(rusqlite::params_from_iter(s.params.iter()));
                let n = match n {
                    Ok(n) => n as u64,
                    Err(rusqlite::Error::SqliteFailure(e, _))
                        if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                    {
                        return Err(DbError::Conflict);
                    }
                    Err(e) => return Err(e.into()),
                };
                s.check(n)?;
                counts.push(n);
            }
            tx.commit()?;
            Ok(counts)
        }))
    }

    fn purge_deleted(&self) -> DbFuture<'_, ()> {
        Box::pin(self.with_conn(|conn| {
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            Ok(())
        }))
    }

    fn backend(&self) -> Backend {
        Backend::Sqlite
    }
}
