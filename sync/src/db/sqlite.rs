//! The embedded backend: one SQLite file in WAL mode with `secure_delete`.
//!
//! Writes go to a single writer thread that owns the write connection and
//! commits them in groups: it takes every change waiting (up to
//! [`MAX_GROUP`]), runs them in one `BEGIN IMMEDIATE … COMMIT`, each inside
//! its own `SAVEPOINT` so a change whose guard or expectation fails rolls
//! back alone, and answers every caller only after the one `COMMIT` (one
//! `fsync` with `synchronous=FULL` for the whole group; a group made only of
//! deferred changes, [`Database::batch_deferred`], commits with
//! `synchronous=NORMAL`, without it). Changes run in the
//! order they were queued, and [`SqliteDatabase::batch`] queues at the call,
//! before its future is first polled: changes queued one after another by one
//! task commit in that order (the audit chain relies on it).
//!
//! Reads run on a few read connections (WAL lets them read beside the
//! writer); a statement that would write (`INSERT … RETURNING`) is sent to
//! the writer. A caller is answered after its change committed, so its
//! later reads see it.

use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql};
use tokio::sync::oneshot;

use super::{Backend, Database, DbError, DbFuture, Row, Stmt, Value};

/// Most changes committed in one transaction: enough to share one `fsync`
/// among every request a saturated server has in flight, few enough that a
/// group is a few milliseconds of work.
const MAX_GROUP: usize = 64;

/// Read connections: reads are short, and the requests running at once are
/// bounded by the load shedder.
const READERS: usize = 4;

/// How long a statement waits for a lock another connection holds.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The same, for a read on a runtime thread: a stalled runtime thread
/// stalls every request it would have served.
const INLINE_BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(2);

/// Prepared statements kept per connection: more than the service has.
const STATEMENT_CACHE: usize = 128;

/// Whether a change's caller is answered only once the change is on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Durability {
    /// `synchronous = FULL`: the group's `COMMIT` waits for the WAL's fsync.
    Synced,
    /// `synchronous = NORMAL`: committed (a process crash keeps it), but a
    /// power loss may take it until the next synced group, whose fsync
    /// covers every frame before its own in the WAL.
    Deferred,
}

/// Work for the writer thread.
enum Job {
    Batch(
        Vec<Stmt>,
        Durability,
        oneshot::Sender<Result<Vec<u64>, DbError>>,
    ),
    /// A statement that writes and returns rows (`… RETURNING`).
    Query(
        &'static str,
        Vec<Value>,
        Durability,
        oneshot::Sender<Result<Vec<Row>, DbError>>,
    ),
    /// Checkpoint and truncate the WAL, outside any transaction.
    Purge(oneshot::Sender<Result<(), DbError>>),
    /// Tests: hold the writer until the sender is dropped, so the jobs queued
    /// meanwhile form one group.
    #[cfg(test)]
    Pause(mpsc::Receiver<()>),
}

/// What one change of a group produced.
enum Done {
    Counts(Vec<u64>),
    Rows(Vec<Row>),
}

