//! The segment worker: re-evaluates the members whose aggregates changed (the writer hands them
//! over after each commit) and, once a day or when a segment is new, every member — a page at a
//! time, each page one read and one short write, so the writer never waits on a whole pass.
//! Then it issues targeted campaigns' coupons to members in the order they entered.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use super::definition::{self, BrandFacts, Condition, MemberFacts, Viewer};
use super::{Clearing, ClearingError, Context};
use crate::clearing::campaigns::Campaign;
use crate::clearing::coupons::issue;
use crate::clearing::insights::Tally;
use crate::ledger::MemberId;
use crate::store::WriteTx;
use crate::store::coupons;
use crate::store::profiles::day_of;
use crate::store::segments::{self, EVALUATION_PAGE_MEMBERS, FactsRead, SegmentRow};

/// The most coupons one write of a targeted campaign issues.
const ISSUE_PAGE_MEMBERS: i64 = 200;

/// What the worker keeps between runs.
#[derive(Debug, Default)]
pub struct EvaluationState {
    /// One run at a time (the background loop and a caller that wants it now).
    running: tokio::sync::Mutex<()>,
    /// A new segment: every member must be looked at.
    full_due: AtomicBool,
    /// The UTC day of the last full pass (+1: 0 means none yet).
    full_day: AtomicI64,
}

/// What one run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Evaluated {
    pub members: usize,
    pub entered: usize,
    pub left: usize,
    pub full_pass: bool,
    pub coupons_issued: usize,
}

/// A segment's checked conditions and whose it is.
struct Live {
    id: String,
    owner: Option<String>,
    all: Vec<Condition>,
}

fn live(network: &crate::partners::Network, rows: Vec<SegmentRow>) -> Vec<Live> {
    rows.into_iter()
        .filter_map(|r| {
            let input: Vec<definition::ConditionInput> =
                serde_json::from_str(&r.definition).ok()?;
            match definition::parse(network, &input) {
                Ok(all) => Some(Live {
                    id: r.id,
                    owner: r.owner,
                    all,
                }),
                Err(e) => {
                    // The manifests changed under it (a tier or partner gone): it matches nobody.
                    tracing::warn!(segment = %r.id, error = %e, "segment no longer valid");
                    Some(Live {
                        id: r.id,
                        owner: r.owner,
                        all: Vec::new(),
                    })
                }
            }
        })
        .collect()
}

/// Each member's facts from what a page read, at `now_us`.
fn facts_of(
    network: &crate::partners::Network,
    read: FactsRead,
    today: i32,
) -> HashMap<String, MemberFacts> {
    let mut out: HashMap<String, MemberFacts> = HashMap::new();
    for (member, partner, visits, last_seen_us) in read.profiles {
        let b = out
            .entry(member)
            .or_default()
            .brands
            .entry(partner)
            .or_default();
        b.last_visit_us = (visits > 0).then_some(last_seen_us);
    }
    for (member, partner, day, visits, spend) in read.days {
        let b: &mut BrandFacts = out
            .entry(member)
            .or_default()
            .brands
            .entry(partner)
            .or_default();
        let age = today - day;
        b.spend_365d_minor += spend;
        if age < 90 {
            b.visits_90d += visits;
        }
        if age < 30 {
            b.visits_30d += visits;
        }
    }
    for (member, partner, kind, count) in read.interactions {
        *out.entry(member)
            .or_default()
            .interactions_30d
            .entry((partner, kind))
            .or_default() += count;
    }
    let ladder = network.tiers.as_ref();
    for (member, tier) in read.tiers {
        let rank = ladder
            .and_then(|l| l.levels.iter().position(|x| x.name == tier))
            .and_then(|r| i64::try_from(r).ok())
            .unwrap_or(0);
        out.entry(member).or_default().tier_rank = rank;
    }
    for (member, partner, share_profile, linked_at_us) in read.links {
        let f = out.entry(member).or_default();
        f.links.insert(partner.clone(), share_profile != 0);
        f.linked_at_us.insert(partner, linked_at_us);
    }
    for (member, joined_at_us) in read.joined {
        out.entry(member).or_default().joined_at_us = Some(joined_at_us);
    }
    out
}

