//! The attacks of the outside review, replayed against the service on both
//! backends: hill-climbing a template through verification answers,
//! guessing credentials, taking over a subject by re-enrolling it, racing
//! enrolment against deletion and revocation, deleting a tenant under load,
//! flooding the audit trail, and two instances over one database.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::*;
use faceseal_core::seal::Purpose;
use faceseal_sync::client::HttpClient;
use faceseal_sync::limits::LoadLimits;
use faceseal_sync::service::ServiceConfig;
use faceseal_sync::throttle::ThrottleLimits;
use hyper::StatusCode;
use serde_json::json;

/// Room for every concurrent request of a test: shedding is not under test.
fn roomy() -> LoadLimits {
    LoadLimits {
        max_in_flight: 8,
        max_queued: 64,
        ..LoadLimits::for_this_machine(faceseal_sync::db::Backend::Sqlite)
    }
}

async fn enrolled(c: &mut HttpClient, t: &Tenant, id: &str, reference: &[u8]) -> Vec<String> {
    let refs = subject(c, t, id, &["enrol", "verify"]).await;
    let r = send_sealed(c, t, id, Purpose::Enrol, &refs[0], &template(reference)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    refs
}

/// Finding 1: the answer was the exact score, and nothing limited attempts.
/// The attacker starts from an all-zero template and changes one index per
/// query, as in the review; the answers must carry no signal, and the
/// budget must end the climb.
#[tokio::test]
async fn hill_climbing_gets_no_signal_and_is_locked_out() {
    for backend in backends() {
        let s = TestServer::start(backend).await;
        let t = s.tenant("acme", json!({})).await;
        let mut c = s.client();
        let reference = indices(21);
        let refs = enrolled(&mut c, &t, "victim", &reference).await;
        let bystander = enrolled(&mut c, &t, "bystander", &indices(22)).await;

        let mut probe = vec![0u8; 1024];
        let mut answers = BTreeSet::new();
        for i in 0..5 {
            // Step towards the reference: the most helpful change there is.
            probe[i] = reference[i];
            let r = send_sealed(
                &mut c,
                &t,
                "victim",
                Purpose::Verify,
                &refs[1],
                &template(&probe),
            )
            .await;
            assert_eq!(r.status, StatusCode::OK, "{backend:?} {:?}", r.body);
            let mut v = r.json().unwrap();
            let keys: BTreeSet<String> = v.as_object().unwrap().keys().cloned().collect();
            assert_eq!(
                keys,
                ["challenge_id", "matched", "subject_id", "threshold"]
                    .map(String::from)
                    .into(),
                "a decision and the policy, nothing else"
            );
            assert_eq!(v["matched"], false);
            v.as_object_mut().unwrap().remove("challenge_id");
            answers.insert(v.to_string());
        }
        assert_eq!(answers.len(), 1, "every answer the same: no gradient");

        // The budget is spent: refused before any comparison, even for the
        // genuine template, with a time to come back.
        let r = send_sealed(
            &mut c,
            &t,
            "victim",
            Purpose::Verify,
            &refs[1],
            &template(&reference),
        )
        .await;
        refused(&r, StatusCode::TOO_MANY_REQUESTS, "subject_locked");
        let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=900).contains(&retry), "{retry}");
        // Locking is per subject: another subject verifies as before.
        let r = send_sealed(
            &mut c,
            &t,
            "bystander",
            Purpose::Verify,
            &bystander[1],
            &template(&indices(22)),
        )
        .await;
        assert_eq!(r.json().unwrap()["matched"], true, "{:?}", r.body);
        // Audited: the failures, the lock, and the refusal.
        let entries = c
            .get("/v1/audit?limit=1000", t.key())
            .await
            .unwrap()
            .json()
            .unwrap();
        let outcomes: Vec<&str> = entries["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["operation"] == "verify")
            .map(|e| e["outcome"].as_str().unwrap())
            .collect();
        assert_eq!(outcomes.iter().filter(|o| **o == "no-match").count(), 4);
        assert!(outcomes.contains(&"no-match;locked"), "{outcomes:?}");
        assert!(outcomes.contains(&"refused:subject_locked"), "{outcomes:?}");
        assert_eq!(
            c.get("/v1/audit/verify", t.key())
                .await
                .unwrap()
                .json()
                .unwrap()["status"],
            "intact"
        );
        s.stop().await;
    }
}

