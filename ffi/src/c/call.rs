//! The boundary of every C entry point: panics caught, errors turned into a
//! status code and a per-thread message.

use std::cell::RefCell;
use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use faceseal_core::engine::{CaptureError, EngineError};

use super::FacesealStatus;

thread_local! {
    /// The message of the last failed call on this thread.
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// A failure on its way to C: a status and a message for the caller.
#[derive(Debug)]
pub(crate) struct FfiError {
    status: FacesealStatus,
    message: String,
}

impl FfiError {
    pub(crate) fn new(status: FacesealStatus, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// A required pointer argument was NULL.
    pub(crate) fn null(argument: &str) -> Self {
        Self::new(
            FacesealStatus::NullPointer,
            format!("{argument} must not be NULL"),
        )
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(FacesealStatus::InvalidArgument, message)
    }
}

impl From<EngineError> for FfiError {
    fn from(error: EngineError) -> Self {
        Self::new(FacesealStatus::from(&error), error.to_string())
    }
}

impl From<CaptureError> for FfiError {
    fn from(error: CaptureError) -> Self {
        Self::new(FacesealStatus::from(&error), error.to_string())
    }
}

pub(crate) type FfiResult<T = ()> = Result<T, FfiError>;

/// Runs the body of an entry point: its error, or a panic, becomes a status
/// and the thread's last error message; success clears the message.
pub(crate) fn call(body: impl FnOnce() -> FfiResult) -> FacesealStatus {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => {
            set_last_error("");
            FacesealStatus::Ok
        }
        Ok(Err(error)) => {
            set_last_error(&error.message);
            error.status
        }
        Err(_) => {
            set_last_error("internal error: a panic was caught at the C boundary");
            FacesealStatus::Panic
        }
    }
}

/// For `void` entry points (the `_free` functions): a panic is swallowed.
pub(crate) fn call_void(body: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(body));
}

/// The body of every handle's `_free`: NULL is accepted, a panic in the
/// handle's destructor is swallowed.
///
/// # Safety
/// `handle` is NULL or a pointer from `Box::into_raw` of the same type, not
/// yet freed and not used afterwards.
pub(crate) unsafe fn free_handle<T>(handle: *mut T) {
    call_void(|| {
        if !handle.is_null() {
            // SAFETY: from Box::into_raw, freed once (caller's contract).
            drop(unsafe { Box::from_raw(handle) });
        }
    });
}

fn set_last_error(message: &str) {
    let message = CString::new(message.replace('\0', " ")).unwrap_or_default();
    // During thread teardown the slot may be gone: the message is then lost.
    let _ = LAST_ERROR.try_with(|slot| *slot.borrow_mut() = message);
}

/// The message of the last failed call on the calling thread, or "" after a
/// successful one. The string belongs to the library and stays valid until
/// the next `faceseal_` call on the same thread: copy it to keep it.
/// Messages never hold a subject id, a consent reference or pixel data.
#[unsafe(no_mangle)]
pub extern "C" fn faceseal_last_error_message() -> *const c_char {
    static EMPTY: &[u8] = b"\0";
    catch_unwind(|| {
        LAST_ERROR
            .try_with(|slot| slot.borrow().as_ptr())
            .unwrap_or(EMPTY.as_ptr().cast())
    })
    .unwrap_or(EMPTY.as_ptr().cast())
}
