//! `coalition bench --settle-entries N`: the time to close a settlement cycle of N entries.
//!
//! The entries are written in-process through the normal writer (earns at every brand and
//! cross-brand redemptions, each with its settlement lines), then one cycle is closed with a
//! cut-off after the last of them, timed, and the whole ledger is verified.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::clearing::{Clearing, Settings};
use crate::ledger::{Amount, EntryKind, EntryMeta, MemberId, PartnerId, UnitCode};
use anyhow::{Result, bail};
use serde_json::json;

use super::bench::{FreshDb, Options, in_temp_dir, peak_rss_mb, say};

/// Entries in flight at once while filling the ledger (the writer batches them).
const FILL_IN_FLIGHT: usize = 4096;
/// Members the entries are spread over.
const MEMBERS: usize = 5000;

pub fn run(o: &Options, entries: u64) -> Result<()> {
    in_temp_dir("coalition-settle", |dir| settle(o, entries, dir))
}

#[expect(
    clippy::too_many_lines,
    reason = "the settlement benchmark as one script: fill, settle, verify, report"
)]
fn settle(o: &Options, entries: u64, dir: &std::path::Path) -> Result<()> {
    let db = FreshDb::new(o.database.as_deref(), dir)?;
    let settings = Settings::new(db.url.parse()?, o.partners.clone())
        .with_network_key(Some(dir.join("network.pem")));
    let clearing = Clearing::start(&settings)?;
    say(
        o,
        &format!(
            "settle bench: writing {entries} entries on {}",
            settings.database
        ),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let members: Arc<Vec<MemberId>> = Arc::new((0..MEMBERS).map(|_| MemberId::random()).collect());
    let brands: Vec<(PartnerId, UnitCode)> = clearing
        .network()
        .partners
        .iter()
        .filter_map(|(id, p)| Some((id.clone(), p.unit.clone()?)))
        .collect();
    if brands.len() < 2 {
        bail!("the settlement bench needs at least two brands with units");
    }
    let written = Arc::new(AtomicU64::new(0));
    let fill_started = Instant::now();
    // Every member starts with points of every brand, so that no spend below can be refused.
    runtime.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for member in members.iter().copied() {
            for (brand, unit) in &brands {
                let (c, brand, unit) = (clearing.clone(), brand.clone(), unit.clone());
                set.spawn(async move {
                    let scale = c
                        .units()
                        .scale_of(&unit)
                        .ok_or_else(|| anyhow::anyhow!("no scale"))?;
                    let meta = EntryMeta::new(EntryKind::Earn);
                    c.post_earn(
                        &brand,
                        member,
                        None,
                        Amount::from_minor(1_000_000_000, scale),
                        meta,
                    )
                    .await?;
                    anyhow::Ok(())
                });
            }
        }
        while let Some(done) = set.join_next().await {
            done??;
        }
        anyhow::Ok(())
    })?;
    runtime.block_on(async {
        let mut next = 0u64;
        let mut shown = 0u64;
        let mut in_flight = tokio::task::JoinSet::new();
        while next < entries || !in_flight.is_empty() {
            while next < entries && in_flight.len() < FILL_IN_FLIGHT {
                let n = next;
                next += 1;
                let (c, members, brands, written) = (
                    clearing.clone(),
                    members.clone(),
                    brands.clone(),
                    written.clone(),
                );
                in_flight.spawn(async move {
                    let member = members[(n as usize * 7919) % members.len()];
                    let (home, unit) = &brands[(n as usize / 2) % brands.len()];
                    let (away, _) = &brands[(n as usize / 2 + 1) % brands.len()];
                    let scale = c
                        .units()
                        .scale_of(unit)
                        .ok_or_else(|| anyhow::anyhow!("unit {unit} has no scale"))?;
                    let meta = EntryMeta::new(EntryKind::Earn);
                    // Pairs: points earned at one brand, then some of them spent at the next.
                    let posted = if n.is_multiple_of(2) {
                        c.post_earn(home, member, None, Amount::from_minor(1_000, scale), meta)
                            .await
                    } else {
                        c.post_redemption(
                            away,
                            member,
                            unit.clone(),
                            Amount::from_minor(300, scale),
                            meta,
                        )
                        .await
                    };
                    if posted.is_ok() {
                        written.fetch_add(1, Ordering::Relaxed);
                    }
                    posted?;
                    anyhow::Ok(())
                });
            }
            if let Some(done) = in_flight.join_next().await {
                done??;
                let w = written.load(Ordering::Relaxed);
                if !o.json && w >= shown + 50_000 {
                    shown = w;
                    eprint!(
                        "\r  {w:>9} / {entries} entries written ({:.0}/s)",
                        w as f64 / fill_started.elapsed().as_secs_f64()
                    );
                }
            }
        }
        anyhow::Ok(())
    })?;
    say(o, "");
    let fill_s = fill_started.elapsed().as_secs_f64();

    // The measured part: one cycle over everything written.
    let cutoff = crate::clearing::time::rfc3339(clearing.clock().now_us());
    std::thread::sleep(std::time::Duration::from_millis(5));
    let work = Clearing::settle_work(&cutoff)?;
    let ctx = clearing.context().clone();
    let started = Instant::now();
    let settled = clearing.store().write_blocking(move |tx| work(&ctx, tx))?;
    let settle_s = started.elapsed().as_secs_f64();
    let rss = peak_rss_mb(std::process::id());

    say(o, "settle bench: verifying the ledger");
    let verify_started = Instant::now();
    let checks = runtime.block_on(clearing.verify())?;
    let verify_s = verify_started.elapsed().as_secs_f64();
    clearing.shutdown();
    let verified = checks.iter().all(|c| c.ok);
    let row = &settled.settlement.row;
    let covered = row.last_seq - row.first_seq;
    if o.json {
        println!(
            "{}",
            json!({ "entries": covered, "settle_s": (settle_s * 1000.0).round() / 1000.0,
                "parties": settled.settlement.positions.len(), "obligations": settled.settlement.obligations.len(),
                "fill_per_s": (written.load(Ordering::Relaxed) as f64 / fill_s).round(),
                "verify_s": (verify_s * 10.0).round() / 10.0, "peak_rss_mb": rss, "verified": verified,
                "backend": if settings.database.is_sqlite() { "sqlite" } else { "postgres" } })
        );
    } else {
        println!(
            "entries        {covered} in the cycle (written at {:.0}/s)",
            written.load(Ordering::Relaxed) as f64 / fill_s
        );
        println!(
            "settlement     {settle_s:.2} s for {} parties, {} obligations",
            settled.settlement.positions.len(),
            settled.settlement.obligations.len()
        );
        println!(
            "verify         {verify_s:.1} s, {}",
            if verified { "passed" } else { "FAILED" }
        );
        if let Some(mb) = rss {
            println!(
                "memory         {mb:.0} MB peak resident (this process: writer and settlement)"
            );
        }
    }
    if !verified || covered < i64::try_from(entries)? {
        bail!("the settlement bench's check failed: {covered} entries settled, verify {verified}");
    }
    Ok(())
}
