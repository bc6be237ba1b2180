//! Audit completeness across a real crash: a `faceseal-sync serve` process
//! under concurrent subject, consent and enrolment writes is killed with
//! SIGKILL. Afterwards every acknowledged change is in the database, every
//! committed change has exactly its audit entry (a change and its entry
//! commit in one transaction), and `audit verify` finds the chain intact.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::process::{admin_token, serve, tool};
use common::{Tenant, context, indices, public_key, seal_payload, template};
use faceseal_core::seal::Purpose;
use faceseal_sync::client::HttpClient;
use hyper::StatusCode;
use serde_json::json;

#[derive(Default)]
struct Acknowledged {
    subjects: Vec<String>,
    consents: Vec<String>,
    enrolments: Vec<String>,
}

/// One writer: subject, consent, challenge, enrolment, over and over, until
/// the server dies. Records what the server acknowledged.
async fn writer(
    addr: std::net::SocketAddr,
    t: Tenant,
    worker: usize,
    stop: Arc<AtomicBool>,
) -> Acknowledged {
    let mut c = HttpClient::new(addr);
    let mut acked = Acknowledged::default();
    let key = t.api_key.clone();
    for i in 0.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let id = format!("w{worker}-{i}");
        let Ok(r) = c
            .post_json("/v1/subjects", Some(&key), json!({ "subject_id": id }))
            .await
        else {
            break;
        };
        if r.status != StatusCode::CREATED {
            continue;
        }
        acked.subjects.push(id.clone());
        let Ok(r) = c
            .post_json(
                &format!("/v1/subjects/{id}/consents"),
                Some(&key),
                json!({ "purpose": "enrol", "text_version": "1" }),
            )
            .await
        else {
            break;
        };
        if r.status != StatusCode::CREATED {
            continue;
        }
        let consent = r.json().unwrap()["consent_ref"]
            .as_str()
            .unwrap()
            .to_owned();
        acked.consents.push(consent.clone());
        let Ok(r) = c
            .post_json("/v1/challenges", Some(&key), json!({ "purpose": "enrol" }))
            .await
        else {
            break;
        };
        if r.status != StatusCode::CREATED {
            continue;
        }
        let nonce = common::nonce_of(&r.json().unwrap());
        let ctx = context(&t, &id, Purpose::Enrol, &consent, nonce);
        let envelope = seal_payload(&t, &ctx, &template(&indices(i as u64)));
        let Ok(r) = c.post_octets("/v1/enrolments", Some(&key), envelope).await else {
            break;
        };
        if r.status == StatusCode::CREATED {
            acked.enrolments.push(id);
        }
    }
    acked
}

fn count(db: &rusqlite::Connection, sql: &str) -> i64 {
    db.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_change_has_its_audit_entry_after_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr, _stderr) = serve(dir.path());
    let mut c = HttpClient::new(addr);
    let r = c
        .post_json(
            "/v1/tenants",
            Some(&admin_token()),
            json!({ "tenant_id": "acme" }),
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let v = r.json().unwrap();
    let t = Tenant {
        id: "acme".into(),
        api_key: v["api_key"].as_str().unwrap().to_owned(),
        template_secret: v["template_secret"].as_str().unwrap().to_owned(),
        public_key: public_key(&v["bundle"]),
        key_id: v["bundle"]["key_id"].as_str().unwrap().to_owned(),
    };

    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..6)
        .map(|w| tokio::spawn(writer(addr, t.clone(), w, Arc::clone(&stop))))
        .collect();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    // SIGKILL: no shutdown, no flush, whatever the writers were doing.
    child.kill().unwrap();
    child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    let mut acked = Acknowledged::default();
    for w in writers {
        let a = w.await.unwrap();
        acked.subjects.extend(a.subjects);
        acked.consents.extend(a.consents);
        acked.enrolments.extend(a.enrolments);
    }
    assert!(
        acked.enrolments.len() >= 10,
        "the crash came under load: {} enrolments acknowledged",
        acked.enrolments.len()
    );

    let db = rusqlite::Connection::open(dir.path().join("sync.db")).unwrap();
    for id in &acked.subjects {
        let n: i64 = db
            .query_row(
                "SELECT COUNT(*) FROM subjects WHERE tenant_id = 'acme' AND subject_id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1, "acknowledged subject {id} survived");
    }
    for consent in &acked.consents {
        let n: i64 = db
            .query_row(
                "SELECT COUNT(*) FROM consents WHERE consent_ref = ?1",
                [consent],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1, "acknowledged consent survived");
    }
    for id in &acked.enrolments {
        let n: i64 = db
            .query_row(
                "SELECT COUNT(*) FROM templates WHERE tenant_id = 'acme' AND subject_id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1, "acknowledged enrolment of {id} survived");
    }
    // Nothing was deleted: each committed row is one committed change, and
    // each has exactly one audit entry.
    let entries = |op: &str| {
        count(
            &db,
            &format!(
                "SELECT COUNT(*) FROM audit_entries WHERE tenant_id = 'acme' \
                 AND operation = '{op}' AND outcome NOT LIKE 'refused%'"
            ),
        )
    };
    let subjects = count(&db, "SELECT COUNT(*) FROM subjects");
    let consents = count(&db, "SELECT COUNT(*) FROM consents");
    let templates = count(&db, "SELECT COUNT(*) FROM templates");
    assert!(subjects >= acked.subjects.len() as i64);
    assert_eq!(entries("subject.create"), subjects, "subject entries");
    assert_eq!(entries("consent.grant"), consents, "consent entries");
    assert_eq!(entries("enrol"), templates, "enrolment entries");
    drop(db);

    let out = tool(dir.path())
        .args(["audit", "verify", "--tenant", "acme", "--db", "sync.db"])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{report} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("intact"), "{report}");
    eprintln!(
        "killed under load: {} subjects, {} consents, {} enrolments acknowledged; \
         {subjects} subjects, {consents} consents, {templates} templates committed, \
         each with its audit entry",
        acked.subjects.len(),
        acked.consents.len(),
        acked.enrolments.len()
    );
}
