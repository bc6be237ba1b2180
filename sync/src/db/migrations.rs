//! Schema migrations: numbered scripts applied in order, each in one
//! transaction, and recorded in `schema_version`. Written once, in
//! PostgreSQL's dialect; [`sqlite_dialect`] adapts the one type name SQLite
//! would read differently.

/// `(version, script)`.
pub(crate) const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/0001_initial.sql")),
    (
        2,
        include_str!("../../migrations/0002_decisions_attempts_capture.sql"),
    ),
    (3, include_str!("../../migrations/0003_liveness_level.sql")),
    (
        4,
        include_str!("../../migrations/0004_challenge_purge_index.sql"),
    ),
];

/// The migrations a database at schema `current` still needs; refuses a
/// database newer than this binary.
pub(crate) fn pending(current: i64) -> Result<&'static [(i64, &'static str)], super::DbError> {
    let known = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > known {
        return Err(super::DbError::SchemaTooNew {
            found: current,
            known,
        });
    }
    Ok(&MIGRATIONS[MIGRATIONS.iter().take_while(|m| m.0 <= current).count()..])
}

/// SQLite would give a `BYTEA` column numeric affinity: call it `BLOB`.
pub(crate) fn sqlite_dialect(script: &str) -> String {
    script.replace("BYTEA", "BLOB")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_migrations_follow_the_recorded_version() {
        assert_eq!(pending(0).unwrap().len(), MIGRATIONS.len());
        assert!(pending(MIGRATIONS.len() as i64).unwrap().is_empty());
        assert!(matches!(
            pending(MIGRATIONS.len() as i64 + 1),
            Err(crate::db::DbError::SchemaTooNew { .. })
        ));
        assert!(
            MIGRATIONS
                .iter()
                .all(|m| !sqlite_dialect(m.1).contains("BYTEA"))
        );
    }
}
