//! The shared backend: PostgreSQL, for several service instances over one
//! database. A small fixed pool of connections; each batch is one
//! transaction on one connection.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Mutex;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, NoTls};

use super::{Backend, Database, DbError, DbFuture, Row, Stmt, Value};

/// Connections kept open per service instance.
const POOL_SIZE: usize = 4;

pub struct PostgresDatabase {
    clients: Vec<Mutex<Client>>,
    next: AtomicUsize,
}

/// `?N` placeholders (written for SQLite) become PostgreSQL's `$N`.
fn pg_sql(sql: &str) -> String {
    sql.replace('?', "$")
}

fn params(values: &[Value]) -> Vec<Box<dyn ToSql + Sync + Send>> {
    values
        .iter()
        .map(|v| -> Box<dyn ToSql + Sync + Send> {
            match v {
                Value::Int(i) => Box::new(*i),
                Value::Real(r) => Box::new(*r),
                Value::Text(t) => Box::new(t.clone()),
                Value::Blob(b) => Box::new(b.clone()),
                Value::Null => Box::new(None::<i64>),
            }
        })
        .collect()
}

fn read_row(row: &tokio_postgres::Row) -> Result<Row, DbError> {
    let mut out = Vec::with_capacity(row.len());
    for (i, col) in row.columns().iter().enumerate() {
        let t = col.type_();
        let v = if *t == Type::INT8 {
            row.try_get::<_, Option<i64>>(i)?.map(Value::Int)
        } else if *t == Type::INT4 {
            row.try_get::<_, Option<i32>>(i)?
                .map(|v| Value::Int(i64::from(v)))
        } else if *t == Type::FLOAT8 {
            row.try_get::<_, Option<f64>>(i)?.map(Value::Real)
        } else if *t == Type::TEXT || *t == Type::VARCHAR {
            row.try_get::<_, Option<String>>(i)?.map(Value::Text)
        } else if *t == Type::BYTEA {
            row.try_get::<_, Option<Vec<u8>>>(i)?.map(Value::Blob)
        } else {
            return Err(DbError::UnexpectedType);
        };
        out.push(v.unwrap_or(Value::Null));
    }
    Ok(out)
}

impl PostgresDatabase {
    /// Connects and brings the schema up to date. `schema`, when given, is
    /// created if needed and used as the search path (tests run each suite
    /// in a fresh schema).
    pub async fn connect(url: &str, schema: Option<&str>) -> Result<PostgresDatabase, DbError> {
        let mut clients = Vec::with_capacity(POOL_SIZE);
        for _ in 0..POOL_SIZE {
            let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
            tokio::spawn(async move {
                // The error surfaces on the next query through the client.
                let _ = connection.await;
            });
            if let Some(schema) = schema {
                let ident = schema.replace('"', "");
                client
                    .batch_execute(&format!(
                        "CREATE SCHEMA IF NOT EXISTS \"{ident}\"; SET search_path TO \"{ident}\""
                    ))
                    .await?;
            }
            clients.push(Mutex::new(client));
        }
        let db = PostgresDatabase {
            clients,
            next: AtomicUsize::new(0),
        };
        db.migrate().await?;
        Ok(db)
    }

    async fn client(&self) -> tokio::sync::MutexGuard<'_, Client> {
        for c in &self.clients {
            if let Ok(guard) = c.try_lock() {
                return guard;
            }
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.clients.len();
        self.clients[i].lock().await
    }

    async fn migrate(&self) -> Result<(), DbError> {
        let mut client = self.client().await;
        let tx = client.transaction().await?;
        // Several instances may start at once: one migrates, the others wait.
        tx.batch_execute(
            "SELECT pg_advisory_xact_lock(7340055130);
             CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL);",
        )
        .await?;
        let current: i64 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_version",
                &[],
            )
            .await?
            .get(0);
        for (version, script) in super::migrations::pending(current)? {
            tx.batch_execute(script).await?;
            tx.execute(
                "INSERT INTO schema_version (version) VALUES ($1)",
                &[version],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Uniqueness violations, deadlocks and serialisation failures are races
/// with another transaction: the caller retries or reports a conflict.
fn conflict_or(e: tokio_postgres::Error) -> DbError {
    use tokio_postgres::error::SqlState;
    if [
        SqlState::UNIQUE_VIOLATION,
        SqlState::T_R_DEADLOCK_DETECTED,
        SqlState::T_R_SERIALIZATION_FAILURE,
    ]
    .iter()
    .any(|c| e.code() == Some(c))
    {
        DbError::Conflict
    } else {
        DbError::Postgres(e)
    }
}

impl Database for PostgresDatabase {
    fn query<'a>(&'a self, sql: &'static str, values: Vec<Value>) -> DbFuture<'a, Vec<Row>> {
        Box::pin(async move {
            let client = self.client().await;
            let p = params(&values);
            let refs: Vec<&(dyn ToSql + Sync)> = p
                .iter()
                .map(|b| b.as_ref() as &(dyn ToSql + Sync))
                .collect();
            let stmt = client.prepare(&pg_sql(sql)).await?;
            let rows = client.query(&stmt, &refs).await.map_err(conflict_or)?;
            rows.iter().map(read_row).collect()
        })
    }

    fn batch<'a>(&'a self, stmts: Vec<Stmt>) -> DbFuture<'a, Vec<u64>> {
        Box::pin(async move {
            let mut client = self.client().await;
            let tx = client.transaction().await?;
            let mut counts = Vec::with_capacity(stmts.len());
            for s in &stmts {
                let p = params(&s.params);
                let refs: Vec<&(dyn ToSql + Sync)> = p
                    .iter()
                    .map(|b| b.as_ref() as &(dyn ToSql + Sync))
                    .collect();
                let stmt = tx.prepare(&pg_sql(s.sql)).await?;
                let n = tx.execute(&stmt, &refs).await.map_err(conflict_or)?;
                s.check(n)?;
                counts.push(n);
            }
            tx.commit().await.map_err(conflict_or)?;
            Ok(counts)
        })
    }

    fn purge_deleted(&self) -> DbFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }

    fn backend(&self) -> Backend {
        Backend::Postgres
    }
}
