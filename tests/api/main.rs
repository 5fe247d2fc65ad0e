//! Integration tests: the real service on a real database (SQLite by default, PostgreSQL when
//! `COALITION_TEST_DATABASE_URL` is set), driven over HTTP where a route exists.

// Test support code fails loudly by design: a broken fixture is a failed test.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]
// A test is a script read top to bottom; the 70-line limit is for the service's code.
#![allow(clippy::too_many_lines)]

mod bad_input;
mod browser_console;
mod browser_wallet;
mod cards_http;
mod cli;
mod common;
mod console_files_http;
mod console_http;
mod coupons_http;
mod crash;
mod earn_rules_http;
mod error_codes;
mod expiry_http;
mod http_public;
mod insights_http;
mod interactions_http;
mod ledger_store;
mod limits;
mod links_http;
mod manifests;
mod members_http;
mod openapi_walk;
mod outage;
mod partner_http;
mod privacy_http;
mod profile_http;
mod rewards_http;
mod rfc9421;
mod screenshots;
mod segments_http;
mod settlement_http;
mod streaming;
mod wallet_http;
mod webhooks_http;
