//! The key holder as its own process: set-up, verification over HTTP, its
//! budget across restarts, refusals, the server's view when it is down, and
//! tenant deletion.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use faceseal_keyholder::client::{ClientError, KeyHolderClient};
use faceseal_keyholder::verifier::{ServerTenant, VerifyError};
use faceseal_split::decision::DecisionRequest;
use faceseal_split::device;
use faceseal_split::encoding::Quantised;
use faceseal_split::params;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

const CREDENTIAL: &str = "a server credential of enough length";

struct KeyHolderProcess {
    child: Child,
    base: String,
}

impl Drop for KeyHolderProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("keyholder-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("credential"), CREDENTIAL).unwrap();
    dir
}

fn start(dir: &Path, attempts: u32) -> KeyHolderProcess {
    let mut child = Command::new(env!("CARGO_BIN_EXE_faceseal-keyholder"))
        .args(["serve", "--listen", "127.0.0.1:0", "--attempts"])
        .arg(attempts.to_string())
        .arg("--dir")
        .arg(dir.join("store"))
        .arg("--credential-file")
        .arg(dir.join("credential"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    KeyHolderProcess {
        child,
        base: format!("http://{addr}"),
    }
}

fn client(base: &str) -> KeyHolderClient {
    KeyHolderClient::new(base, CREDENTIAL, Duration::from_secs(20))
}

fn template(rng: &mut ChaCha20Rng) -> Quantised {
    let v: Vec<f32> = (0..params::DIMENSION)
        .map(|_| rng.random_range(-1.0f32..1.0))
        .collect();
    Quantised::from_embedding(&v).unwrap()
}

const THRESHOLD: i64 = 8000;

#[test]
fn verification_over_http_with_budget_and_restart() {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let par = params::bfv().unwrap();
    let dir = scratch("flow");
    let process = start(&dir, 2);
    let c = client(&process.base);
    c.health().unwrap();
    let tenant = ServerTenant::create(&par, &c, "acme").unwrap();
    let alice = template(&mut rng);
    let mallory = template(&mut rng);
    assert!(alice.score(&mallory) < THRESHOLD);
    let stored = device::encrypt(&par, &tenant.public, &alice, &mut rng).unwrap();

    assert!(
        tenant
            .verify(&par, &c, "alice", &stored, &alice, THRESHOLD)
            .unwrap()
    );
    // The attacker: one bit per attempt, then locked.
    for _ in 0..2 {
        assert!(
            !tenant
                .verify(&par, &c, "alice", &stored, &mallory, THRESHOLD)
                .unwrap()
        );
    }
    let locked = tenant
        .verify(&par, &c, "alice", &stored, &alice, THRESHOLD)
        .unwrap_err();
    assert_eq!(locked.http_status(), 429, "{locked}");

    // A restart does not refill the budget.
    drop(process);
    let process = start(&dir, 2);
    let c = client(&process.base);
    let still = tenant
        .verify(&par, &c, "alice", &stored, &alice, THRESHOLD)
        .unwrap_err();
    assert_eq!(still.http_status(), 429);
    // Another subject of the tenant is unaffected.
    let bob = template(&mut rng);
    let bob_stored = device::encrypt(&par, &tenant.public, &bob, &mut rng).unwrap();
    assert!(
        tenant
            .verify(&par, &c, "bob", &bob_stored, &bob, THRESHOLD)
            .unwrap()
    );

    // An audit trail that names nobody.
    let audit = std::fs::read_to_string(dir.join("store/audit.jsonl")).unwrap();
    assert!(audit.contains("\"locked\"") && !audit.contains("alice"));

    // Deleting the tenant destroys the key holder's share.
    c.delete_tenant("acme").unwrap();
    let gone = tenant
        .verify(&par, &c, "bob", &bob_stored, &bob, THRESHOLD)
        .unwrap_err();
    assert_eq!(gone.http_status(), 404, "{gone}");
    assert!(
        std::fs::read_dir(dir.join("store/tenants"))
            .unwrap()
            .next()
            .is_none()
    );
    drop(process);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn key_holder_down_answers_503_and_enrolment_still_works() {
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let par = params::bfv().unwrap();
    let dir = scratch("down");
    let process = start(&dir, 5);
    let base = process.base.clone();
    let tenant = ServerTenant::create(&par, &client(&base), "acme").unwrap();
    drop(process);

    // Enrolment needs the public key only.
    let alice = template(&mut rng);
    let stored = device::encrypt(&par, &tenant.public, &alice, &mut rng).unwrap();
    let down = tenant
        .verify(&par, &client(&base), "alice", &stored, &alice, THRESHOLD)
        .unwrap_err();
    assert!(matches!(
        down,
        VerifyError::KeyHolder(ClientError::Unavailable(_))
    ));
    assert_eq!(down.http_status(), 503);

    // Back up on the same store: nothing was lost, nothing was spent.
    let process = start(&dir, 5);
    assert!(
        tenant
            .verify(
                &par,
                &client(&process.base),
                "alice",
                &stored,
                &alice,
                THRESHOLD
            )
            .unwrap()
    );
    drop(process);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn strangers_replays_and_other_tenants_answers_are_refused() {
    let mut rng = ChaCha20Rng::seed_from_u64(13);
    let par = params::bfv().unwrap();
    let dir = scratch("refusals");
    let process = start(&dir, 5);
    let c = client(&process.base);
    let acme = ServerTenant::create(&par, &c, "acme").unwrap();
    let globex = ServerTenant::create(&par, &c, "globex").unwrap();
    let alice = template(&mut rng);
    let stored = device::encrypt(&par, &acme.public, &alice, &mut rng).unwrap();

    // A wrong credential.
    let stranger = KeyHolderClient::new(
        &process.base,
        "not the credential at all",
        Duration::from_secs(5),
    );
    assert!(matches!(
        ServerTenant::create(&par, &stranger, "evil"),
        Err(VerifyError::KeyHolder(ClientError::Refused {
            status: 401,
            ..
        }))
    ));

    let partial = faceseal_split::server::compare(
        &par,
        &acme.public,
        &acme.share,
        &stored,
        &alice,
        THRESHOLD,
        &mut rng,
    )
    .unwrap();
    let request = DecisionRequest {
        tenant: "acme".into(),
        subject: "alice".into(),
        request_id: rng.random(),
        nonce: rng.random(),
    };
    let answer = c.decide(&request, &partial).unwrap();
    assert!(acme.decision_key.verify(&request, &answer).unwrap());
    // The same request again is refused by the key holder.
    assert!(matches!(
        c.decide(&request, &partial),
        Err(ClientError::Refused { status: 409, .. })
    ));
    // The old answer offered to a new verification is refused by the server.
    let fresh = DecisionRequest {
        request_id: rng.random(),
        nonce: rng.random(),
        ..request.clone()
    };
    assert!(acme.decision_key.verify(&fresh, &answer).is_err());
    // An answer for another tenant is refused, whichever key it carries.
    let other = DecisionRequest {
        tenant: "globex".into(),
        request_id: rng.random(),
        ..request.clone()
    };
    let other_answer = c.decide(&other, &partial).unwrap();
    assert!(acme.decision_key.verify(&request, &other_answer).is_err());
    assert!(globex.decision_key.verify(&request, &other_answer).is_err());
    drop(process);
    std::fs::remove_dir_all(dir).unwrap();
}
