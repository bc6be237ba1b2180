//! The C ABI. Conventions, the same for every function:
//!
//! - every symbol starts with `faceseal_`; handles are opaque and come in
//!   `_new` / `_free` pairs; `_free` accepts NULL;
//! - every function that can fail returns a [`FacesealStatus`] and writes its
//!   results through out-parameters, which are left untouched on failure;
//! - byte buffers returned by the library ([`FacesealBytes`]) are freed with
//!   [`faceseal_bytes_free`];
//! - the message of the last failure on the calling thread is read with
//!   [`faceseal_last_error_message`];
//! - every pointer is checked for NULL, and no panic crosses the boundary
//!   (it becomes [`FacesealStatus::Panic`]).

mod bytes;
mod call;
mod capture;
mod config;
mod engine;
mod frame;
mod status;
mod strings;
mod version;

pub use bytes::{FacesealBytes, faceseal_bytes_free};
pub use call::faceseal_last_error_message;
pub use capture::*;
pub use config::*;
pub use engine::*;
pub use frame::{FacesealFrame, FacesealPixelFormat};
pub use status::{FacesealStatus, faceseal_status_name};
pub use version::{FACESEAL_ABI_VERSION, faceseal_abi_version, faceseal_version};
