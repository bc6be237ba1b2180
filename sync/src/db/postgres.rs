//! The shared backend: PostgreSQL, for several service instances over one
//! database. Connections come from a `deadpool-postgres` pool, which checks
//! each one as it is handed out and replaces one the server or the network
//! closed, so the service reconnects on its own after a restart of the
//! database. Statements are prepared once per connection (the pool's
//! statement cache); each batch is one transaction on one connection. TLS,
//! when the URL's `sslmode` asks for it, is rustls, verifying the server
//! against the system's roots or a given CA file.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{Backend, Database, DbError, DbFuture, Row, Stmt, Value};

/// Connections kept open per service instance.
const POOL_SIZE: usize = 4;

/// How long a request waits for a pooled connection, or for a new one to
/// be made, before it fails (the load shedder bounds how many wait).
const POOL_TIMEOUT: Duration = Duration::from_secs(5);

/// A session advisory lock key: instances starting together migrate one
/// after another.
const MIGRATION_LOCK: i64 = 7_340_055_130;

/// How the service connects, besides the URL.
#[derive(Debug, Clone, Default)]
pub struct PostgresOptions {
    /// A schema to create if needed and use as the search path (tests run
    /// each suite in a fresh schema).
    pub schema: Option<String>,
    /// PEM file of the CA that signs the server's certificate; without it,
    /// the system's roots. The connection is TLS unless the URL says
    /// `sslmode=disable` (`prefer`, the default, is read as `require`).
    pub ca_file: Option<PathBuf>,
}

pub struct PostgresDatabase {
    pool: Pool,
}