impl EvaluationState {
    /// A segment was made: the next run looks at every member.
    pub fn full_pass_due(&self) {
        self.full_due.store(true, Ordering::Relaxed);
    }
}

impl Clearing {
    /// Says a segment was made: the writer starts handing over touched members and the next run
    /// evaluates every member.
    pub fn segments_changed(&self) {
        self.store.touched().enable(true);
        self.segments.full_pass_due();
    }

    /// One run of the worker: the members touched since the last run (all of them once a day
    /// and after a segment was made), each page evaluated against every segment and its
    /// changes written; then targeted campaigns issue to the members who entered.
    pub async fn evaluate_segments(&self) -> Result<Evaluated, ClearingError> {
        let _one = self.segments.running.lock().await;
        let rows = self.store.read(segments::all).await?;
        let has_segments = !rows.is_empty();
        if has_segments {
            self.store.touched().enable(true);
        }
        let segs = live(&self.ctx.network, rows);
        let now_us = self.ctx.clock.now_us();
        let today = day_of(now_us);
        let (touched, overflowed) = self.store.touched().take();
        // Insights are counted by the daily pass, segments or not.
        let full = overflowed
            || self.segments.full_due.swap(false, Ordering::Relaxed)
            || self.segments.full_day.load(Ordering::Relaxed) != i64::from(today) + 1;
        let mut done = Evaluated {
            full_pass: full,
            ..Evaluated::default()
        };
        if full {
            let mut tally = Tally::default();
            let mut after = String::new();
            loop {
                let from = after.clone();
                let page = self
                    .store
                    .read(move |c| segments::members_after(c, &from, EVALUATION_PAGE_MEMBERS))
                    .await?;
                let Some(last) = page.last() else { break };
                after = last.clone();
                self.evaluate_page(&segs, page, now_us, (&mut done, Some(&mut tally)))
                    .await?;
            }
            let ids: Vec<String> = segs.iter().map(|s| s.id.clone()).collect();
            let bodies = tally.bodies(&self.ctx.network);
            self.store
                .write(move |tx| {
                    segments::evaluated_tx(tx, &ids)?;
                    crate::store::insights::replace_tx(tx, &bodies)
                })
                .await?;
            self.segments
                .full_day
                .store(i64::from(today) + 1, Ordering::Relaxed);
        } else if has_segments {
            let chunk = usize::try_from(EVALUATION_PAGE_MEMBERS).unwrap_or(500);
            for page in touched.chunks(chunk) {
                self.evaluate_page(&segs, page.to_vec(), now_us, (&mut done, None))
                    .await?;
            }
        }
        if has_segments {
            done.coupons_issued = self.issue_targeted().await?;
        }
        Ok(done)
    }

    /// Counts every member again now (insights), and evaluates every segment.
    pub async fn refresh_insights(&self) -> Result<Evaluated, ClearingError> {
        self.segments.full_pass_due();
        self.evaluate_segments().await
    }

    async fn evaluate_page(
        &self,
        segs: &[Live],
        members: Vec<String>,
        now_us: i64,
        (done, mut tally): (&mut Evaluated, Option<&mut Tally>),
    ) -> Result<(), ClearingError> {
        let today = day_of(now_us);
        let ids = members.clone();
        let read = self
            .store
            .read(move |c| segments::facts(c, &ids, today - 364, today - 29))
            .await?;
        let held: BTreeSet<(String, String)> = read.memberships.iter().cloned().collect();
        let facts = facts_of(&self.ctx.network, read, today);
        let empty = MemberFacts::default();
        let (mut enters, mut leaves) = (Vec::new(), Vec::new());
        for m in &members {
            let f = facts.get(m).unwrap_or(&empty);
            if let Some(t) = tally.as_deref_mut() {
                t.add(f, now_us);
            }
            for s in segs {
                let viewer = s.owner.as_deref().map_or(Viewer::Network, Viewer::Partner);
                let inside = !s.all.is_empty() && definition::holds(&s.all, f, viewer, now_us);
                let key = (s.id.clone(), m.clone());
                match (inside, held.contains(&key)) {
                    (true, false) => enters.push(key),
                    (false, true) => leaves.push(key),
                    _ => {}
                }
            }
        }
        done.members += members.len();
        done.left += leaves.len();
        if enters.is_empty() && leaves.is_empty() {
            return Ok(());
        }
        done.entered += self
            .store
            .write(move |tx| segments::apply_tx(tx, &enters, &leaves))
            .await?;
        Ok(())
    }

