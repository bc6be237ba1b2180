//! Untrusted JPEG/PNG bytes through the input gate: it must never panic, and
//! a frame it returns must respect the limits it was given.
#![no_main]

use faceseal_vision::input::{InputLimits, decode_image};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Limits small enough that the fuzzer reaches the size checks from both
    // sides and every decode stays fast.
    let limits = InputLimits::default()
        .with_max_bytes(1 << 20)
        .with_max_size(512, 512)
        .with_max_pixels(128 * 1024)
        .with_min_size(1, 1);
    if let Ok(frame) = decode_image(data, &limits) {
        let (w, h) = (frame.width(), frame.height());
        assert!(w >= 1 && h >= 1 && w <= 512 && h <= 512);
        assert!(u64::from(w) * u64::from(h) <= 128 * 1024);
        assert_eq!(frame.as_rgb().len(), w as usize * h as usize * 3);
    }
});
