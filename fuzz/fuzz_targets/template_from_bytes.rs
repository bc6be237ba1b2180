//! Untrusted protected templates (decrypted from an envelope, or read back
//! from storage): decoding must never panic, and whatever decodes must encode
//! back to the same bytes and compare equal to itself.
#![no_main]

use faceseal_protect::template::ProtectedTemplate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(template) = ProtectedTemplate::from_bytes(data) {
        assert_eq!(template.to_bytes().as_slice(), data);
        assert_eq!(template.compare(&template).map(|s| s.value()), Ok(1.0));
    }
});
