//! Raw camera buffers with fuzzer-chosen geometry: the first bytes pick the
//! format, rotation, width, height and stride; the rest is the buffer. The
//! gate must never panic or read out of bounds, whatever the combination.
//! The header layout is shared with the `testdata/raw/` seeds.
#![no_main]

#[path = "../../core/tests/corpus/raw_header.rs"]
mod raw_header;

use faceseal_vision::input::{Rotation, decode_raw_rotated};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((raw, rotation)) = raw_header::split_raw(data) else {
        return;
    };
    let (width, height) = (raw.width, raw.height);
    if let Ok(frame) = decode_raw_rotated(&raw, rotation, &raw_header::raw_limits()) {
        let (w, h) = (frame.width(), frame.height());
        let expected = match rotation {
            Rotation::Cw90 | Rotation::Cw270 => (height, width),
            _ => (width, height),
        };
        assert_eq!((w, h), expected);
        assert!(u64::from(w) * u64::from(h) <= 256 * 1024);
        assert_eq!(frame.as_rgb().len(), w as usize * h as usize * 3);
    }
});