pub struct SqliteDatabase {
    writer: mpsc::Sender<Job>,
    readers: Arc<Vec<Mutex<Connection>>>,
    next_reader: AtomicUsize,
    /// Groups committed by the writer (tests check how changes were grouped).
    #[cfg_attr(not(test), allow(dead_code))]
    commits: Arc<AtomicU64>,
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
    /// Opens (creating if needed) the database file, brings its schema up
    /// to date and starts the writer thread.
    pub fn open(path: &Path) -> Result<SqliteDatabase, DbError> {
        owner_only_files(path).map_err(DbError::Files)?;
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // secure_delete: deleted content is overwritten with zeros, so a hard
        // delete leaves nothing in free pages. synchronous=FULL: an
        // acknowledged change survives a crash or power loss (the writer
        // answers only after its group's COMMIT).
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA secure_delete = ON;
             PRAGMA foreign_keys = ON;",
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        migrate(&mut conn)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let reader = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            // query_only: a read connection refuses to write, whatever it is
            // handed (writes are routed to the writer before that).
            reader.execute_batch("PRAGMA query_only = ON;")?;
            reader.busy_timeout(BUSY_TIMEOUT)?;
            reader.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
            readers.push(Mutex::new(reader));
        }
        let (writer, jobs) = mpsc::channel();
        let commits = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&commits);
        std::thread::Builder::new()
            .name("faceseal-sqlite-writer".into())
            .spawn(move || write_loop(conn, jobs, &counter))
            .map_err(DbError::Files)?;
        Ok(SqliteDatabase {
            writer,
            readers: Arc::new(readers),
            next_reader: AtomicUsize::new(0),
            commits,
        })
    }

    /// Queues a job for the writer now; the receiver yields its answer.
    fn submit<T>(
        &self,
        job: impl FnOnce(oneshot::Sender<Result<T, DbError>>) -> Job,
    ) -> impl std::future::Future<Output = Result<T, DbError>> + Send + 'static
    where
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let queued = self.writer.send(job(reply)).is_ok();
        async move {
            if !queued {
                return Err(DbError::WorkerGone);
            }
            answer.await.map_err(|_| DbError::WorkerGone)?
        }
    }

    /// Runs a read-only statement on a read connection; `None` if the
    /// statement would write. A point read runs on the calling thread when
    /// a read connection is free: it takes microseconds from the page cache,
    /// less than handing it to another thread and waking the caller again
    /// (which, measured under load, cost more than the reads themselves). A
    /// bulk read, or a point read that finds every connection taken, runs on
    /// the blocking pool.
    async fn read(
        &self,
        sql: &'static str,
        params: Vec<Value>,
        bulk: bool,
    ) -> Result<Option<Vec<Row>>, DbError> {
        let first = self.next_reader.fetch_add(1, Ordering::Relaxed);
        if !bulk && let Some(conn) = free_reader(&self.readers, first) {
            // On the runtime's thread a read may wait for a lock only
            // briefly (WAL readers rarely wait at all: recovery after a
            // crashed writer is the case); if it would wait longer it is
            // retried below, on the blocking pool, with the full timeout.
            conn.busy_timeout(INLINE_BUSY_TIMEOUT)?;
            let outcome = read_on(&conn, sql, &params);
            conn.busy_timeout(BUSY_TIMEOUT)?;
            match outcome {
                Err(DbError::Sqlite(e)) if is_busy(&e) => {}
                outcome => return outcome,
            }
        }
        let readers = Arc::clone(&self.readers);
        tokio::task::spawn_blocking(move || {
            let conn = match free_reader(&readers, first) {
                Some(conn) => conn,
                // A reader whose holder panicked is still a usable
                // connection: rusqlite resets statements when they drop.
                None => readers[first % readers.len()]
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            };
            read_on(&conn, sql, &params)
        })
        .await
        .map_err(|_| DbError::WorkerGone)?
    }

    async fn query_with(
        &self,
        sql: &'static str,
        params: Vec<Value>,
        bulk: bool,
    ) -> Result<Vec<Row>, DbError> {
        match self.read(sql, params.clone(), bulk).await? {
            Some(rows) => Ok(rows),
            None => {
                self.submit(|reply| Job::Query(sql, params, Durability::Synced, reply))
                    .await
            }
        }
    }
}

/// A read connection nobody holds, trying them from `first` on.
fn free_reader(
    readers: &[Mutex<Connection>],
    first: usize,
) -> Option<std::sync::MutexGuard<'_, Connection>> {
    let n = readers.len();
    (0..n).find_map(|i| match readers[(first + i) % n].try_lock() {
        Ok(conn) => Some(conn),
        Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
        Err(std::sync::TryLockError::WouldBlock) => None,
    })
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Runs `sql` on a read connection; `None` if it would write.
fn read_on(conn: &Connection, sql: &str, params: &[Value]) -> Result<Option<Vec<Row>>, DbError> {
    if !conn.prepare_cached(sql)?.readonly() {
        return Ok(None);
    }
    run_query(conn, sql, params).map(Some)
}

