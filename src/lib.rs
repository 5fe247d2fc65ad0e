//! Coalition: a clearing service for a partner network of loyalty programs.
//!
//! Layers, each depending only on those below it: `api` (HTTP) → `clearing` (use cases) →
//! `store` (persistence) → `ledger` (the double-entry core); `partners`, `crypto` and `httpsig`
//! are leaves.
//! `tools` (the CLI, benchmark and demo) sits beside the layers and may use any of them.
//! `docs/architecture.md` has the map.

// Unit tests are scripts read top to bottom; the 70-line limit is for the service's code.
#![cfg_attr(test, allow(clippy::too_many_lines))]

pub mod api;
pub mod clearing;
pub mod crypto;
pub mod httpsig;
pub mod ledger;
pub mod partners;
pub mod store;
pub mod tools;
