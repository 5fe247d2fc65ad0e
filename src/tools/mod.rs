//! The command line and the tooling around the service: the `coalition` commands, the
//! benchmark and its HTTP client, the demo tour, and seeded fuzz smoke runs. Tools sit beside
//! the layers, not among them: they may use any layer, and no layer uses them. `anyhow` is used
//! here only.

mod bench;
mod bench_basket;
mod bench_client;
mod bench_expiry;
mod bench_segments;
mod bench_settle;
pub mod cli;
pub mod commands;
mod demo;
mod demo_client;
mod demo_expiry;
mod demo_offers;
mod demo_pages;
mod demo_programme;
mod demo_webhooks;
#[cfg(test)]
mod fuzz_smoke;