/// The writer thread: takes every job waiting (up to [`MAX_GROUP`]), commits
/// them as one group, answers, and waits for more. It ends when the
/// database is dropped.
fn write_loop(conn: Connection, jobs: mpsc::Receiver<Job>, commits: &AtomicU64) {
    let mut held = None;
    // The connection opens with `synchronous = FULL`.
    let mut current = Durability::Synced;
    loop {
        let first = match held.take() {
            Some(job) => job,
            None => match jobs.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
        };
        let first = match first {
            Job::Purge(reply) => {
                let _ = reply.send(purge(&conn));
                continue;
            }
            #[cfg(test)]
            Job::Pause(until) => {
                let _ = until.recv();
                continue;
            }
            job => job,
        };
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                // A purge runs after the group before it committed.
                Ok(job @ Job::Purge(_)) => {
                    held = Some(job);
                    break;
                }
                #[cfg(test)]
                Ok(job @ Job::Pause(_)) => {
                    held = Some(job);
                    break;
                }
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        // One synced change makes the whole group synced.
        let durability = if group
            .iter()
            .any(|job| job.durability() == Durability::Synced)
        {
            Durability::Synced
        } else {
            Durability::Deferred
        };
        let mut stop = false;
        let outcomes = match set_durability(&conn, &mut current, durability)
            .and_then(|()| commit_group(&conn, &group))
        {
            Ok(outcomes) => {
                commits.fetch_add(1, Ordering::Relaxed);
                outcomes
            }
            Err(e) => {
                stop = is_io_failure(&e);
                let e = Arc::new(e);
                group
                    .iter()
                    .map(|_| Err(DbError::GroupFailed(Arc::clone(&e))))
                    .collect()
            }
        };
        // Only now, after the COMMIT (and, for a synced group, its fsync),
        // is anyone answered.
        for (job, outcome) in group.into_iter().zip(outcomes) {
            answer(job, outcome);
        }
        if stop {
            // After a failed write or fsync the kernel may have dropped the
            // pages it could not write, and a later fsync that succeeds would
            // not bring them back: what earlier groups committed (deferred
            // ones in particular) is no longer known to be on disk. Writing
            // on would acknowledge changes on top of a hole, so the writer
            // stops: every change from now on fails, and a restart recovers
            // from what the files really hold.
            tracing::error!(
                target: "faceseal_sync::storage",
                "SQLite reported an I/O error while committing; refusing every change until restart"
            );
            return;
        }
    }
}

/// An I/O error from the engine (a failed read, write or fsync), as opposed
/// to a full disk, a lock or a constraint.
fn is_io_failure(e: &DbError) -> bool {
    matches!(
        e,
        DbError::Sqlite(rusqlite::Error::SqliteFailure(f, _))
            if f.code == rusqlite::ErrorCode::SystemIoFailure
    )
}

impl Job {
    fn durability(&self) -> Durability {
        match self {
            Job::Batch(_, d, _) | Job::Query(_, _, d, _) => *d,
            Job::Purge(_) => Durability::Synced,
            #[cfg(test)]
            Job::Pause(_) => Durability::Synced,
        }
    }
}

/// Sets `synchronous` for the next transaction, outside any transaction,
/// when it differs from the current setting.
fn set_durability(
    conn: &Connection,
    current: &mut Durability,
    wanted: Durability,
) -> Result<(), DbError> {
    if *current != wanted {
        control(
            conn,
            match wanted {
                Durability::Synced => "PRAGMA synchronous = FULL",
                Durability::Deferred => "PRAGMA synchronous = NORMAL",
            },
        )?;
        *current = wanted;
    }
    Ok(())
}

fn answer(job: Job, outcome: Result<Done, DbError>) {
    match job {
        Job::Batch(_, _, reply) => {
            let _ = reply.send(outcome.and_then(|done| match done {
                Done::Counts(counts) => Ok(counts),
                Done::Rows(_) => Err(DbError::UnexpectedType),
            }));
        }
        Job::Query(_, _, _, reply) => {
            let _ = reply.send(outcome.and_then(|done| match done {
                Done::Rows(rows) => Ok(rows),
                Done::Counts(_) => Err(DbError::UnexpectedType),
            }));
        }
        Job::Purge(reply) => {
            let _ = reply.send(outcome.map(|_| ()));
        }
        #[cfg(test)]
        Job::Pause(_) => {}
    }
}

