//! Pixel buffers that are wiped when freed and whose allocation may fail.

use zeroize::Zeroizing;

/// A zero-filled buffer of `len` bytes, or `None` when the allocator refuses.
///
/// `try_reserve_exact` turns an out-of-memory on a small device into a typed
/// refusal instead of an abort; `Zeroizing` wipes every intermediate copy of
/// a face (decoded samples, rotated pixels) when it is dropped.
pub(super) fn zeroed(len: usize) -> Option<Zeroizing<Vec<u8>>> {
    let mut pixels = Vec::new();
    pixels.try_reserve_exact(len).ok()?;
    pixels.resize(len, 0);
    Some(Zeroizing::new(pixels))
}
