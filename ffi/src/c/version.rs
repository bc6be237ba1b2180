//! Library and ABI versions.

use std::ffi::c_char;

/// Bumped whenever a function signature, a struct layout or an enum value of
/// the C ABI changes incompatibly. Compare with `faceseal_abi_version()` at
/// start-up to catch a header built against another library.
pub const FACESEAL_ABI_VERSION: u32 = 2;

/// The crate version with a NUL, as a static C string.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The library version ("0.1.0"), a static NUL-terminated string: never free it.
#[unsafe(no_mangle)]
pub extern "C" fn faceseal_version() -> *const c_char {
    VERSION.as_ptr().cast()
}

/// The ABI version this library implements (`FACESEAL_ABI_VERSION` of its header).
#[unsafe(no_mangle)]
pub extern "C" fn faceseal_abi_version() -> u32 {
    FACESEAL_ABI_VERSION
}