/// One transaction for the whole group, a savepoint per job: a job that
/// fails is rolled back alone and gets its own error. `Err` when the
/// transaction itself failed (nothing of the group committed).
fn commit_group(conn: &Connection, group: &[Job]) -> Result<Vec<Result<Done, DbError>>, DbError> {
    // IMMEDIATE: take the write lock before the first read, so a
    // command-line process writing beside the server cannot change what a
    // guard checked before the group commits.
    control(conn, "BEGIN IMMEDIATE")?;
    let mut outcomes = Vec::with_capacity(group.len());
    for job in group {
        if let Err(e) = control(conn, "SAVEPOINT change") {
            return Err(rolled_back(conn, e));
        }
        let outcome = run_job(conn, job);
        let ended = if outcome.is_ok() {
            control(conn, "RELEASE change")
        } else if conn.is_autocommit() {
            // The engine ended the transaction itself (I/O error, full
            // disk): the changes before this one are gone too.
            return Err(outcome.err().unwrap_or(DbError::WorkerGone));
        } else {
            control(conn, "ROLLBACK TO change").and_then(|()| control(conn, "RELEASE change"))
        };
        if let Err(e) = ended {
            return Err(rolled_back(conn, e));
        }
        outcomes.push(outcome);
    }
    if let Err(e) = control(conn, "COMMIT") {
        return Err(rolled_back(conn, e));
    }
    Ok(outcomes)
}

/// Runs a transaction-control statement (or a setting between groups),
/// prepared once (a group runs two per change, and parsing them again each
/// time showed in profiles).
fn control(conn: &Connection, sql: &'static str) -> Result<(), DbError> {
    conn.prepare_cached(sql)?.raw_execute()?;
    Ok(())
}

/// Ends a failed group's transaction, if the engine has not, and hands the
/// error back.
fn rolled_back(conn: &Connection, error: DbError) -> DbError {
    if !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    error
}

fn run_job(conn: &Connection, job: &Job) -> Result<Done, DbError> {
    match job {
        Job::Batch(stmts, _, _) => run_batch(conn, stmts).map(Done::Counts),
        Job::Query(sql, params, _, _) => run_query(conn, sql, params).map(Done::Rows),
        Job::Purge(_) => Ok(Done::Counts(Vec::new())),
        #[cfg(test)]
        Job::Pause(_) => Ok(Done::Counts(Vec::new())),
    }
}

/// Binds `params` to a statement written with `$N` placeholders, the form
/// both engines read natively: SQLite numbers named parameters in the order
/// they first appear, so each one is bound by its name, `$N` to
/// `params[N - 1]`. Every parameter must be used and every placeholder
/// given, as PostgreSQL requires.
fn bind(stmt: &mut rusqlite::Statement<'_>, params: &[Value]) -> Result<(), DbError> {
    let count = stmt.parameter_count();
    if count != params.len() {
        return Err(DbError::Placeholders);
    }
    // Each of `$1`…`$count` exactly once (`$01` is another name for `$1`
    // to SQLite, and would leave a value unbound).
    let mut seen = vec![false; count];
    for i in 1..=count {
        let n = stmt
            .parameter_name(i)
            .and_then(|name| name.strip_prefix('$'))
            .filter(|digits| !digits.starts_with('0'))
            .and_then(|digits| digits.parse::<usize>().ok())
            .filter(|n| (1..=count).contains(n) && !seen[n - 1])
            .ok_or(DbError::Placeholders)?;
        seen[n - 1] = true;
        stmt.raw_bind_parameter(i, &params[n - 1])?;
    }
    Ok(())
}

