//! Split-trust template protection: templates encrypted with BFV under a
//! public key whose secret is shared 2-of-2 between the server and a separate
//! key holder.
//!
//! * A device encrypts its template with the tenant's collective public key
//!   ([`device`]); it needs public values only.
//! * The server stores ciphertexts and, at verification, computes the inner
//!   product with the probe homomorphically, masks it so that only its sign is
//!   meaningful, floods the noise, and applies its own key share ([`server`]).
//! * The key holder checks the request and its attempt budget, finishes the
//!   decryption and answers one authenticated bit ([`keyholder`],
//!   [`decision`]).
//!
//! Neither party alone can decrypt a stored template: see `docs/protection.md`.
#![forbid(unsafe_code)]

pub mod budget;
pub mod decision;
pub mod device;
pub mod encoding;
mod error;
pub mod keyholder;
pub mod keys;
pub mod noise;
pub mod params;
pub mod server;

#[cfg(test)]
mod tests;

pub use error::SplitError;
