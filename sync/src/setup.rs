//! Start-up: where the database, the key-encryption key and the admin token
//! are, creating what a first run needs and saying so.
//!
//! Secrets never sit beside the database: a backup of the database's
//! directory would then hold the KEK too, and crypto-shredding a tenant
//! (destroying its wrapped keys) would not make that backup unreadable. A
//! first run on SQLite creates them in a key directory of their own (the
//! platform's configuration directory by default); with PostgreSQL, where
//! every instance must use the same KEK, nothing is created: the KEK and
//! the admin token must be given.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use thiserror::Error;
use zeroize::Zeroizing;

use crate::db::{Database, DbError, PostgresDatabase, PostgresOptions, SqliteDatabase};
use crate::keystore::{
    KEK_ENV, KEK_FILE_ENV, KekKeyStore, KekSource, KeyStoreError, write_owner_only,
};
use crate::random;

/// The environment variable holding the admin token.
pub const ADMIN_TOKEN_ENV: &str = "FACESEAL_SYNC_ADMIN_TOKEN";
/// The environment variable holding a PostgreSQL connection string.
pub const DATABASE_URL_ENV: &str = "FACESEAL_SYNC_DATABASE_URL";
/// PEM file of the CA of PostgreSQL's TLS certificate.
pub const DATABASE_CA_ENV: &str = "FACESEAL_SYNC_DATABASE_CA";
/// The environment variable naming the key directory.
pub const KEY_DIR_ENV: &str = "FACESEAL_SYNC_KEY_DIR";
/// The embedded database file of a first run.
pub const DEFAULT_DB: &str = "faceseal-sync.db";
/// The key directory when there is no home directory to put it under.
pub const FALLBACK_KEY_DIR: &str = "faceseal-sync-keys";
const KEK_FILE: &str = "faceseal-sync.kek";
const ADMIN_TOKEN_FILE: &str = "faceseal-sync.admin-token";
/// The least an admin token must carry, in bits.
pub const MIN_ADMIN_TOKEN_BITS: f64 = 256.0;

/// Where the data lives.
#[derive(Debug, Clone)]
pub enum DbLocation {
    Sqlite(PathBuf),
    Postgres {
        url: String,
        /// The CA that signs the server's TLS certificate (else the
        /// system's roots).
        ca_file: Option<PathBuf>,
    },
}

impl DbLocation {
    /// The storage engine this location names.
    pub fn backend(&self) -> crate::db::Backend {
        match self {
            DbLocation::Sqlite(_) => crate::db::Backend::Sqlite,
            DbLocation::Postgres { .. } => crate::db::Backend::Postgres,
        }
    }

    /// `--database-url` (or its environment variable) wins; else `--db` or
    /// the default SQLite file in the working directory. `database_ca`
    /// (or its environment variable) goes with the URL.
    pub fn resolve(
        db: Option<PathBuf>,
        database_url: Option<String>,
        database_ca: Option<PathBuf>,
    ) -> DbLocation {
        match database_url.or_else(|| std::env::var(DATABASE_URL_ENV).ok()) {
            Some(url) => DbLocation::Postgres {
                url,
                ca_file: database_ca
                    .or_else(|| std::env::var_os(DATABASE_CA_ENV).map(PathBuf::from)),
            },
            None => DbLocation::Sqlite(db.unwrap_or_else(|| PathBuf::from(DEFAULT_DB))),
        }
    }

    /// The directory of the SQLite file.
    fn sqlite_dir(&self) -> Option<PathBuf> {
        match self {
            DbLocation::Sqlite(path) => Some(
                path.parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
            ),
            DbLocation::Postgres { .. } => None,
        }
    }

