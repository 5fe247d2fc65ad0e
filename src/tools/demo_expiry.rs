//! The demo's expiry and liability: two years pass on the service's clock, Dana's oldest STYLE
//! expire (the sweep posts a `points_expiry`), her wallet says what expires next, Threads undoes
//! part of it as a goodwill gesture, and finance reads the liability report.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::demo_client::Partner;
use crate::clearing::Clearing;

/// Two years and a day, in seconds: past the 24 months STYLE points live.
const TWO_YEARS_SECS: u32 = (2 * 365 + 2) * 86_400;

#[expect(
    clippy::too_many_lines,
    reason = "the demo is a narrated script, read top to bottom"
)]
pub(super) fn expiry(
    threads: &Partner<'_>,
    agent: &ureq::Agent,
    url: &dyn Fn(&str) -> String,
    clearing: &Clearing,
    dana: &str,
) -> Result<()> {
    println!(
        "\n17. Expiry (docs/accounting.md, \"Expiry and breakage\"): STYLE points live 24 months from each earn."
    );
    threads.expect(
        "/v1/earn",
        json!({ "member_id": dana, "points": "100", "reference": "threads-pos-1" }),
        201,
    )?;
    threads.expect(
        "/v1/redemptions",
        json!({ "member_id": dana, "unit": "STYLE", "points": "30", "reference": "threads-pos-2" }),
        201,
    )?;
    println!(
        "    Threads awards Dana 100 STYLE; she spends 30 at Threads — taken from her oldest lot first."
    );
    clearing.clock().advance_secs(TWO_YEARS_SECS);
    println!(
        "    The service's clock moves two years on; its sweep (every minute) finds the lot due."
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(clearing.expire_points())?;
    let list = threads.send(
        "GET",
        &format!("/v1/entries?kind=points_expiry&member_id={dana}"),
        None,
        None,
    )?;
    let expiry = list.body["items"][0].clone();
    if expiry.is_null() {
        bail!("nothing expired: {}", list.body);
    }
    println!(
        "    points_expiry {}: {} STYLE back to Threads (breakage, no settlement effect)",
        expiry["entry_id"].as_str().unwrap_or(""),
        expiry["points"].as_str().unwrap_or("")
    );
    let undo = threads.expect(
        "/v1/reversals",
        json!({ "entry_id": expiry["entry_id"], "points": "20", "reference": "goodwill-1", "reason": "member was abroad" }),
        201,
    )?;
    println!(
        "    Dana writes in; Threads gives 20 back (a reversal within 90 days, entry {}): they return to their lot, whose clock starts again.",
        undo["entry_id"].as_str().unwrap_or("")
    );
    let token = threads.expect(
        &format!("/v1/members/{dana}/tokens"),
        json!({ "ttl_seconds": 300 }),
        201,
    )?;
    let token = token["token"].as_str().context("member token")?;
    let wallet: Value = agent
        .get(&url("/v1/me/wallet"))
        .header("Authorization", &format!("Bearer {token}"))
        .call()?
        .body_mut()
        .read_json()?;
    for b in wallet["balances"].as_array().into_iter().flatten() {
        for e in b["expiring"].as_array().into_iter().flatten() {
            println!(
                "    Her wallet: {} {} expire at {}",
                e["points"].as_str().unwrap_or(""),
                b["unit"].as_str().unwrap_or(""),
                e["at"].as_str().unwrap_or("")
            );
        }
    }
    let finance = clearing.context().tokens.mint_finance(
        crate::clearing::tokens::Role::Finance,
        None,
        600,
        clearing.clock().now_secs(),
    )?;
    let report: Value = agent
        .get(&url("/v1/ledger/liability"))
        .header("Authorization", &format!("Bearer {finance}"))
        .call()?
        .body_mut()
        .read_json()?;
    println!("    GET /v1/ledger/liability — outstanding, and the trailing year's flows:");
    for l in report["issuers"].as_array().into_iter().flatten() {
        let f = |k: &str| l[k].as_str().unwrap_or("-").to_owned();
        println!(
            "      {:<8} {:<6} outstanding {:>5} ({:>6} {}), earned {:>4}, redeemed {:>4}, expired {:>4}, breakage {}",
            f("issuer"),
            f("unit"),
            f("outstanding"),
            f("value"),
            f("currency"),
            f("earned"),
            f("redeemed"),
            f("expired"),
            f("breakage_rate")
        );
    }
    Ok(())
}
