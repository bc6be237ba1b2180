//! Reading C arguments: strings and byte ranges, with NULL checks.

use std::ffi::{CStr, c_char};

use super::FacesealStatus;
use super::call::{FfiError, FfiResult};

/// A required NUL-terminated UTF-8 string.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that stays valid and
/// unchanged for `'a`.
pub(crate) unsafe fn required_str<'a>(ptr: *const c_char, name: &str) -> FfiResult<&'a str> {
    // SAFETY: forwarded from this function's contract.
    unsafe { optional_str(ptr, name) }?.ok_or_else(|| FfiError::null(name))
}

/// An optional string: NULL is `None`.
///
/// # Safety
/// As [`required_str`].
pub(crate) unsafe fn optional_str<'a>(
    ptr: *const c_char,
    name: &str,
) -> FfiResult<Option<&'a str>> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: not NULL, and NUL-terminated and valid for 'a by the contract.
    let bytes = unsafe { CStr::from_ptr(ptr) };
    bytes.to_str().map(Some).map_err(|_| {
        FfiError::new(
            FacesealStatus::InvalidUtf8,
            format!("{name} is not valid UTF-8"),
        )
    })
}

/// A required byte range; `len` 0 with a NULL pointer is an empty slice.
///
/// # Safety
/// Unless NULL, `ptr` points to `len` readable bytes valid for `'a`.
pub(crate) unsafe fn byte_slice<'a>(ptr: *const u8, len: usize, name: &str) -> FfiResult<&'a [u8]> {
    if ptr.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(FfiError::null(name))
        };
    }
    if len > isize::MAX as usize {
        return Err(FfiError::invalid(format!("{name}: length too large")));
    }
    // SAFETY: not NULL, `len` readable bytes valid for 'a by the contract,
    // and `len` fits an isize (checked above).
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A required pointer to write a result through.
///
/// # Safety
/// `ptr` is NULL or valid for reads and writes of a `T`, and not aliased, for `'a`.
pub(crate) unsafe fn out_ptr<'a, T>(ptr: *mut T, name: &str) -> FfiResult<&'a mut T> {
    // SAFETY: forwarded from this function's contract; `as_mut` handles NULL.
    unsafe { ptr.as_mut() }.ok_or_else(|| FfiError::null(name))
}

/// A required pointer to read an argument from.
///
/// # Safety
/// `ptr` is NULL or valid for reads of a `T`, unchanged for `'a`.
pub(crate) unsafe fn in_ref<'a, T>(ptr: *const T, name: &str) -> FfiResult<&'a T> {
    // SAFETY: forwarded from this function's contract; `as_ref` handles NULL.
    unsafe { ptr.as_ref() }.ok_or_else(|| FfiError::null(name))
}