fn params(values: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    values
        .iter()
        .map(|v| -> &(dyn ToSql + Sync) {
            match v {
                Value::Int(i) => i,
                Value::Real(r) => r,
                Value::Text(t) => t,
                Value::Blob(b) => b,
                Value::Null => &None::<i64>,
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

/// The rustls connector: the CA in `ca_file`, else the system's roots.
fn tls(ca_file: Option<&Path>) -> Result<MakeRustlsConnect, DbError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let unusable =
                |e: &dyn std::fmt::Display| DbError::Setup(format!("{}: {e}", path.display()));
            let certs = CertificateDer::pem_file_iter(path).map_err(|e| unusable(&e))?;
            for cert in certs {
                roots
                    .add(cert.map_err(|e| unusable(&e))?)
                    .map_err(|e| unusable(&e))?;
            }
            if roots.is_empty() {
                return Err(DbError::Setup(format!(
                    "{}: no certificate in the file",
                    path.display()
                )));
            }
        }
        None => {
            // Roots the system cannot parse are skipped, as browsers do.
            let (_, _) =
                roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| DbError::Setup(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// The URL's settings, with the service's defaults where it gives none.
///
/// `sslmode=prefer`, tokio-postgres's default, would let anyone on the path
/// answer "no TLS" and read the session in the clear: it is read as
/// `require`. A plaintext connection must be asked for (`sslmode=disable`),
/// and then no CA may be given, since none would be used.
fn config(url: &str, options: &PostgresOptions) -> Result<tokio_postgres::Config, DbError> {
    use tokio_postgres::config::SslMode;
    let mut config = tokio_postgres::Config::from_str(url)?;
    match config.get_ssl_mode() {
        SslMode::Disable if options.ca_file.is_some() => {
            return Err(DbError::Setup(
                "sslmode=disable with a CA file: the CA would not be used; drop one of them".into(),
            ));
        }
        SslMode::Disable | SslMode::Require => {}
        _ => {
            config.ssl_mode(SslMode::Require);
        }
    }
    if config.get_application_name().is_none() {
        config.application_name("faceseal-sync");
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(POOL_TIMEOUT);
    }
    // A connection whose peer vanished without closing it (a network cut,
    // a host gone) fails within seconds instead of after the kernel's
    // retransmissions, and the pool then replaces it.
    if config.get_tcp_user_timeout().is_none() {
        config.tcp_user_timeout(POOL_TIMEOUT);
    }
    config.keepalives(true);
    if config.get_keepalives_idle() == Duration::from_secs(2 * 60 * 60) {
        config.keepalives_idle(Duration::from_secs(30));
    }
    if let Some(schema) = &options.schema {
        if !is_plain_identifier(schema) {
            return Err(DbError::Setup(format!(
                "schema name {schema:?}: lowercase letters, digits and _ only"
            )));
        }
        let options = match config.get_options() {
            Some(given) => format!("{given} -c search_path={schema}"),
            None => format!("-c search_path={schema}"),
        };
        config.options(&options);
    }
    Ok(config)
}

/// A PostgreSQL identifier that needs no quoting anywhere (unquoted names
/// fold to lowercase): `[a-z_][a-z0-9_]*`, at most 63 bytes.
fn is_plain_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    name.len() <= 63
        && bytes
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl PostgresDatabase {
    /// Connects with a pool, and brings the schema up to date.
    pub async fn connect(url: &str, options: PostgresOptions) -> Result<PostgresDatabase, DbError> {
        let config = config(url, &options)?;
        let tls = tls(options.ca_file.as_deref())?;
        migrate(&config, tls.clone(), options.schema.as_deref()).await?;
        let manager = Manager::from_config(
            config,
            tls,
            ManagerConfig {
                // A connection is checked (`is_closed`) when it is handed
                // out; a closed one is dropped and another made.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_TIMEOUT))
            .create_timeout(Some(POOL_TIMEOUT))
            .recycle_timeout(Some(POOL_TIMEOUT))
            .build()
            .map_err(|e| DbError::Setup(e.to_string()))?;
        Ok(PostgresDatabase { pool })
    }
}

/// Applies the pending migrations on a connection of its own, under a
/// session advisory lock (released when the connection closes, whatever
/// happens): several instances started at once migrate one at a time, and
/// the later ones find nothing pending.
async fn migrate(
    config: &tokio_postgres::Config,
    tls: MakeRustlsConnect,
    schema: Option<&str>,
) -> Result<(), DbError> {
    let (mut client, connection) = config.connect(tls).await?;
    let connection = tokio::spawn(async move {
        // The error surfaces on the next query through the client.
        let _ = connection.await;
    });
    let outcome = async {
        client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        if let Some(schema) = schema {
            client
                .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                .await?;
        }
        adopt_legacy(&mut client).await?;
        super::migrations::runner(super::migrations::Dialect::Postgres)?
            .run_async(&mut client)
            .await?;
        Ok(())
    }
    .await;
    drop(client);
    let _ = connection.await;
    outcome
}

/// Adopts a database migrated before refinery (see
/// [`super::migrations::LEGACY_TABLE`]), under the caller's migration lock:
/// records its versions as applied, then drops the old table.
async fn adopt_legacy(client: &mut tokio_postgres::Client) -> Result<(), DbError> {
    use super::migrations::{
        DROP_LEGACY, Dialect, HISTORY_TABLE, LEGACY_TABLE, LEGACY_VERSION, adopting,
    };
    let exists = async |client: &tokio_postgres::Client, table: &str| -> Result<bool, DbError> {
        Ok(client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
            .await?
            .get(0))
    };
    if !exists(client, LEGACY_TABLE).await? {
        return Ok(());
    }
    if !exists(client, HISTORY_TABLE).await? {
        let version: i64 = client.query_one(LEGACY_VERSION, &[]).await?.get(0);
        adopting(Dialect::Postgres, version)?
            .run_async(client)
            .await?;
    }
    client.batch_execute(DROP_LEGACY).await?;
    Ok(())
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
            let client = self.pool.get().await?;
            let stmt = client.prepare_cached(sql).await?;
            let rows = client
                .query(&stmt, &params(&values))
                .await
                .map_err(conflict_or)?;
            rows.iter().map(read_row).collect()
        })
    }

    fn batch<'a>(&'a self, stmts: Vec<Stmt>) -> DbFuture<'a, Vec<u64>> {
        Box::pin(async move {
            let mut client = self.pool.get().await?;
            let tx = client.transaction().await?;
            let mut counts = Vec::with_capacity(stmts.len());
            for s in &stmts {
                let stmt = tx.prepare_cached(s.sql).await?;
                let n = tx
                    .execute(&stmt, &params(&s.params))
                    .await
                    .map_err(conflict_or)?;
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
