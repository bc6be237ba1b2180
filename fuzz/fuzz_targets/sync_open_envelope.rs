//! The sync service's envelope intake: whatever the bytes, opening and the
//! checks of tenant, purpose and time never panic, and nothing opens that
//! was not sealed to the tenant's key. Inputs that parse are also tried with
//! their key id relabelled to the tenant's, so the fuzzer reaches the key
//! agreement, the AEAD and the context checks.
#![no_main]

use std::sync::OnceLock;

use faceseal_protect::seal::{KeyId, Purpose, TenantSecretKey};
use faceseal_sync::sealed::{Expectation, open_envelope};
use libfuzzer_sys::fuzz_target;

fn key() -> &'static TenantSecretKey {
    static KEY: OnceLock<TenantSecretKey> = OnceLock::new();
    KEY.get_or_init(|| TenantSecretKey::from_bytes(&mut [0x42; 32]))
}

fn lookup(id: &KeyId) -> Option<TenantSecretKey> {
    (id == &key().key_id()).then(|| TenantSecretKey::from_bytes(&mut key().to_bytes()))
}

fuzz_target!(|data: &[u8]| {
    for purpose in [Purpose::Enrol, Purpose::Verify] {
        let expect = Expectation {
            tenant_id: "acme",
            purpose,
            now: 1_700_000_000,
            max_clock_skew: 30,
        };
        let _ = open_envelope(data, lookup, &expect);
        if data.len() >= 22 {
            let mut relabelled = data.to_vec();
            relabelled[6..22].copy_from_slice(key().key_id().as_bytes());
            let _ = open_envelope(&relabelled, lookup, &expect);
        }
    }
});
