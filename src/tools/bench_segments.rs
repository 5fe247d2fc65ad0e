//! `coalition bench --segment-members N`: the segment worker's daily pass over N members — the
//! time it takes, and how long a write waits meanwhile (a probe writes all along, so a pass that
//! held the writer would show in the probe's worst wait).
//!
//! The members are written in-process, each enrolled at Aroma (sharing their profile) with a
//! visit there in the last 60 days and a third of them at the bookstore too; two network-wide
//! segments (`visits_30d ge 1`; `visited:books eq false`) are then evaluated over all of them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::json;

use super::bench::{FreshDb, Options, in_temp_dir, say};
use crate::clearing::segments::{ConditionInput, SegmentInput};
use crate::clearing::time::DAY_US;
use crate::clearing::{Clearing, Settings};
use crate::ledger::MemberId;
use crate::store::members::{self, Sharing};
use crate::store::profiles::{self, Activity};
use crate::store::{StoreError, segments};

/// Members written per write while seeding.
const SEED_PAGE_MEMBERS: u64 = 5_000;

pub fn run(o: &Options, members: u64) -> Result<()> {
    in_temp_dir("coalition-segments", |dir| pass(o, members, dir))
}

/// Seeds `n` members with their profiles.
fn seed(clearing: &Clearing, n: u64) -> Result<()> {
    let now = clearing.clock().now_us();
    let mut start = 0;
    while start < n {
        let end = (start + SEED_PAGE_MEMBERS).min(n);
        clearing
            .store()
            .write_blocking(move |tx| -> Result<(), StoreError> {
                let mut acts = Vec::new();
                for i in start..end {
                    let id = MemberId::random().to_string();
                    let sharing = Sharing {
                        balances: false,
                        profile: true,
                    };
                    members::enrol(tx, "aroma", &format!("bench-{i}"), &id, sharing)?;
                    let days_ago = i64::try_from(i % 60).unwrap_or(0);
                    let visit = |partner: &str| Activity {
                        member_id: id.clone(),
                        partner: partner.into(),
                        at_us: now - days_ago * DAY_US,
                        visits: 1,
                        spend_minor: 2_500,
                        earned_minor: 100,
                        redeemed_minor: 0,
                    };
                    acts.push(visit("aroma"));
                    if i % 3 == 0 {
                        acts.push(visit("books"));
                    }
                }
                profiles::add_tx(tx, &acts)
            })?;
        start = end;
    }
    Ok(())
}

fn segment(name: &str, metric: &str, op: &str, value: serde_json::Value) -> SegmentInput {
    SegmentInput {
        name: name.into(),
        all: vec![ConditionInput {
            metric: metric.into(),
            op: op.into(),
            value,
        }],
    }
}

/// The two network-wide segments the pass evaluates.
async fn make_segments(clearing: &Clearing) -> Result<()> {
    for s in [
        segment("Active", "visits_30d", "ge", json!(1)),
        segment(
            "Never at the bookstore",
            "visited:books",
            "eq",
            json!(false),
        ),
    ] {
        clearing.create_network_segment(s).await?;
    }
    Ok(())
}

/// Writes nothing, over and over, until told to stop: how long each write waited.
pub(super) async fn probe(c: Arc<Clearing>, running: Arc<AtomicBool>) -> Result<Vec<Duration>> {
    let mut waits = Vec::new();
    while running.load(Ordering::Relaxed) {
        let t = Instant::now();
        c.store()
            .write(|_| Ok::<_, StoreError>(()))
            .await
            .map_err(|e| anyhow::anyhow!("probe write: {e}"))?;
        waits.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(waits)
}

/// The probe's writes: how many, the p99 and the worst wait in milliseconds.
pub(super) fn summary(mut waits: Vec<Duration>) -> (usize, f64, f64) {
    waits.sort();
    let ms = |d: Option<&Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    let p99 = waits.get(waits.len().saturating_mul(99) / 100);
    (waits.len(), ms(p99), ms(waits.last()))
}

fn pass(o: &Options, n: u64, dir: &std::path::Path) -> Result<()> {
    let db = FreshDb::new(o.database.as_deref(), dir)?;
    let settings = Settings::new(db.url.parse()?, o.partners.clone())
        .with_network_key(Some(dir.join("network.pem")));
    let clearing = Clearing::start(&settings)?;
    say(
        o,
        &format!(
            "segment bench: seeding {n} members on {}",
            settings.database
        ),
    );
    let seeded = Instant::now();
    seed(&clearing, n)?;
    let seed_secs = seeded.elapsed().as_secs_f64();
    // One thread drives both the pass and the probe; their database work runs on blocking
    // threads and the writer's own.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(make_segments(&clearing))?;
    say(o, "segment bench: a full pass, with a write probe running");
    let running = Arc::new(AtomicBool::new(true));
    let probe = runtime.spawn(probe(clearing.clone(), running.clone()));
    let started = Instant::now();
    let done = runtime.block_on(clearing.refresh_insights())?;
    let pass_secs = started.elapsed().as_secs_f64();
    running.store(false, Ordering::Relaxed);
    let (probes, p99_ms, max_ms) = summary(runtime.block_on(probe)??);
    let sizes: Vec<i64> = clearing
        .store()
        .read_blocking(segments::all)?
        .iter()
        .map(|s| s.size)
        .collect();
    let report = json!({
        "members": n,
        "database": if settings.database.is_sqlite() { "sqlite" } else { "postgres" },
        "seed_secs": seed_secs,
        "pass_secs": pass_secs,
        "members_per_sec": (n as f64 / pass_secs).round(),
        "entered": done.entered,
        "segment_sizes": sizes,
        "probe_writes": probes,
        "probe_wait_p99_ms": p99_ms,
        "probe_wait_max_ms": max_ms,
    });
    if o.json {
        println!("{report}");
    } else {
        println!(
            "segment pass over {n} members: {pass_secs:.1} s ({} members/s), {} entries into 2 segments (sizes {sizes:?}); a write meanwhile waited {p99_ms:.1} ms at p99, {max_ms:.1} ms at worst ({probes} probe writes)",
            report["members_per_sec"], done.entered,
        );
    }
    Ok(())
}