#[tokio::test]
async fn a_match_resets_the_budget_and_a_lock_ends() {
    for backend in backends() {
        let s = TestServer::start(backend).await;
        let t = s
            .tenant("acme", json!({"attempt_limit": 3, "lockout_secs": 1}))
            .await;
        let mut c = s.client();
        let reference = indices(31);
        let refs = enrolled(&mut c, &t, "s", &reference).await;
        let mut status = Vec::new();
        for probe in [
            indices(1),
            indices(2),
            reference.clone(),
            indices(3),
            indices(4),
        ] {
            let r = send_sealed(
                &mut c,
                &t,
                "s",
                Purpose::Verify,
                &refs[1],
                &template(&probe),
            )
            .await;
            status.push(r.status);
        }
        assert!(
            status.iter().all(|s| *s == StatusCode::OK),
            "{status:?}: a match reset the count"
        );
        // The third failure in a row locks; the lock ends after lockout_secs.
        let r = send_sealed(
            &mut c,
            &t,
            "s",
            Purpose::Verify,
            &refs[1],
            &template(&indices(5)),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        let r = send_sealed(
            &mut c,
            &t,
            "s",
            Purpose::Verify,
            &refs[1],
            &template(&reference),
        )
        .await;
        refused(&r, StatusCode::TOO_MANY_REQUESTS, "subject_locked");
        tokio::time::sleep(Duration::from_millis(2_100)).await;
        let r = send_sealed(
            &mut c,
            &t,
            "s",
            Purpose::Verify,
            &refs[1],
            &template(&reference),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        assert_eq!(r.json().unwrap()["matched"], true);
        s.stop().await;
    }
}

/// Attempts sent at once cannot buy more comparisons than the budget: the
/// attempt is charged, atomically, before the comparison.
#[tokio::test]
async fn concurrent_attempts_cannot_exceed_the_budget() {
    for backend in backends() {
        let s = TestServer::start_with(backend, ServiceConfig::default(), roomy()).await;
        let t = s.tenant("acme", json!({})).await;
        let mut c = s.client();
        let refs = enrolled(&mut c, &t, "s", &indices(41)).await;
        let mut envelopes = Vec::new();
        for i in 0..20 {
            let nonce = challenge(&mut c, &t, Purpose::Verify).await;
            let ctx = context(&t, "s", Purpose::Verify, &refs[1], nonce);
            envelopes.push(seal_payload(&t, &ctx, &template(&indices(100 + i))));
        }
        let mut sends = Vec::new();
        for envelope in envelopes {
            let (addr, key) = (s.addr, t.api_key.clone());
            sends.push(tokio::spawn(async move {
                let mut c = HttpClient::new(addr);
                c.post_octets("/v1/verifications", Some(&key), envelope)
                    .await
                    .unwrap()
                    .status
            }));
        }
        let mut compared = 0;
        for send in sends {
            match send.await.unwrap() {
                StatusCode::OK => compared += 1,
                StatusCode::TOO_MANY_REQUESTS => {}
                other => panic!("{backend:?}: {other}"),
            }
        }
        assert!(compared <= 5, "{backend:?}: {compared} comparisons");
        assert!(compared >= 1);
        s.stop().await;
    }
}

/// A server allowing 5 failures per credential and 20 per address a
/// minute, and its tenant.
async fn throttled_server() -> (TestServer, Tenant) {
    let limits = ThrottleLimits {
        per_credential: 5,
        per_address: 20,
        window: Duration::from_secs(60),
    };
    let s = TestServer::start_throttled(Backend::Sqlite, limits).await;
    let t = s.tenant("acme", json!({})).await;
    (s, t)
}

/// Finding 5: wrong API-key guesses were answered without limit, taking
/// real traffic's slots. A credential or address over its budget is
/// refused from memory, before its body is even read.
#[tokio::test]
async fn failed_authentications_are_throttled_before_any_work() {
    let (s, t) = throttled_server().await;
    let mut c = s.client();
    let handle = t.api_key.split('_').nth(1).unwrap().to_owned();
    let guess = |n: u8| format!("fsk_{handle}_{}", format!("{n:02x}").repeat(32));
    for n in 0..5 {
        let r = c.get("/v1/bundle", Some(&guess(n))).await.unwrap();
        refused(&r, StatusCode::UNAUTHORIZED, "unauthorized");
    }
    // The handle is throttled: even a huge body is refused at once, unread.
    let r = c
        .post_octets("/v1/verifications", Some(&guess(9)), vec![0; 1 << 20])
        .await
        .unwrap();
    refused(&r, StatusCode::TOO_MANY_REQUESTS, "too_many_auth_failures");
    assert!(r.headers.contains_key("retry-after"));
    // Another credential from the same address still works.
    let other = c
        .post_json("/v1/tenants/acme/api-keys", Some(ADMIN), json!({}))
        .await
        .unwrap()
        .json()
        .unwrap()["api_key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        c.get("/v1/bundle", Some(&other)).await.unwrap().status,
        StatusCode::OK
    );
    // Random handles: the address runs out of its budget, then everything
    // from it waits, whatever the credential.
    let started = Instant::now();
    let mut refused_at = None;
    for n in 0..40u32 {
        let key = format!("fsk_{}_{}", faceseal_sync::random::id(), "00".repeat(32));
        let r = c.get("/v1/bundle", Some(&key)).await.unwrap();
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            refused_at = Some(n);
            break;
        }
    }
    // 5 failures of the first handle + 15 random ones make the address's 20.
    assert_eq!(refused_at, Some(15));
    let key = format!("fsk_{}_{}", faceseal_sync::random::id(), "00".repeat(32));
    refused(
        &c.get("/v1/bundle", Some(&key)).await.unwrap(),
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_auth_failures",
    );
    // Genuine keys are still served from the address, even the one whose
    // handle is over its own budget: guessing them is hopeless, so the
    // limit must not lock their clients out.
    for genuine in [&other, &t.api_key] {
        assert_eq!(
            c.get("/v1/bundle", Some(genuine)).await.unwrap().status,
            StatusCode::OK
        );
    }
    assert!(started.elapsed() < Duration::from_secs(10));
    s.stop().await;
}

/// Guessers sharing a legitimate client's address (behind a proxy, a NAT,
/// on loopback here) lock the address out, not the client: while they
/// guess at full speed, the client's genuine API key keeps being served
/// from the same address, and the guesses keep getting the cheap 429.
#[tokio::test]
async fn guessers_sharing_an_address_do_not_lock_out_a_genuine_client() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let (s, t) = throttled_server().await;
    let guessing = Arc::new(AtomicBool::new(true));
    let (unauthorized, throttled) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let guessers: Vec<_> = (0..4)
        .map(|_| {
            let mut c = s.client();
            let guessing = Arc::clone(&guessing);
            let (unauthorized, throttled) = (Arc::clone(&unauthorized), Arc::clone(&throttled));
            tokio::spawn(async move {
                while guessing.load(Ordering::Relaxed) {
                    let key = format!(
                        "fsk_{}_{}",
                        faceseal_sync::random::id(),
                        hex::encode(faceseal_sync::random::bytes::<32>())
                    );
                    let r = c.get("/v1/bundle", Some(&key)).await.unwrap();
                    match r.status {
                        StatusCode::UNAUTHORIZED => unauthorized.fetch_add(1, Ordering::Relaxed),
                        StatusCode::TOO_MANY_REQUESTS => throttled.fetch_add(1, Ordering::Relaxed),
                        other => panic!("a guess answered {other}"),
                    };
                }
            })
        })
        .collect();
    let started = Instant::now();
    while throttled.load(Ordering::Relaxed) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never throttled"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The address is over its budget; the genuine client reads and writes.
    let mut c = s.client();
    for n in 0..30 {
        let r = c.get("/v1/bundle", t.key()).await.unwrap();
        assert_eq!(r.status, StatusCode::OK, "read {n}");
        let r = c
            .post_json(
                "/v1/subjects",
                t.key(),
                json!({"subject_id": format!("s{n}")}),
            )
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::CREATED, "write {n}");
    }
    guessing.store(false, Ordering::Relaxed);
    for g in guessers {
        g.await.unwrap();
    }
    // Past the address's budget (and the few guesses already in flight when
    // it ran out), every guess got the 429 from memory.
    assert!(unauthorized.load(Ordering::Relaxed) <= 20 + 4);
    assert!(throttled.load(Ordering::Relaxed) > 30);
    s.stop().await;
}

