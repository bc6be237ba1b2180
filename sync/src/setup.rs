//! Start-up: where the database, the key-encryption key and the admin token
//! are, creating what a first run needs and saying so.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use thiserror::Error;
use zeroize::Zeroizing;

use crate::db::{Database, DbError, PostgresDatabase, SqliteDatabase};
use crate::keystore::{KekKeyStore, KekSource, KeyStoreError, write_owner_only};
use crate::random;

/// The environment variable holding the admin token.
pub const ADMIN_TOKEN_ENV: &str = "FACESEAL_SYNC_ADMIN_TOKEN";
/// The environment variable holding a PostgreSQL connection string.
pub const DATABASE_URL_ENV: &str = "FACESEAL_SYNC_DATABASE_URL";
/// The embedded database file of a first run.
pub const DEFAULT_DB: &str = "faceseal-sync.db";

/// Where the data lives.
#[derive(Debug, Clone)]
pub enum DbLocation {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DbLocation {
    /// `--database-url` (or its environment variable) wins; else `--db` or
    /// the default SQLite file in the working directory.
    pub fn resolve(db: Option<PathBuf>, database_url: Option<String>) -> DbLocation {
        match database_url.or_else(|| std::env::var(DATABASE_URL_ENV).ok()) {
            Some(url) => DbLocation::Postgres(url),
            None => DbLocation::Sqlite(db.unwrap_or_else(|| PathBuf::from(DEFAULT_DB))),
        }
    }

    /// The directory holding files created beside the database.
    fn state_dir(&self) -> PathBuf {
        match self {
            DbLocation::Sqlite(path) => path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
            DbLocation::Postgres(_) => PathBuf::from("."),
        }
    }

    /// Describes the location without the connection string's password.
    pub fn describe(&self) -> String {
        match self {
            DbLocation::Sqlite(path) => format!("SQLite file {}", path.display()),
            DbLocation::Postgres(_) => {
                format!("PostgreSQL (from --database-url or {DATABASE_URL_ENV})")
            }
        }
    }
}

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SetupError {
    #[error(transparent)]
    Database(#[from] DbError),
    #[error(transparent)]
    Keys(#[from] KeyStoreError),
    #[error("admin token file: {0}")]
    AdminToken(#[source] std::io::Error),
}

pub async fn open_database(location: &DbLocation) -> Result<Arc<dyn Database>, SetupError> {
    Ok(match location {
        DbLocation::Sqlite(path) => Arc::new(SqliteDatabase::open(path)?),
        DbLocation::Postgres(url) => Arc::new(PostgresDatabase::connect(url, None).await?),
    })
}

/// The key-encryption key: environment, `--kek-file`, or a file beside the
/// database (created owner-only on first run).
pub fn load_kek(
    location: &DbLocation,
    kek_file: Option<&Path>,
) -> Result<(KekKeyStore, KekSource), SetupError> {
    let default = location.state_dir().join("faceseal-sync.kek");
    Ok(KekKeyStore::load(kek_file, &default)?)
}

/// Where the admin token came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminTokenSource {
    Environment,
    File(PathBuf),
    CreatedFile(PathBuf),
}

/// The admin token: environment, `--admin-token-file`, or a file beside the
/// database (created owner-only on first run).
pub fn load_admin_token(
    location: &DbLocation,
    file: Option<&Path>,
) -> Result<(Zeroizing<String>, AdminTokenSource), SetupError> {
    if let Ok(token) = std::env::var(ADMIN_TOKEN_ENV) {
        return Ok((Zeroizing::new(token), AdminTokenSource::Environment));
    }
    let path = file.map_or_else(
        || location.state_dir().join("faceseal-sync.admin-token"),
        Path::to_path_buf,
    );
    match std::fs::read_to_string(&path) {
        Ok(token) => Ok((
            Zeroizing::new(token.trim().to_owned()),
            AdminTokenSource::File(path),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && file.is_none() => {
            let token = Zeroizing::new(hex::encode(random::bytes::<32>()));
            write_owner_only(&path, token.as_bytes()).map_err(SetupError::AdminToken)?;
            Ok((token, AdminTokenSource::CreatedFile(path)))
        }
        Err(e) => Err(SetupError::AdminToken(e)),
    }
}
