//! `coalition demo --stay ADDR`: after the tour the service keeps running, and a person opens
//! the pages — the finance console with a one-time sign-in link, Dana's wallet with a link her
//! brand's app would give her — until Ctrl-C.

use anyhow::{Context as _, Result};
use serde_json::json;

use super::demo_client::Partner;
use crate::api::RunningServer;
use crate::clearing::Clearing;
use crate::clearing::tokens::Role;
use crate::partners::GeneratedKey;

/// How long the printed links' tokens live (a wallet token at most an hour).
const LINK_TTL_SECS: u64 = 60 * 60;

/// Prints the links and serves until Ctrl-C.
pub fn stay(
    clearing: &Clearing,
    server: &RunningServer,
    keys: &[GeneratedKey],
    dana: &str,
) -> Result<()> {
    let now = clearing.clock().now_secs();
    let finance =
        clearing
            .context()
            .tokens
            .mint_finance(Role::Finance, None, LINK_TTL_SECS, now)?;
    let aroma = Partner {
        base: server.url(""),
        key: keys
            .iter()
            .find(|k| k.partner.as_str() == "aroma")
            .context("the demo's Aroma key")?,
        agent: ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into(),
        clock: clearing.clock().clone(),
    };
    // What Aroma's app asks for when it opens Dana's wallet, links and consent included.
    let scopes = [
        "wallet",
        "entries",
        "authorizations",
        "donations",
        "links",
        "consent",
        "profile",
    ];
    let token = aroma.expect(
        &format!("/v1/members/{dana}/tokens"),
        json!({ "scope": scopes, "ttl_seconds": LINK_TTL_SECS }),
        201,
    )?;
    let token = token["token"].as_str().context("member token")?;
    println!(
        "\nThe service keeps running on {} (Ctrl-C stops it).",
        server.url("")
    );
    println!("Each link works once, within an hour:");
    println!(
        "  Finance console: {}",
        server.url(&format!("/console/login?token={finance}"))
    );
    println!(
        "  Dana's wallet, as Aroma's app opens it: {}",
        server.url(&format!("/wallet?token={token}"))
    );
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(tokio::signal::ctrl_c())?;
    Ok(())
}
