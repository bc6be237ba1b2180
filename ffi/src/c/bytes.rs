//! Byte buffers the library hands to C, freed by the library.

use zeroize::Zeroize;

use super::call::call_void;

/// A byte buffer owned by the library (a sealed envelope, a protected
/// template). Read `data[0..len]`; free it with `faceseal_bytes_free`, which
/// wipes it and sets both fields to zero. Do not change the fields.
#[repr(C)]
#[derive(Debug)]
pub struct FacesealBytes {
    pub data: *mut u8,
    pub len: usize,
}

impl FacesealBytes {
    /// No buffer.
    pub(crate) fn empty() -> Self {
        Self {
            data: std::ptr::null_mut(),
            len: 0,
        }
    }

    /// Hands `bytes` over to the caller.
    pub(crate) fn from_vec(bytes: Vec<u8>) -> Self {
        let boxed = bytes.into_boxed_slice();
        let len = boxed.len();
        let data = Box::into_raw(boxed).cast::<u8>();
        Self { data, len }
    }
}

/// Wipes and frees a buffer returned by the library, and empties the struct.
/// NULL, and a struct already freed (`data` NULL), are accepted.
///
/// # Safety
/// `bytes` is NULL or points to a `FacesealBytes` filled by this library and
/// not changed since.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn faceseal_bytes_free(bytes: *mut FacesealBytes) {
    call_void(|| {
        // SAFETY: the caller passes NULL or a valid, exclusive pointer to a
        // FacesealBytes (function contract); `as_mut` handles NULL.
        let Some(bytes) = (unsafe { bytes.as_mut() }) else {
            return;
        };
        if bytes.data.is_null() {
            return;
        }
        let slice = std::ptr::slice_from_raw_parts_mut(bytes.data, bytes.len);
        // SAFETY: `data` and `len` came from `Box::into_raw` of a boxed
        // slice in `from_vec` and were not changed (function contract), so
        // rebuilding the box gives back that allocation, once: the fields
        // are cleared right after.
        let mut owned = unsafe { Box::from_raw(slice) };
        owned.zeroize();
        drop(owned);
        bytes.data = std::ptr::null_mut();
        bytes.len = 0;
    });
}