fn run_batch(conn: &Connection, stmts: &[Stmt]) -> Result<Vec<u64>, DbError> {
    let mut counts = Vec::with_capacity(stmts.len());
    for s in stmts {
        let mut stmt = conn.prepare_cached(s.sql)?;
        bind(&mut stmt, &s.params)?;
        let n = match stmt.raw_execute() {
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
    Ok(counts)
}

/// Checkpoints and truncates the WAL, so that what a deletion removed is
/// gone from the files. SQLite answers a checkpoint it could not finish
/// (a reader still on an older snapshot when the busy timeout ran out) with
/// a row whose first column is 1, not with an error: that is refused here,
/// so a deletion is never reported complete while its bytes remain.
fn purge(conn: &Connection) -> Result<(), DbError> {
    let blocked: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
    if blocked != 0 {
        return Err(DbError::PurgeIncomplete);
    }
    Ok(())
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

/// Applies the pending migrations (one transaction for all of them). A
/// server and a command started together on a new file both try; the one
/// whose transaction finds the other's tables fails, and its retry finds
/// nothing pending.
fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    use super::migrations::{ATTEMPTS, Dialect, runner};
    let runner = runner(Dialect::Sqlite)?;
    let mut attempt = 1;
    loop {
        match adopt_legacy(conn).and_then(|()| Ok(runner.run(conn).map(drop)?)) {
            Ok(()) => return Ok(()),
            Err(_) if attempt < ATTEMPTS => attempt += 1,
            Err(e) => return Err(e),
        }
    }
}

/// Adopts a database migrated before refinery: records its versions as
/// applied, then drops the old table (in that order, so a crash between
/// the two is finished by the next start).
fn adopt_legacy(conn: &mut Connection) -> Result<(), DbError> {
    use super::migrations::{
        DROP_LEGACY, Dialect, HISTORY_TABLE, LEGACY_TABLE, LEGACY_VERSION, adopting,
    };
    let exists = |conn: &Connection, table: &str| -> Result<bool, DbError> {
        Ok(conn.query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [table],
            |r| r.get::<_, i64>(0),
        )? > 0)
    };
    if !exists(conn, LEGACY_TABLE)? {
        return Ok(());
    }
    if !exists(conn, HISTORY_TABLE)? {
        let version: i64 = conn.query_row(LEGACY_VERSION, [], |r| r.get(0))?;
        adopting(Dialect::Sqlite, version)?.run(conn)?;
    }
    conn.execute_batch(DROP_LEGACY)?;
    Ok(())
}

fn run_query(conn: &Connection, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let columns = stmt.column_count();
    bind(&mut stmt, params)?;
    let mut rows = stmt.raw_query();
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
        Box::pin(self.query_with(sql, params, false))
    }

    fn query_bulk<'a>(&'a self, sql: &'static str, params: Vec<Value>) -> DbFuture<'a, Vec<Row>> {
        Box::pin(self.query_with(sql, params, true))
    }

    /// Queued for the writer at the call, before the future is polled.
    fn batch<'a>(&'a self, stmts: Vec<Stmt>) -> DbFuture<'a, Vec<u64>> {
        Box::pin(self.submit(|reply| Job::Batch(stmts, Durability::Synced, reply)))
    }

    fn batch_deferred<'a>(&'a self, stmts: Vec<Stmt>) -> DbFuture<'a, Vec<u64>> {
        Box::pin(self.submit(|reply| Job::Batch(stmts, Durability::Deferred, reply)))
    }

    fn write_returning_deferred<'a>(
        &'a self,
        sql: &'static str,
        params: Vec<Value>,
    ) -> DbFuture<'a, Vec<Row>> {
        Box::pin(self.submit(|reply| Job::Query(sql, params, Durability::Deferred, reply)))
    }

    fn purge_deleted(&self) -> DbFuture<'_, ()> {
        Box::pin(self.submit(Job::Purge))
    }

    fn queues_batches_in_call_order(&self) -> bool {
        true
    }

    fn backend(&self) -> Backend {
        Backend::Sqlite
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn only_io_errors_stop_the_writer() {
        let failure = |code| {
            DbError::Sqlite(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(code),
                None,
            ))
        };
        assert!(is_io_failure(&failure(rusqlite::ffi::SQLITE_IOERR_FSYNC)));
        assert!(is_io_failure(&failure(rusqlite::ffi::SQLITE_IOERR_WRITE)));
        assert!(is_io_failure(&failure(rusqlite::ffi::SQLITE_IOERR)));
        assert!(!is_io_failure(&failure(rusqlite::ffi::SQLITE_FULL)));
        assert!(!is_io_failure(&failure(rusqlite::ffi::SQLITE_BUSY)));
        assert!(!is_io_failure(&failure(rusqlite::ffi::SQLITE_CONSTRAINT)));
        assert!(!is_io_failure(&DbError::Conflict));
    }

    fn bound(sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let conn = Connection::open_in_memory().unwrap();
        run_query(&conn, sql, params)
    }

    #[test]
    fn placeholders_bind_by_number_wherever_they_appear() {
        let rows = bound(
            "SELECT $2, $1, $2 || $1",
            &[Value::from("a"), Value::from("b")],
        )
        .unwrap();
        assert_eq!(
            rows,
            vec![vec![Value::from("b"), Value::from("a"), Value::from("ba")]]
        );
        // Inside a literal, `$1` is text, not a placeholder.
        let rows = bound("SELECT '$1', $1", &[Value::from(7)]).unwrap();
        assert_eq!(rows, vec![vec![Value::from("$1"), Value::from(7)]]);
    }

    #[test]
    fn placeholders_that_do_not_match_the_values_are_an_error() {
        let two = [Value::from(1), Value::from(2)];
        for sql in [
            "SELECT $1",         // a value left over
            "SELECT $1, $3",     // a gap
            "SELECT $1, $01",    // two names for one number
            "SELECT ?1, ?2",     // not the `$N` form
            "SELECT :a, :b",     // named
            "SELECT $1, $2, $3", // a value missing
        ] {
            assert!(
                matches!(bound(sql, &two), Err(DbError::Placeholders)),
                "{sql}"
            );
        }
    }

    /// What `synchronous` a group ran with, read inside the group.
    fn synchronous_of(
        db: &SqliteDatabase,
        durability: Durability,
    ) -> impl std::future::Future<Output = Result<Vec<Row>, DbError>> + use<'_> {
        db.submit(move |reply| Job::Query("PRAGMA synchronous", Vec::new(), durability, reply))
    }

    #[tokio::test]
    async fn a_group_waits_for_the_disk_when_any_of_its_changes_must() {
        const NORMAL: i64 = 1;
        const FULL: i64 = 2;
        let (_dir, db) = scratch();
        let level = |rows: Vec<Row>| rows[0][0].int().unwrap();
        // Alone, a deferred change runs without the fsync.
        assert_eq!(
            level(synchronous_of(&db, Durability::Deferred).await.unwrap()),
            NORMAL
        );
        // Grouped with a synced one, it waits for the disk with it.
        let hold = pause(&db);
        let deferred = synchronous_of(&db, Durability::Deferred);
        let synced = db.batch(vec![Stmt::new("CREATE TABLE t (x BIGINT)", vec![])]);
        drop(hold);
        assert_eq!(level(deferred.await.unwrap()), FULL);
        synced.await.unwrap();
        assert_eq!(
            level(synchronous_of(&db, Durability::Synced).await.unwrap()),
            FULL
        );
        assert_eq!(
            level(synchronous_of(&db, Durability::Deferred).await.unwrap()),
            NORMAL
        );
    }

    #[tokio::test]
    async fn a_database_migrated_before_refinery_is_adopted_without_running_its_scripts_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            // What the runner before refinery left: every script applied,
            // and its own version table.
            let conn = Connection::open(&path).unwrap();
            for (_, script) in super::super::migrations::SCRIPTS {
                conn.execute_batch(&super::super::migrations::Dialect::Sqlite.adapt(script))
                    .unwrap();
            }
            conn.execute_batch(
                "CREATE TABLE schema_version (version BIGINT NOT NULL);
                 INSERT INTO schema_version VALUES (1), (2), (3), (4);",
            )
            .unwrap();
        }
        let db = SqliteDatabase::open(&path).unwrap();
        let versions = db
            .query("SELECT COUNT(*) FROM faceseal_schema_history", vec![])
            .await
            .unwrap();
        assert_eq!(versions[0][0], Value::from(4));
        let legacy = db
            .query(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'schema_version'",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(legacy[0][0], Value::from(0));
        drop(db);
        // And opens again as any database does.
        SqliteDatabase::open(&path).unwrap();

        // A version newer than this binary's is refused, not adopted.
        let newer = dir.path().join("newer.db");
        Connection::open(&newer)
            .unwrap()
            .execute_batch(
                "CREATE TABLE schema_version (version BIGINT NOT NULL);
                 INSERT INTO schema_version VALUES (99);",
            )
            .unwrap();
        assert!(matches!(
            SqliteDatabase::open(&newer),
            Err(DbError::SchemaTooNew { found: 99, .. })
        ));
    }

    fn scratch() -> (tempfile::TempDir, SqliteDatabase) {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteDatabase::open(&dir.path().join("t.db")).unwrap();
        (dir, db)
    }

    /// Holds the writer: the jobs queued until the returned sender is
    /// dropped form one group.
    fn pause(db: &SqliteDatabase) -> mpsc::Sender<()> {
        let (release, until) = mpsc::channel();
        db.writer.send(Job::Pause(until)).unwrap();
        release
    }

    async fn tables(db: &SqliteDatabase) {
        db.batch(vec![
            Stmt::new(
                "CREATE TABLE log (n INTEGER PRIMARY KEY AUTOINCREMENT, k BIGINT UNIQUE)",
                vec![],
            ),
            Stmt::new("CREATE TABLE acc (id BIGINT PRIMARY KEY, v BIGINT)", vec![]),
            Stmt::new("INSERT INTO acc VALUES (1, 0)", vec![]),
        ])
        .await
        .unwrap();
    }

    async fn logged(db: &SqliteDatabase) -> Vec<i64> {
        db.query("SELECT k FROM log ORDER BY n", vec![])
            .await
            .unwrap()
            .iter()
            .map(|r| r[0].int().unwrap())
            .collect()
    }

    #[tokio::test]
    async fn a_purge_that_cannot_truncate_the_wal_is_an_error_not_a_success() {
        // A reader on an older snapshot keeps the checkpoint from finishing:
        // SQLite says so in a row, not an error, and a deletion must not be
        // reported purged while its bytes remain in the files.
        let (dir, db) = scratch();
        tables(&db).await;
        let reader = Connection::open(dir.path().join("t.db")).unwrap();
        reader
            .execute_batch("BEGIN; SELECT v FROM acc WHERE id = 1;")
            .unwrap();
        db.batch(vec![Stmt::new("INSERT INTO log (k) VALUES (1)", vec![])])
            .await
            .unwrap();
        assert!(matches!(
            db.purge_deleted().await,
            Err(DbError::PurgeIncomplete)
        ));
        reader.execute_batch("COMMIT").unwrap();
        db.purge_deleted().await.unwrap();
    }

    #[tokio::test]
    async fn the_purge_run_with_every_new_challenge_visits_only_expired_rows() {
        // Under the primary key alone it walked every retained challenge of
        // the tenant: a cost that grew with each challenge issued.
        let (_dir, db) = scratch();
        let sql: &'static str = Box::leak(
            format!(
                "EXPLAIN QUERY PLAN {}",
                crate::service::biometric::PURGE_CHALLENGES
            )
            .into_boxed_str(),
        );
        let plan = db.query(sql, vec!["t".into(), 0i64.into()]).await.unwrap();
        let detail: Vec<String> = plan.iter().map(|r| r[3].text().unwrap()).collect();
        assert_eq!(
            detail,
            ["SEARCH challenges USING INDEX challenges_purge (tenant_id=? AND expires_at<?)"]
        );
    }

    #[tokio::test]
    async fn a_failing_batch_of_a_group_rolls_back_alone_and_the_others_commit_in_order() {
        let (_dir, db) = scratch();
        tables(&db).await;
        let before = db.commits.load(Ordering::Relaxed);
        let release = pause(&db);
        let pending: Vec<_> = (0..10i64)
            .map(|k| {
                let mut stmts = vec![
                    Stmt::new("INSERT INTO log (k) VALUES ($1)", vec![k.into()]),
                    Stmt::new(
                        "UPDATE acc SET v = v * 10 + $1 WHERE id = 1",
                        vec![k.into()],
                    ),
                ];
                if k % 3 == 1 {
                    // Touches nothing: the batch fails after its writes.
                    stmts.push(Stmt::guard(
                        "absent",
                        "UPDATE acc SET v = 0 WHERE id = 2",
                        vec![],
                    ));
                }
                db.batch(stmts)
            })
            .collect();
        drop(release);
        for (k, answer) in pending.into_iter().enumerate() {
            match answer.await {
                Ok(counts) => {
                    assert_ne!(k % 3, 1);
                    assert_eq!(counts, vec![1, 1]);
                }
                Err(DbError::GuardFailed("absent")) => assert_eq!(k % 3, 1),
                Err(e) => panic!("batch {k}: {e}"),
            }
        }
        assert_eq!(
            db.commits.load(Ordering::Relaxed),
            before + 1,
            "one commit for the group"
        );
        assert_eq!(logged(&db).await, vec![0, 2, 3, 5, 6, 8, 9]);
        let v = db
            .query("SELECT v FROM acc WHERE id = 1", vec![])
            .await
            .unwrap();
        assert_eq!(v[0][0].int().unwrap(), 235_689, "applied in queue order");
    }

    #[tokio::test]
    async fn every_answer_comes_after_its_group_committed() {
        let (dir, db) = scratch();
        tables(&db).await;
        let db = Arc::new(db);
        // Another connection sees committed rows only.
        let observer = Arc::new(Mutex::new(
            Connection::open(dir.path().join("t.db")).unwrap(),
        ));
        let tasks: Vec<_> = (0..48i64)
            .map(|k| {
                let (db, observer) = (Arc::clone(&db), Arc::clone(&observer));
                tokio::spawn(async move {
                    db.batch(vec![Stmt::new(
                        "INSERT INTO log (k) VALUES ($1)",
                        vec![k.into()],
                    )])
                    .await
                    .unwrap();
                    let seen: i64 = observer
                        .lock()
                        .unwrap()
                        .query_row("SELECT COUNT(*) FROM log WHERE k = ?1", [k], |r| r.get(0))
                        .unwrap();
                    assert_eq!(seen, 1, "answered before its commit");
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        // While the writer is held, nothing is answered.
        let release = pause(&db);
        let mut held = db.batch(vec![Stmt::new(
            "INSERT INTO log (k) VALUES ($1)",
            vec![1000i64.into()],
        )]);
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(50), &mut held)
                .await
                .is_err()
        );
        drop(release);
        held.await.unwrap();
    }

    #[tokio::test]
    async fn statements_that_write_and_return_rows_go_to_the_writer() {
        let (_dir, db) = scratch();
        tables(&db).await;
        let rows = db
            .query(
                "INSERT INTO log (k) VALUES ($1) RETURNING k",
                vec![7i64.into()],
            )
            .await
            .unwrap();
        assert_eq!(rows[0][0].int().unwrap(), 7);
        assert_eq!(logged(&db).await, vec![7]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        /// A group gives every caller what running the batches one after
        /// another, each rolled back alone when it fails, would have.
        #[test]
        fn a_group_is_the_batches_run_one_after_another(
            batches in proptest::collection::vec((0i64..12, any::<bool>()), 1..40)
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let (_dir, db) = scratch();
                tables(&db).await;
                let release = pause(&db);
                let pending: Vec<_> = batches
                    .iter()
                    .map(|&(k, fails)| {
                        let mut stmts =
                            vec![Stmt::new("INSERT INTO log (k) VALUES ($1)", vec![k.into()])];
                        if fails {
                            stmts.push(Stmt::expect_one(
                                "UPDATE acc SET v = v + 1 WHERE id = 2",
                                vec![],
                            ));
                        }
                        db.batch(stmts)
                    })
                    .collect();
                drop(release);
                let mut model = Vec::new();
                for (&(k, fails), answer) in batches.iter().zip(pending) {
                    let answer = answer.await;
                    if model.contains(&k) || fails {
                        prop_assert!(matches!(answer, Err(DbError::Conflict)));
                    } else {
                        prop_assert!(answer.is_ok());
                        model.push(k);
                    }
                }
                prop_assert_eq!(logged(&db).await, model);
                Ok(())
            })?;
        }
    }
}
