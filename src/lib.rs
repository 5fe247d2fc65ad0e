//! Coalition: a clearing service for a partner network of loyalty programs.
//!
//! Layers, each depending only on those below it: `api` (HTTP) → `clearing` (use cases) →
//! `ledger` (double-entry core) and `store` (persistence) ; `partners` loads the manifests.
//! `tools` (the CLI, benchmark and demo) sits beside the layers and may use any of them.
//! `docs/architecture.md` has the map.

pub mod api;
pub mod clearing;
pub mod crypto;
pub mod httpsig;
pub mod ledger;
pub mod partners;
pub mod store;
pub mod tools;
