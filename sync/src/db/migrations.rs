//! Schema migrations, run by refinery: numbered scripts applied in order and
//! recorded, with a checksum each, in [`HISTORY_TABLE`].
//! Every run applies everything pending in one transaction (the scripts and
//! their history rows commit together or not at all), refuses a database
//! whose applied scripts differ from these (divergent) or include one this
//! binary does not know (a newer schema). Written once, in PostgreSQL's
//! dialect; [`Dialect::Sqlite`] adapts the one type name SQLite would read
//! differently.

use refinery_core::{Migration, Runner, Target};

/// Where the applied scripts are recorded (a name of our own, so that
/// another refinery user sharing the schema keeps its history apart).
pub(crate) const HISTORY_TABLE: &str = "faceseal_schema_history";

/// Where versions before refinery recorded the schema: one row per applied
/// script. A database that has it is adopted: its versions are recorded in
/// [`HISTORY_TABLE`] without running them again, and the table is dropped.
pub(crate) const LEGACY_TABLE: &str = "schema_version";

/// The version [`LEGACY_TABLE`] records, in both dialects (as `BIGINT`).
pub(crate) const LEGACY_VERSION: &str =
    "SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM schema_version";

/// Drops [`LEGACY_TABLE`] once its versions are recorded.
pub(crate) const DROP_LEGACY: &str = "DROP TABLE IF EXISTS schema_version";

/// `(refinery name, script)`: `V{version}__{name}`.
pub(crate) const SCRIPTS: &[(&str, &str)] = &[
    (
        "V1__initial",
        include_str!("../../migrations/0001_initial.sql"),
    ),
    (
        "V2__decisions_attempts_capture",
        include_str!("../../migrations/0002_decisions_attempts_capture.sql"),
    ),
    (
        "V3__liveness_level",
        include_str!("../../migrations/0003_liveness_level.sql"),
    ),
    (
        "V4__challenge_purge_index",
        include_str!("../../migrations/0004_challenge_purge_index.sql"),
    ),
];

/// How many times a start retries migrating after a failure: another
/// process that migrated the same database at the same moment makes the
/// first attempt fail (its transaction found the tables created), and the
/// next attempt finds nothing pending.
pub(crate) const ATTEMPTS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// SQLite would give a `BYTEA` column numeric affinity: call it `BLOB`.
    pub(crate) fn adapt(self, script: &str) -> String {
        match self {
            Dialect::Sqlite => script.replace("BYTEA", "BLOB"),
            Dialect::Postgres => script.to_owned(),
        }
    }
}

/// The runner for every script, in `dialect`.
pub(crate) fn runner(dialect: Dialect) -> Result<Runner, super::DbError> {
    runner_of(SCRIPTS, dialect)
}

/// The runner that records the scripts up to `version` as applied without
/// running them: for a database the runner before refinery migrated to
/// `version` (read from [`LEGACY_TABLE`]). Refuses a version newer than
/// this binary's scripts.
pub(crate) fn adopting(dialect: Dialect, version: i64) -> Result<Runner, super::DbError> {
    let known = SCRIPTS.len() as i64;
    if version > known {
        return Err(super::DbError::SchemaTooNew {
            found: version,
            known,
        });
    }
    let version = i32::try_from(version).unwrap_or(0);
    Ok(runner(dialect)?.set_target(Target::FakeVersion(version)))
}

fn runner_of(scripts: &[(&str, &str)], dialect: Dialect) -> Result<Runner, super::DbError> {
    let migrations = scripts
        .iter()
        .map(|(name, sql)| Migration::unapplied(name, &dialect.adapt(sql)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut runner = Runner::new(&migrations)
        .set_grouped(true)
        .set_abort_divergent(true)
        .set_abort_missing(true);
    runner.set_migration_table_name(HISTORY_TABLE);
    Ok(runner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_are_numbered_in_order_and_adapted_for_sqlite() {
        let runner = runner(Dialect::Sqlite).unwrap();
        let versions: Vec<i64> = runner
            .get_migrations()
            .iter()
            .map(|m| i64::from(m.version()))
            .collect();
        assert_eq!(versions, (1..=SCRIPTS.len() as i64).collect::<Vec<_>>());
        assert!(
            runner
                .get_migrations()
                .iter()
                .all(|m| !m.sql().unwrap().contains("BYTEA"))
        );
    }

    #[test]
    fn a_database_with_a_script_this_binary_lacks_is_refused() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        let newer: Vec<(&str, &str)> = SCRIPTS
            .iter()
            .copied()
            .chain([("V99__from_the_future", "CREATE TABLE later (x BIGINT)")])
            .collect();
        runner_of(&newer, Dialect::Sqlite)
            .unwrap()
            .run(&mut conn)
            .unwrap();
        assert!(runner(Dialect::Sqlite).unwrap().run(&mut conn).is_err());
    }

    #[test]
    fn a_database_whose_applied_script_was_edited_is_refused() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        runner(Dialect::Sqlite).unwrap().run(&mut conn).unwrap();
        let edited: Vec<(&str, &str)> = SCRIPTS
            .iter()
            .enumerate()
            .map(|(i, &(n, s))| {
                if i == 0 {
                    (n, "CREATE TABLE other (x BIGINT)")
                } else {
                    (n, s)
                }
            })
            .collect();
        assert!(
            runner_of(&edited, Dialect::Sqlite)
                .unwrap()
                .run(&mut conn)
                .is_err()
        );
        // Nothing pending: a second run of the same scripts is a no-op.
        let report = runner(Dialect::Sqlite).unwrap().run(&mut conn).unwrap();
        assert!(report.applied_migrations().is_empty());
    }
}
