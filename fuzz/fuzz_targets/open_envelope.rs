//! Untrusted envelopes: parsing and opening must never panic, whatever the
//! bytes. Inputs that parse are also opened under the key id of the fixed
//! test key, so the fuzzer reaches the X25519, HKDF and AEAD paths instead of
//! stopping at the key-id check.
#![no_main]

use std::sync::OnceLock;

use faceseal_protect::seal::{self, SealError, TenantSecretKey};
use libfuzzer_sys::fuzz_target;

fn key() -> &'static TenantSecretKey {
    static KEY: OnceLock<TenantSecretKey> = OnceLock::new();
    KEY.get_or_init(|| TenantSecretKey::from_bytes(&mut [0x42; 32]))
}

fuzz_target!(|data: &[u8]| {
    let parsed = seal::parse(data);
    let opened = seal::open(data, key());
    if parsed.is_err() {
        assert!(opened.is_err(), "an envelope that does not parse opened");
        return;
    }
    if let Err(SealError::KeyIdMismatch) = opened {
        let mut relabelled = data.to_vec();
        relabelled[6..22].copy_from_slice(key().key_id().as_bytes());
        let _ = seal::open(&relabelled, key());
    }
});
