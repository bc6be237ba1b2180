//! The key holder as a process: an HTTP service over its own key store, and
//! the server's client to it.
//!
//! Endpoints (all but health need `Authorization: Bearer <credential>`):
//!
//! * `GET /v1/health`
//! * `POST /v1/tenants/{tenant}` with `{"crp_seed": hex}`: draws the tenant's
//!   share and decision key, answers `{"contribution": hex, "decision_key": hex}`.
//! * `DELETE /v1/tenants/{tenant}`: destroys them.
//! * `POST /v1/decide` with a [`frame`]d decision request and partial
//!   comparison: answers the signed decision (JSON).
#![forbid(unsafe_code)]

pub mod client;
pub mod frame;
pub mod service;
pub mod verifier;
