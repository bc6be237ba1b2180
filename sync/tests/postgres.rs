//! The PostgreSQL connection itself: TLS verified against the CA it is
//! given, and a pool that reconnects when the server drops its connections.
//! Both need the test cluster (`.ci/run` starts one that serves TLS with a
//! CA of its own, named by `FACESEAL_SYNC_DATABASE_CA`).

use std::sync::Arc;

use faceseal_sync::db::{Database, PostgresDatabase, PostgresOptions, Stmt, Value};
use faceseal_sync::setup::DATABASE_CA_ENV;

const PG_URL_ENV: &str = "FACESEAL_SYNC_TEST_DATABASE_URL";

/// The test cluster's URL and CA file, or `None` (with a note) without one.
fn cluster() -> Option<(String, std::path::PathBuf)> {
    match (std::env::var(PG_URL_ENV), std::env::var_os(DATABASE_CA_ENV)) {
        (Ok(url), Some(ca)) => Some((url, ca.into())),
        _ => {
            eprintln!("{PG_URL_ENV} and {DATABASE_CA_ENV} not both set: skipped");
            None
        }
    }
}

fn with_param(url: &str, param: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{param}")
}

fn options(ca_file: Option<std::path::PathBuf>) -> PostgresOptions {
    PostgresOptions {
        schema: Some(format!("t_{}", faceseal_sync::random::id())),
        ca_file,
    }
}

/// Whether the connection a query runs on is TLS.
async fn on_tls(db: &PostgresDatabase) -> bool {
    let rows = db
        .query(
            "SELECT CASE WHEN ssl THEN 1 ELSE 0 END::BIGINT FROM pg_stat_ssl
             WHERE pid = pg_backend_pid()",
            vec![],
        )
        .await
        .unwrap();
    rows[0][0].int().unwrap() == 1
}

#[tokio::test]
async fn connections_are_tls_verified_against_the_given_ca() {
    let Some((url, ca)) = cluster() else { return };
    let require = with_param(&url, "sslmode=require");

    let db = PostgresDatabase::connect(&require, options(Some(ca.clone())))
        .await
        .unwrap();
    assert!(on_tls(&db).await, "sslmode=require runs over TLS");
    // `prefer` (the default, and explicit) is read as `require`: a TLS that
    // anyone on the path could refuse is not offered as an option.
    for url in [url.clone(), with_param(&url, "sslmode=prefer")] {
        let db = PostgresDatabase::connect(&url, options(Some(ca.clone())))
            .await
            .unwrap();
        assert!(on_tls(&db).await, "{url}");
    }
    // A plaintext connection must be asked for, and then without a CA.
    let disable = with_param(&url, "sslmode=disable");
    let db = PostgresDatabase::connect(&disable, options(None))
        .await
        .unwrap();
    assert!(!on_tls(&db).await, "sslmode=disable is honoured");
    assert!(
        PostgresDatabase::connect(&disable, options(Some(ca.clone())))
            .await
            .is_err(),
        "a CA given with sslmode=disable is a contradiction, refused"
    );
    // Without a CA, the default needs a certificate the system trusts.
    assert!(
        PostgresDatabase::connect(&url, options(None))
            .await
            .is_err()
    );

    // A server whose certificate the CA did not sign is refused, and so is
    // one that only the system's roots would have to vouch for.
    let foreign =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/foreign-ca.crt");
    let refused = PostgresDatabase::connect(&require, options(Some(foreign))).await;
    assert!(refused.is_err(), "a certificate of another CA is refused");
    assert!(
        PostgresDatabase::connect(&require, options(None))
            .await
            .is_err()
    );
    let empty = tempfile::NamedTempFile::new().unwrap();
    assert!(
        PostgresDatabase::connect(&require, options(Some(empty.path().into())))
            .await
            .is_err(),
        "a CA file without a certificate is an error, not an empty trust store"
    );
}

