//! faceseal-sync: the server side of faceseal. Tenants and their keys,
//! consent records, single-use challenges, sealed enrolment and
//! verification, hard deletion with crypto-shredding, a tamper-evident audit
//! trail per tenant, and load shedding. See `README.md` in this crate.

#![forbid(unsafe_code)]

pub mod api;
pub mod at_rest;
pub mod audit;
pub mod client;
pub mod db;
pub mod error;
pub mod ident;
pub mod keystore;
pub mod limits;
pub mod observe;
pub mod random;
pub mod sealed;
pub mod server;
pub mod service;
pub mod setup;
pub mod throttle;