    /// Issues each running automatic campaign's coupon to its segment's members in the order
    /// they entered, once per member, until the budget cannot reserve one more (the campaign
    /// then reports `budget_exhausted`). Returns the coupons issued.
    async fn issue_targeted(&self) -> Result<usize, ClearingError> {
        let audiences = self.store.read(segments::issuing).await?;
        let mut issued = 0;
        let now = self.ctx.clock.now_us();
        for a in audiences {
            // Only a running campaign issues: one before its start or past its end waits (or
            // stays) without a write.
            let id = a.campaign_id.clone();
            let campaign = self.store.read(move |c| coupons::campaign(c, &id)).await?;
            if !campaign.is_some_and(|c| c.valid_from_us <= now && now < c.valid_until_us) {
                continue;
            }
            let mut after = a.issued_through_seq;
            loop {
                let segment = a.segment_id.clone();
                let page = self
                    .store
                    .read(move |c| segments::members_page(c, &segment, after, ISSUE_PAGE_MEMBERS))
                    .await?;
                let Some(&(last_seq, _, _)) = page.last() else {
                    break;
                };
                let (ctx, campaign) = (self.ctx.clone(), a.campaign_id.clone());
                let (n, stop) = self
                    .store
                    .write(move |tx| issue_page(&ctx, tx, &campaign, &page))
                    .await?;
                issued += n;
                after = last_seq;
                if stop {
                    break;
                }
            }
        }
        Ok(issued)
    }
}

/// Issues a page of a targeted campaign's coupons (one per member who has none of it yet) and
/// records how far it got. Returns the coupons issued, and whether to stop: the campaign has not
/// started, has ended, or its budget ran out (recorded).
fn issue_page(
    ctx: &Context,
    tx: &mut WriteTx<'_>,
    campaign_id: &str,
    page: &[(i64, String, i64)],
) -> Result<(usize, bool), ClearingError> {
    let mut n = 0;
    let mut through = None;
    let mut exhausted = None;
    for (seq, member, _) in page {
        let Some(row) = coupons::campaign_tx(tx, campaign_id)? else {
            break;
        };
        let now = tx.now_us();
        if now < row.valid_from_us || now >= row.valid_until_us {
            break;
        }
        let Ok(m) = member.parse::<MemberId>() else {
            through = Some(*seq);
            continue;
        };
        if coupons::issued_to(tx, campaign_id, member)? == 0 {
            match issue(ctx, tx, &Campaign::from_row(row)?, Some(m)) {
                Ok(_) => n += 1,
                Err(ClearingError::BudgetExhausted(_)) => {
                    exhausted = Some(now);
                    break;
                }
                Err(ClearingError::PerMemberLimit { .. } | ClearingError::NotFound(_)) => {}
                Err(ClearingError::CampaignEnded(_)) => break,
                Err(e) => return Err(e),
            }
        }
        through = Some(*seq);
    }
    let stop = exhausted.is_some() || through != page.last().map(|p| p.0);
    if let Some(through) = through {
        segments::issued_tx(tx, campaign_id, through, exhausted)?;
    } else if let Some(at) = exhausted {
        let before = page.first().map_or(0, |p| p.0 - 1);
        segments::issued_tx(tx, campaign_id, before, Some(at))?;
    }
    Ok((n, stop))
}
