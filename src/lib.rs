//! Coalition: a clearing service for a partner network of loyalty programs.
//!
//! Layers, each depending only on those below it: `api` (HTTP) → `clearing` (use cases) →
//! `ledger` (double-entry core) and `store` (persistence) ; `partners` loads the manifests.
//! `docs/architecture.md` has the map.

pub mod api;
pub mod clearing;
pub mod crypto;
#[cfg(test)]
mod fuzz_smoke;
pub mod httpsig;
pub mod ledger;
pub mod partners;
pub mod store;