    /// Describes the location without the connection string's password.
    pub fn describe(&self) -> String {
        match self {
            DbLocation::Sqlite(path) => format!("SQLite file {}", path.display()),
            DbLocation::Postgres { .. } => {
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
    #[error(
        "the admin token is too weak: it must carry at least 256 bits (e.g. 64 random hex digits); refusing to start"
    )]
    WeakAdminToken,
    #[error(
        "with PostgreSQL every instance must use the same key-encryption key: give it with {KEK_ENV} or --kek-file / {KEK_FILE_ENV}; refusing to start"
    )]
    KekRequired,
    #[error(
        "with PostgreSQL every instance must use the same admin token: give it with {ADMIN_TOKEN_ENV} or --admin-token-file; refusing to start"
    )]
    AdminTokenRequired,
    #[error(
        "the key directory is the database's directory: a backup of one would hold the other; choose another --key-dir"
    )]
    KeyDirBesideDatabase,
    #[error(
        "the database already holds wrapped keys and no key-encryption key was given: give the database's own with {KEK_ENV}, --kek-file or --key-dir (an older version kept it beside the database: move it out of there); refusing to create a new one"
    )]
    KekMissing,
    #[error("key directory: {0}")]
    KeyDir(#[source] std::io::Error),
}

pub async fn open_database(location: &DbLocation) -> Result<Arc<dyn Database>, SetupError> {
    Ok(match location {
        DbLocation::Sqlite(path) => Arc::new(SqliteDatabase::open(path)?),
        DbLocation::Postgres { url, ca_file } => Arc::new(
            PostgresDatabase::connect(
                url,
                PostgresOptions {
                    schema: None,
                    ca_file: ca_file.clone(),
                },
            )
            .await?,
        ),
    })
}

/// The key directory: `--key-dir`, else [`KEY_DIR_ENV`], else the
/// platform's configuration directory (`$XDG_CONFIG_HOME/faceseal-sync` or
/// `~/.config/faceseal-sync`), else `./faceseal-sync-keys`.
pub fn key_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(dir) = explicit {
        return dir.to_owned();
    }
    if let Some(dir) = std::env::var_os(KEY_DIR_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|d| !d.is_empty())
                .map(|h| PathBuf::from(h).join(".config"))
        });
    config.map_or_else(
        || PathBuf::from(FALLBACK_KEY_DIR),
        |c| c.join("faceseal-sync"),
    )
}

/// Creates the key directory (owner-only) and checks it is not the
/// database's.
fn prepare_key_dir(location: &DbLocation, dir: &Path) -> Result<(), SetupError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(SetupError::KeyDir)?;
    if let Some(db_dir) = location.sqlite_dir() {
        let same = match (std::fs::canonicalize(&db_dir), std::fs::canonicalize(dir)) {
            (Ok(a), Ok(b)) => a == b,
            _ => db_dir == dir,
        };
        if same {
            return Err(SetupError::KeyDirBesideDatabase);
        }
    }
    Ok(())
}

/// Before the database is opened: refuses PostgreSQL without an explicit
/// KEK, and a key directory that is the database's.
pub fn preflight(
    location: &DbLocation,
    kek_file: Option<&Path>,
    key_dir: &Path,
) -> Result<(), SetupError> {
    let explicit = std::env::var_os(KEK_ENV).is_some()
        || kek_file.is_some()
        || std::env::var_os(KEK_FILE_ENV).is_some();
    match location {
        _ if explicit => Ok(()),
        DbLocation::Postgres { .. } => Err(SetupError::KekRequired),
        DbLocation::Sqlite(_) => prepare_key_dir(location, key_dir),
    }
}

/// The key-encryption key: environment, `--kek-file`, or (SQLite only) a
/// file in the key directory, created owner-only on first run.
///
/// `database_has_keys`: the database already holds wrapped keys, so a new
/// KEK would open none of them: none is created, and the operator is told
/// to give the database's own (e.g. one an older version kept beside it).
pub fn load_kek(
    location: &DbLocation,
    kek_file: Option<&Path>,
    key_dir: &Path,
    database_has_keys: bool,
) -> Result<(KekKeyStore, KekSource), SetupError> {
    let explicit = std::env::var_os(KEK_ENV).is_some()
        || kek_file.is_some()
        || std::env::var_os(KEK_FILE_ENV).is_some();
    let default = key_dir.join(KEK_FILE);
    if !explicit {
        if matches!(location, DbLocation::Postgres { .. }) {
            return Err(SetupError::KekRequired);
        }
        prepare_key_dir(location, key_dir)?;
        if database_has_keys && !default.exists() {
            return Err(SetupError::KekMissing);
        }
    }
    Ok(KekKeyStore::load(kek_file, &default)?)
}