/// Finding 2: a second enrolment of an enrolled subject replaced its
/// reference. Now it is refused; replacing needs a replacement challenge,
/// a live consent, and is audited as such.
#[tokio::test]
async fn re_enrolment_is_refused_unless_a_replacement_was_asked_for() {
    for backend in backends() {
        let s = TestServer::start(backend).await;
        let t = s.tenant("acme", json!({})).await;
        let mut c = s.client();
        let reference = indices(51);
        let refs = enrolled(&mut c, &t, "victim", &reference).await;
        let before = c
            .get("/v1/subjects/victim", t.key())
            .await
            .unwrap()
            .json()
            .unwrap();

        let attacker = indices(52);
        let r = send_sealed(
            &mut c,
            &t,
            "victim",
            Purpose::Enrol,
            &refs[0],
            &template(&attacker),
        )
        .await;
        refused(&r, StatusCode::CONFLICT, "already_enrolled");
        let after = c
            .get("/v1/subjects/victim", t.key())
            .await
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(before["template_id"], after["template_id"], "{backend:?}");
        let r = send_sealed(
            &mut c,
            &t,
            "victim",
            Purpose::Verify,
            &refs[1],
            &template(&attacker),
        )
        .await;
        assert_eq!(
            r.json().unwrap()["matched"],
            false,
            "the attacker does not match"
        );

        // An explicit replacement.
        let nonce = replace_challenge(&mut c, &t, "victim").await;
        let ctx = context(&t, "victim", Purpose::Enrol, &refs[0], nonce);
        let r = post_envelope(
            &mut c,
            &t,
            Purpose::Enrol,
            seal_payload(&t, &ctx, &template(&indices(53))),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        assert_eq!(r.json().unwrap()["replaced"], true);
        let entries = c
            .get("/v1/audit?limit=1000", t.key())
            .await
            .unwrap()
            .json()
            .unwrap();
        assert!(
            entries["entries"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["operation"] == "enrol.replace")
        );
        // A replacement needs a consent like any enrolment...
        let nonce = replace_challenge(&mut c, &t, "victim").await;
        let ctx = context(&t, "victim", Purpose::Enrol, "consent-made-up", nonce);
        let r = post_envelope(
            &mut c,
            &t,
            Purpose::Enrol,
            seal_payload(&t, &ctx, &template(&attacker)),
        )
        .await;
        refused(&r, StatusCode::FORBIDDEN, "no_valid_consent");
        // ...binds its subject, and replaces only what exists.
        let other = subject(&mut c, &t, "fresh", &["enrol"]).await;
        let nonce = replace_challenge(&mut c, &t, "victim").await;
        let ctx = context(&t, "fresh", Purpose::Enrol, &other[0], nonce);
        let r = post_envelope(
            &mut c,
            &t,
            Purpose::Enrol,
            seal_payload(&t, &ctx, &template(&attacker)),
        )
        .await;
        refused(&r, StatusCode::FORBIDDEN, "invalid_challenge");
        let nonce = replace_challenge(&mut c, &t, "fresh").await;
        let ctx = context(&t, "fresh", Purpose::Enrol, &other[0], nonce);
        let r = post_envelope(
            &mut c,
            &t,
            Purpose::Enrol,
            seal_payload(&t, &ctx, &template(&attacker)),
        )
        .await;
        refused(&r, StatusCode::NOT_FOUND, "not_enrolled");
        let r = c
            .post_json(
                "/v1/challenges",
                t.key(),
                json!({"purpose": "verify", "replace": true}),
            )
            .await
            .unwrap();
        refused(&r, StatusCode::BAD_REQUEST, "bad_request");
        s.stop().await;
    }
}

/// How many templates a subject has, whatever the tenant.
async fn templates_of(s: &TestServer, subject: &str) -> i64 {
    s.service
        .database()
        .query(
            "SELECT COUNT(*) FROM templates WHERE subject_id = $1",
            vec![subject.into()],
        )
        .await
        .unwrap()[0][0]
        .int()
        .unwrap()
}

/// Finding 3: an enrolment racing a subject deletion left a template for
/// the deleted subject (1 in 60), and one racing a revocation survived it
/// (1 in 150). Both races, a few hundred times each, bounded in time.
#[tokio::test]
async fn enrolment_racing_deletion_or_revocation_never_outlives_it() {
    for backend in backends() {
        let s = TestServer::start(backend).await;
        let t = s.tenant("acme", json!({})).await;
        let mut c = s.client();
        let mut a = s.client();
        let mut b = s.client();
        let deadline = Instant::now() + Duration::from_secs(12);
        let (mut trials, mut enrolled_first) = (0, 0);
        for i in 0..300 {
            if Instant::now() > deadline {
                break;
            }
            let id = format!("s{i}");
            let refs = subject(&mut c, &t, &id, &["enrol"]).await;
            let nonce = challenge(&mut c, &t, Purpose::Enrol).await;
            let ctx = context(&t, &id, Purpose::Enrol, &refs[0], nonce);
            let envelope = seal_payload(&t, &ctx, &template(&indices(i)));
            let revoke = i % 2 == 1;
            let path = if revoke {
                format!("/v1/subjects/{id}/consents/{}/revoke", refs[0])
            } else {
                format!("/v1/subjects/{id}")
            };
            let (enrol, removal) =
                tokio::join!(a.post_octets("/v1/enrolments", t.key(), envelope), async {
                    // Spread the removal over the enrolment's whole course,
                    // from before its checks to its commit.
                    let jitter = (i * 7_919) % 4_000;
                    tokio::time::sleep(Duration::from_micros(jitter)).await;
                    if revoke {
                        b.post_json(&path, t.key(), json!({})).await
                    } else {
                        b.delete(&path, t.key()).await
                    }
                });
            let (enrol, removal) = (enrol.unwrap(), removal.unwrap());
            assert_eq!(removal.status, StatusCode::NO_CONTENT, "{:?}", removal.body);
            assert!(
                enrol.status == StatusCode::CREATED || enrol.status.is_client_error(),
                "{backend:?}: {:?}",
                enrol.body
            );
            if enrol.status == StatusCode::CREATED {
                enrolled_first += 1;
            }
            assert_eq!(
                templates_of(&s, &id).await,
                0,
                "{backend:?} trial {i} (revoke: {revoke})"
            );
            trials += 1;
        }
        assert!(trials >= 100, "{backend:?}: only {trials} trials in time");
        eprintln!("{backend:?}: {trials} races, {enrolled_first} enrolments committed first");
        s.stop().await;
    }
}

/// Finding 6: deleting a tenant under concurrent reads gave 500s (keys
/// deleted in one transaction, rows in another).
#[tokio::test]
async fn deleting_a_tenant_under_load_answers_no_500() {
    for backend in backends() {
        let s = TestServer::start_with(backend, ServiceConfig::default(), roomy()).await;
        let mut c = s.client();
        for round in 0..4 {
            let t = s.tenant(&format!("t{round}"), json!({})).await;
            let refs = enrolled(&mut c, &t, "s", &indices(61)).await;
            let mut envelopes = Vec::new();
            for _ in 0..30 {
                let nonce = challenge(&mut c, &t, Purpose::Verify).await;
                let ctx = context(&t, "s", Purpose::Verify, &refs[1], nonce);
                envelopes.push(seal_payload(&t, &ctx, &template(&indices(61))));
            }
            let stop = Instant::now() + Duration::from_millis(1_500);
            let mut load = Vec::new();
            for worker in 0..4 {
                let (addr, key) = (s.addr, t.api_key.clone());
                let mut envelopes = envelopes.clone();
                load.push(tokio::spawn(async move {
                    let mut c = HttpClient::new(addr);
                    let mut seen = Vec::new();
                    while Instant::now() < stop {
                        let r = match worker {
                            0 => c.get("/v1/bundle", Some(&key)).await,
                            1 => c.get("/v1/subjects/s", Some(&key)).await,
                            2 => c.get("/v1/audit/verify", Some(&key)).await,
                            _ => match envelopes.pop() {
                                Some(e) => c.post_octets("/v1/verifications", Some(&key), e).await,
                                None => c.get("/v1/audit", Some(&key)).await,
                            },
                        };
                        let r = r.unwrap();
                        seen.push((r.status, String::from_utf8_lossy(&r.body).into_owned()));
                        if r.status == StatusCode::UNAUTHORIZED {
                            break;
                        }
                    }
                    seen
                }));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            let r = c
                .delete(&format!("/v1/tenants/t{round}"), Some(ADMIN))
                .await
                .unwrap();
            assert_eq!(r.status, StatusCode::NO_CONTENT);
            for worker in load {
                for (status, body) in worker.await.unwrap() {
                    assert!(!status.is_server_error(), "{backend:?}: {status} {body}");
                }
            }
        }
        assert_eq!(s.rows("tenant_keys").await, 0);
        s.stop().await;
    }
}

/// Finding 6: every refused envelope appended an audit row (2,061 rows/s
/// from one client). Refusals are sampled: one entry per kind per window,
/// carrying the count.
#[tokio::test]
async fn a_flood_of_refused_envelopes_writes_a_bounded_audit_trail() {
    for backend in backends() {
        let s = TestServer::start(backend).await;
        let t = s.tenant("acme", json!({})).await;
        let mut c = s.client();
        let before = s.rows("audit_entries").await;
        for i in 0..300usize {
            let junk: Vec<u8> = (0..64).map(|j| ((i + j) * 31 % 251) as u8).collect();
            let r = post_envelope(&mut c, &t, Purpose::Verify, junk).await;
            refused(&r, StatusCode::BAD_REQUEST, "malformed_envelope");
        }
        let written = s.rows("audit_entries").await - before;
        assert_eq!(
            written, 1,
            "{backend:?}: one entry for the kind, not one per refusal"
        );
        s.stop().await;
    }
}

#[tokio::test]
async fn the_audit_trail_is_read_in_pages() {
    for backend in backends() {
        let s = TestServer::start(backend).await;
        let t = s.tenant("acme", json!({})).await;
        let mut c = s.client();
        for i in 0..3 {
            subject(&mut c, &t, &format!("s{i}"), &["enrol"]).await;
        }
        // 7 entries: tenant.create and 3 x (subject.create, consent.grant).
        let mut seqs = Vec::new();
        let mut after = 0;
        loop {
            let page = c
                .get(&format!("/v1/audit?after={after}&limit=3"), t.key())
                .await
                .unwrap()
                .json()
                .unwrap();
            let entries = page["entries"].as_array().unwrap();
            assert!(entries.len() <= 3);
            seqs.extend(entries.iter().map(|e| e["seq"].as_i64().unwrap()));
            match page["next_after"].as_i64() {
                Some(next) => after = next,
                None => break,
            }
        }
        assert_eq!(seqs, (1..=7).collect::<Vec<_>>());
        for bad in ["limit=0", "limit=1001", "after=-1", "limit=abc", "cursor=1"] {
            let r = c.get(&format!("/v1/audit?{bad}"), t.key()).await.unwrap();
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
            assert!(r.error_code().is_some(), "{bad}: JSON error");
        }
        s.stop().await;
    }
}

/// Finding 4 (PostgreSQL): instances over one database share one KEK and
/// every piece of state: a tenant made through one is usable through the
/// other, a challenge raced to both is accepted once, and the attempt
/// budget is shared.
#[tokio::test]
async fn two_instances_over_one_postgres_share_tenants_challenges_and_budgets() {
    if !backends().contains(&Backend::Postgres) {
        return;
    }
    let one = TestServer::start(Backend::Postgres).await;
    let two = one.sibling().await;
    let t = one.tenant("shared", json!({})).await;
    let (mut c1, mut c2) = (one.client(), two.client());
    let reference = indices(71);
    let refs = subject(&mut c2, &t, "s", &["enrol", "verify"]).await;
    let r = send_sealed(
        &mut c2,
        &t,
        "s",
        Purpose::Enrol,
        &refs[0],
        &template(&reference),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let r = send_sealed(
        &mut c1,
        &t,
        "s",
        Purpose::Verify,
        &refs[1],
        &template(&reference),
    )
    .await;
    assert_eq!(r.json().unwrap()["matched"], true);
    assert_eq!(
        c2.get("/v1/bundle", t.key()).await.unwrap().json().unwrap()["tenant_id"],
        "shared"
    );

    for _ in 0..20 {
        let nonce = challenge(&mut c1, &t, Purpose::Verify).await;
        let ctx = context(&t, "s", Purpose::Verify, &refs[1], nonce);
        let envelope = seal_payload(&t, &ctx, &template(&reference));
        let (r1, r2) = tokio::join!(
            c1.post_octets("/v1/verifications", t.key(), envelope.clone()),
            c2.post_octets("/v1/verifications", t.key(), envelope)
        );
        let mut statuses = [r1.unwrap().status, r2.unwrap().status];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::FORBIDDEN],
            "accepted once"
        );
    }

    // Failures through either instance count against one budget.
    let mut compared = 0;
    for i in 0..8 {
        let c = if i % 2 == 0 { &mut c1 } else { &mut c2 };
        let r = send_sealed(
            c,
            &t,
            "s",
            Purpose::Verify,
            &refs[1],
            &template(&indices(200 + i)),
        )
        .await;
        if r.status == StatusCode::OK {
            compared += 1;
        } else {
            refused(&r, StatusCode::TOO_MANY_REQUESTS, "subject_locked");
        }
    }
    assert_eq!(compared, 5);
    assert_eq!(
        c2.get("/v1/audit/verify", t.key())
            .await
            .unwrap()
            .json()
            .unwrap()["status"],
        "intact"
    );
    two.stop().await;
    one.stop().await;
}

/// Finding 4: a service started with another KEK served 500s after
/// committing rows. Now the database's check value refuses it at start.
#[tokio::test]
async fn another_kek_is_refused_before_serving() {
    use faceseal_sync::db::{Database, PostgresDatabase, SqliteDatabase};
    use faceseal_sync::keystore::KekKeyStore;
    use faceseal_sync::service::{KekCheck, Service};
    use std::sync::Arc;
    for backend in backends() {
        let dir = tempfile::tempdir().unwrap();
        let schema = format!("t_{}", faceseal_sync::random::id());
        let open = || async {
            let db: Arc<dyn Database> = match backend {
                Backend::Sqlite => {
                    Arc::new(SqliteDatabase::open(&dir.path().join("k.db")).unwrap())
                }
                Backend::Postgres => Arc::new(
                    PostgresDatabase::connect(
                        &std::env::var(PG_URL_ENV).unwrap(),
                        common::pg_options(&schema),
                    )
                    .await
                    .unwrap(),
                ),
            };
            db
        };
        let with = |db, kek: u8| {
            Service::new(
                db,
                Arc::new(KekKeyStore::from_bytes(&[kek; 32])),
                ServiceConfig::default(),
            )
        };
        assert_eq!(
            with(open().await, 1).check_kek().await.unwrap(),
            KekCheck::Bound
        );
        assert_eq!(
            with(open().await, 1).check_kek().await.unwrap(),
            KekCheck::Matches
        );
        let err = with(open().await, 2).check_kek().await.unwrap_err();
        assert!(err.to_string().contains("key store"), "{backend:?}: {err}");
    }
}

/// Finding 6: after kill -9, created subjects and granted consents existed
/// without their audit entries. A change and its entry now commit together:
/// when the entry cannot be written, the change does not happen either.
#[tokio::test]
async fn no_change_commits_without_its_audit_entry() {
    use faceseal_sync::db::Stmt;
    for backend in backends() {
        let s = TestServer::start(backend).await;
        let t = s.tenant("acme", json!({})).await;
        let mut c = s.client();
        let refs = subject(&mut c, &t, "kept", &["enrol", "verify"]).await;
        let db = s.service.database();
        // The audit table becomes unwritable (as a crash between the two
        // writes would have left things).
        db.batch(vec![Stmt::new(
            "ALTER TABLE audit_entries RENAME TO audit_entries_away",
            vec![],
        )])
        .await
        .unwrap();
        let r = c
            .post_json("/v1/subjects", t.key(), json!({"subject_id": "lost"}))
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
        let r = c
            .post_json(
                "/v1/subjects/kept/consents",
                t.key(),
                json!({"purpose": "enrol", "text_version": "v2"}),
            )
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
        let r = send_sealed(
            &mut c,
            &t,
            "kept",
            Purpose::Enrol,
            &refs[0],
            &template(&indices(91)),
        )
        .await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
        let r = c.delete("/v1/subjects/kept", t.key()).await.unwrap();
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
        db.batch(vec![Stmt::new(
            "ALTER TABLE audit_entries_away RENAME TO audit_entries",
            vec![],
        )])
        .await
        .unwrap();
        assert_eq!(s.rows("subjects").await, 1, "{backend:?}: only 'kept'");
        assert_eq!(s.rows("consents").await, 2, "{backend:?}");
        assert_eq!(s.rows("templates").await, 0, "{backend:?}");
        assert_eq!(
            c.get("/v1/audit/verify", t.key())
                .await
                .unwrap()
                .json()
                .unwrap(),
            json!({"status": "intact", "entries": 4})
        );
        s.stop().await;
    }
}
