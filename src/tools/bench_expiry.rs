//! `coalition bench --expiring-lots N`: the expiry sweep over N lots that are all due — the time
//! it takes, and how long a write waits meanwhile (a probe writes all along, so a sweep that held
//! the writer would show in the probe's worst wait).
//!
//! The lots are made by real earns (10 lots per member, STYLE, a `fixed` 24-month policy in the
//! demo manifests) posted in-process through the writer; the clock then moves 25 months on and
//! one sweep (or as many as it takes, each bounded) expires them all.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::{Result, bail};
use serde_json::json;

use super::bench::{FreshDb, Options, in_temp_dir, say};
use super::bench_segments::{probe, summary};
use crate::clearing::{Clearing, ClearingError, Settings, rules};
use crate::ledger::{Amount, EntryKind, EntryMeta, MemberId, PartnerId, UnitCode};

/// Lots per member: one earn each.
const LOTS_PER_MEMBER: u64 = 10;
/// Earns posted per write while seeding.
const SEED_PAGE_EARNS: u64 = 5_000;
/// Twenty-five months of 31 days, in seconds: past STYLE's 24.
const PAST_EXPIRY_SECS: u32 = 25 * 31 * 86_400;

pub fn run(o: &Options, lots: u64) -> Result<()> {
    in_temp_dir("coalition-expiry", |dir| sweep(o, lots, dir))
}

/// Posts `lots` earns of 10 STYLE, `LOTS_PER_MEMBER` to a member.
fn seed(clearing: &Clearing, lots: u64) -> Result<()> {
    let unit: UnitCode = "STYLE".parse()?;
    let partner: PartnerId = "threads".parse()?;
    let Some(scale) = clearing.context().units.scale_of(&unit) else {
        bail!("the manifests have no STYLE unit (run with the demo partners)");
    };
    let members: Vec<MemberId> = (0..lots.div_ceil(LOTS_PER_MEMBER))
        .map(|_| MemberId::random())
        .collect();
    let members = Arc::new(members);
    let mut start = 0;
    while start < lots {
        let end = (start + SEED_PAGE_EARNS).min(lots);
        let ctx = clearing.context().clone();
        let (unit, partner, members) = (unit.clone(), partner.clone(), members.clone());
        clearing
            .store()
            .write_blocking(move |tx| -> Result<(), ClearingError> {
                for i in start..end {
                    let member = members[usize::try_from(i / LOTS_PER_MEMBER).unwrap_or(0)];
                    let mut meta = EntryMeta::new(EntryKind::Earn);
                    meta.partner = Some(partner.clone());
                    meta.member = Some(member);
                    let points = Amount::from_minor(10, scale);
                    let draft = rules::earn(&ctx.network, &partner, member, &unit, points, meta)?;
                    tx.post(draft.balance(&ctx.units)?)?;
                }
                Ok(())
            })?;
        start = end;
    }
    Ok(())
}

fn sweep(o: &Options, lots: u64, dir: &std::path::Path) -> Result<()> {
    let db = FreshDb::new(o.database.as_deref(), dir)?;
    let settings = Settings::new(db.url.parse()?, o.partners.clone())
        .with_network_key(Some(dir.join("network.pem")));
    let clearing = Clearing::start(&settings)?;
    say(
        o,
        &format!("expiry bench: seeding {lots} lots on {}", settings.database),
    );
    let seeded = Instant::now();
    seed(&clearing, lots)?;
    let seed_secs = seeded.elapsed().as_secs_f64();
    clearing.clock().advance_secs(PAST_EXPIRY_SECS);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    say(o, "expiry bench: sweeping, with a write probe running");
    let running = Arc::new(AtomicBool::new(true));
    let probe = runtime.spawn(probe(clearing.clone(), running.clone()));
    let started = Instant::now();
    let (mut entries, mut expired, mut sweeps) = (0, 0, 0);
    loop {
        let done = runtime.block_on(clearing.expire_points())?;
        sweeps += 1;
        entries += done.entries;
        expired += done.lots;
        if done.entries == 0 {
            break;
        }
    }
    let sweep_secs = started.elapsed().as_secs_f64();
    running.store(false, std::sync::atomic::Ordering::Relaxed);
    let waits = runtime.block_on(probe)??;
    let (probes, p99_ms, max_ms) = summary(waits);
    let report = json!({
        "lots": lots,
        "database": if settings.database.is_sqlite() { "sqlite" } else { "postgres" },
        "seed_secs": seed_secs,
        "sweep_secs": sweep_secs,
        "sweeps": sweeps,
        "lots_per_sec": (expired as f64 / sweep_secs).round(),
        "entries": entries,
        "lots_expired": expired,
        "probe_writes": probes,
        "probe_wait_p99_ms": p99_ms,
        "probe_wait_max_ms": max_ms,
    });
    if o.json {
        println!("{report}");
    } else {
        println!(
            "expiry of {expired} lots: {sweep_secs:.1} s in {sweeps} sweeps ({} lots/s, {entries} entries); a write meanwhile waited {p99_ms:.1} ms at p99, {max_ms:.1} ms at worst ({probes} probe writes)",
            report["lots_per_sec"],
        );
    }
    Ok(())
}