#[tokio::test]
async fn the_pool_reconnects_after_the_server_drops_every_connection() {
    let Some((url, ca)) = cluster() else { return };
    let name = format!("faceseal-reconnect-{}", faceseal_sync::random::id());
    let db = Arc::new(
        PostgresDatabase::connect(
            &with_param(&url, &format!("application_name={name}")),
            options(Some(ca.clone())),
        )
        .await
        .unwrap(),
    );
    let admin = PostgresDatabase::connect(&url, options(Some(ca)))
        .await
        .unwrap();
    let connections = || {
        admin.query(
            "SELECT COUNT(*)::BIGINT FROM pg_stat_activity WHERE application_name = $1",
            vec![Value::from(name.as_str())],
        )
    };
    // Reads at once, so that the pool opens several connections.
    let reads = concurrent_reads(&db, 4).await;
    assert!(reads.iter().all(Result::is_ok));
    assert!(connections().await.unwrap()[0][0].int().unwrap() >= 2);

    let killed = admin
        .query(
            "SELECT COUNT(pg_terminate_backend(pid))::BIGINT FROM pg_stat_activity
             WHERE application_name = $1",
            vec![Value::from(name.as_str())],
        )
        .await
        .unwrap()[0][0]
        .int()
        .unwrap();
    assert!(killed >= 2, "the server dropped the pool's connections");
    // The connection tasks notice the drop when the server's notice
    // arrives; give them that moment.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let reads = concurrent_reads(&db, 8).await;
    assert!(
        reads.iter().all(Result::is_ok),
        "every query after the drop is served: {reads:?}"
    );
    assert!(
        connections().await.unwrap()[0][0].int().unwrap() >= 1,
        "new connections replaced the dropped ones"
    );
}

/// Runs `n` short reads at once.
async fn concurrent_reads(db: &Arc<PostgresDatabase>, n: usize) -> Vec<Result<i64, String>> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let db = Arc::clone(db);
            tokio::spawn(async move {
                db.query("SELECT 1::BIGINT FROM pg_sleep(0.05)", vec![])
                    .await
                    .map(|rows| rows[0][0].int().unwrap())
                    .map_err(|e| e.to_string())
            })
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test]
async fn a_schema_name_that_would_need_quoting_is_refused() {
    let Some((url, ca)) = cluster() else { return };
    for schema in ["T_upper", "a b", "a\tb", "x;drop", "", "a\"b", "-c"] {
        let options = PostgresOptions {
            schema: Some(schema.to_owned()),
            ca_file: Some(ca.clone()),
        };
        assert!(
            PostgresDatabase::connect(&url, options).await.is_err(),
            "{schema:?}"
        );
    }
}

#[tokio::test]
async fn a_database_migrated_before_refinery_is_adopted() {
    let Some((url, ca)) = cluster() else { return };
    let schema = format!("t_{}", faceseal_sync::random::id());
    let options = || PostgresOptions {
        schema: Some(schema.clone()),
        ca_file: Some(ca.clone()),
    };
    // Migrate, then make it look as the runner before refinery left it.
    let db = PostgresDatabase::connect(&url, options()).await.unwrap();
    db.batch(vec![
        Stmt::new("DROP TABLE faceseal_schema_history", vec![]),
        Stmt::new(
            "CREATE TABLE schema_version (version BIGINT NOT NULL)",
            vec![],
        ),
        Stmt::new(
            "INSERT INTO schema_version VALUES (1), (2), (3), (4)",
            vec![],
        ),
    ])
    .await
    .unwrap();
    drop(db);
    let db = PostgresDatabase::connect(&url, options()).await.unwrap();
    let recorded = db
        .query(
            "SELECT COUNT(*)::BIGINT FROM faceseal_schema_history",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(recorded[0][0], Value::from(4));
    let legacy = db
        .query(
            "SELECT COUNT(*)::BIGINT FROM pg_tables
             WHERE tablename = 'schema_version' AND schemaname = current_schema()",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(legacy[0][0], Value::from(0));
}