/// Where the admin token came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminTokenSource {
    Environment,
    File(PathBuf),
    CreatedFile(PathBuf),
}

/// The admin token: environment, `--admin-token-file`, or (SQLite only) a
/// file in the key directory, created owner-only on first run. A token of
/// less than 256 bits is refused.
pub fn load_admin_token(
    location: &DbLocation,
    file: Option<&Path>,
    key_dir: &Path,
) -> Result<(Zeroizing<String>, AdminTokenSource), SetupError> {
    let (token, source) = read_admin_token(location, file, key_dir)?;
    if admin_token_bits(&token) < MIN_ADMIN_TOKEN_BITS {
        return Err(SetupError::WeakAdminToken);
    }
    Ok((token, source))
}

fn read_admin_token(
    location: &DbLocation,
    file: Option<&Path>,
    key_dir: &Path,
) -> Result<(Zeroizing<String>, AdminTokenSource), SetupError> {
    if let Ok(token) = std::env::var(ADMIN_TOKEN_ENV) {
        return Ok((Zeroizing::new(token), AdminTokenSource::Environment));
    }
    if file.is_none() {
        if matches!(location, DbLocation::Postgres { .. }) {
            return Err(SetupError::AdminTokenRequired);
        }
        prepare_key_dir(location, key_dir)?;
    }
    let path = file.map_or_else(|| key_dir.join(ADMIN_TOKEN_FILE), Path::to_path_buf);
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

/// An upper bound on the bits a token can carry: its length times the bits
/// of the smallest alphabet its characters come from (hex digits, then
/// base64url, then printable ASCII, else 8 bits a byte); a token drawing on
/// fewer than 8 distinct characters counts only `log2(distinct)` bits a
/// character, so a long run of one or two characters counts for little. A
/// bound, not a measure: a careless token can pass it; a short one cannot.
pub fn admin_token_bits(token: &str) -> f64 {
    let len = token.chars().count() as f64;
    let per_char: f64 = if token.chars().all(|c| c.is_ascii_hexdigit()) {
        4.0
    } else if token
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        6.0
    } else if token.chars().all(|c| c.is_ascii_graphic()) {
        95f64.log2()
    } else {
        8.0
    };
    let mut distinct: Vec<char> = token.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 8 {
        return len * (distinct.len().max(1) as f64).log2();
    }
    len * per_char
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_or_repetitive_admin_tokens_are_too_weak() {
        for weak in [
            "",
            "x",
            "test-admin-token",
            &"a".repeat(200),
            &"ab".repeat(100),
            &"0".repeat(64),
            &hex::encode([7u8; 16]),
        ] {
            assert!(admin_token_bits(weak) < MIN_ADMIN_TOKEN_BITS, "{weak}");
        }
        for _ in 0..20 {
            let strong = hex::encode(random::bytes::<32>());
            assert!(
                admin_token_bits(&strong) >= MIN_ADMIN_TOKEN_BITS,
                "{strong}"
            );
        }
    }

    #[test]
    fn the_key_directory_may_not_be_the_databases() {
        let dir = tempfile::tempdir().unwrap();
        let location = DbLocation::Sqlite(dir.path().join("sync.db"));
        assert!(matches!(
            prepare_key_dir(&location, dir.path()),
            Err(SetupError::KeyDirBesideDatabase)
        ));
        let keys = dir.path().join("keys");
        prepare_key_dir(&location, &keys).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&keys).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
    }
}
