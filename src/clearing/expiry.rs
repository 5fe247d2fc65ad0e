//! Points expiry: the sweep that posts `points_expiry` entries under each unit's policy, the
//! issuer's undoing of one within [`EXPIRY_REVERSAL_DAYS`], and what a member's wallet says
//! will expire when. The lots themselves are kept by the writer (`store::lots`).

use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};

use super::context::Context;
use super::receipt::Posted;
use super::write::Caller;
use super::{Clearing, ClearingError, Irreversible, Missing, rules};
use crate::ledger::{
    Account, Amount, CommittedEntry, EntryId, EntryKind, EntryMeta, MemberId, Party, Posting,
    UnitCode,
};
use crate::partners::programme::{ExpiryKind, ExpiryPolicy};
use crate::store::lots::{
    self, ActivityCursor, DueAccount, Lot, MAX_EXPIRING_SHOWN, MAX_LOTS_PER_EXPIRY,
};
use crate::store::status::EntryStatus;
use crate::store::{LotPlan, WriteTx};

/// How long after an expiry its issuer may undo it, in days.
pub const EXPIRY_REVERSAL_DAYS: i64 = 90;
/// Member accounts one write of the sweep expires (one entry each).
pub const EXPIRY_ACCOUNTS_PER_WRITE: usize = 100;
/// Writes one `fixed` sweep makes at most; the rest waits for the next.
pub const MAX_EXPIRY_WRITES_PER_SWEEP: usize = 1000;
/// Members one page of an `inactivity` sweep reads.
pub const INACTIVE_MEMBERS_PER_PAGE: i64 = 500;
/// Pages one `inactivity` sweep reads at most; the next goes on from there.
pub const MAX_INACTIVITY_PAGES_PER_SWEEP: usize = 200;

/// Where each unit's sweep is (a position in some order of lots or members), between sweeps;
/// in memory: after a restart a sweep starts again from the beginning.
#[derive(Debug)]
pub struct UnitCursors<C> {
    cursors: std::sync::Mutex<std::collections::HashMap<UnitCode, C>>,
}

impl<C> Default for UnitCursors<C> {
    fn default() -> Self {
        Self {
            cursors: std::sync::Mutex::default(),
        }
    }
}

impl<C: Clone> UnitCursors<C> {
    pub(super) fn cursor(&self, unit: &UnitCode) -> Option<C> {
        self.cursors.lock().ok()?.get(unit).cloned()
    }

    /// Keeps where `unit`'s sweep stopped (`None`: it went to the end).
    pub(super) fn keep(&self, unit: &UnitCode, cursor: Option<C>) {
        if let Ok(mut all) = self.cursors.lock() {
            match cursor {
                Some(c) => all.insert(unit.clone(), c),
                None => all.remove(unit),
            };
        }
    }
}

/// Where each `inactivity` unit's sweep is in the members (by last activity), between sweeps.
pub type SweepState = UnitCursors<ActivityCursor>;

const DAY_US: i64 = 86_400_000_000;

/// `at_us` moved by `months` calendar months (UTC); `None` past the calendar's range.
pub fn add_months(at_us: i64, months: i64) -> Option<i64> {
    let at = Timestamp::from_microsecond(at_us).ok()?;
    let moved = at
        .to_zoned(TimeZone::UTC)
        .checked_add(Span::new().months(months))
        .ok()?;
    Some(moved.timestamp().as_microsecond())
}

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExpirySweep {
    pub entries: usize,
    pub lots: usize,
}

/// One date on which some of a member's points of a unit expire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiring {
    pub points: Amount,
    pub at_us: i64,
}

/// When each open lot expires under `policy`: `(at_us, lot)`, soonest first.
pub fn expiry_dates<'a>(
    policy: &ExpiryPolicy,
    lots: &'a [Lot],
    last_active_us: Option<i64>,
) -> Vec<(i64, &'a Lot)> {
    let months = i64::from(policy.months);
    let mut dates: Vec<(i64, &Lot)> = lots
        .iter()
        .filter(|l| l.remaining_minor > 0)
        .filter_map(|l| {
            let from = match policy.kind {
                ExpiryKind::Fixed | ExpiryKind::None => l.clock_us,
                ExpiryKind::Inactivity => l.clock_us.max(last_active_us.unwrap_or(l.clock_us)),
            };
            add_months(from, months).map(|at| (at, l))
        })
        .collect();
    dates.sort_by_key(|(at, l)| (*at, l.earned_at_us, l.lot_seq));
    dates
}

impl Clearing {
    /// Posts the expiries due now, unit by unit, [`EXPIRY_ACCOUNTS_PER_WRITE`] members a write.
    pub async fn expire_points(&self) -> Result<ExpirySweep, ClearingError> {
        let policies: Vec<(UnitCode, ExpiryPolicy)> = self
            .context()
            .network
            .expiry
            .iter()
            .map(|(u, p)| (u.clone(), *p))
            .collect();
        let mut done = ExpirySweep::default();
        for (unit, policy) in policies {
            let now = self.context().clock.now_us();
            let Some(cutoff) = add_months(now, -i64::from(policy.months)) else {
                continue;
            };
            let swept = match policy.kind {
                ExpiryKind::Inactivity => self.expire_inactive(&unit, &policy, cutoff).await?,
                _ => self.expire_by_lot(&unit, &policy, cutoff).await?,
            };
            done.entries += swept.entries;
            done.lots += swept.lots;
        }
        Ok(done)
    }

    /// `fixed`: the oldest due lots first, page by page, until none is due.
    async fn expire_by_lot(
        &self,
        unit: &UnitCode,
        policy: &ExpiryPolicy,
        cutoff: i64,
    ) -> Result<ExpirySweep, ClearingError> {
        let mut done = ExpirySweep::default();
        for _ in 0..MAX_EXPIRY_WRITES_PER_SWEEP {
            let u = unit.to_string();
            let due = self
                .store()
                .read(move |c| lots::due_by_lot(c, &u, cutoff, EXPIRY_ACCOUNTS_PER_WRITE))
                .await?;
            if due.is_empty() {
                break;
            }
            let page = self.expire_accounts(unit, policy, cutoff, due).await?;
            done.entries += page.entries;
            done.lots += page.lots;
            if page.entries == 0 {
                // Listed as due but nothing was (spent since): the next sweep sees.
                break;
            }
        }
        Ok(done)
    }

    /// `inactivity`: the members inactive since the cutoff, a page at a time from where the
    /// last sweep stopped, at most [`MAX_INACTIVITY_PAGES_PER_SWEEP`] pages a sweep.
    async fn expire_inactive(
        &self,
        unit: &UnitCode,
        policy: &ExpiryPolicy,
        cutoff: i64,
    ) -> Result<ExpirySweep, ClearingError> {
        let mut done = ExpirySweep::default();
        let mut cursor = self.expiry.cursor(unit);
        for _ in 0..MAX_INACTIVITY_PAGES_PER_SWEEP {
            let (u, after) = (unit.to_string(), cursor.clone());
            let (due, next) = self
                .store()
                .read(move |c| {
                    lots::due_by_inactivity(
                        c,
                        &u,
                        (cutoff, cutoff),
                        after.as_ref(),
                        INACTIVE_MEMBERS_PER_PAGE,
                    )
                })
                .await?;
            for chunk in due.chunks(EXPIRY_ACCOUNTS_PER_WRITE) {
                let page = self
                    .expire_accounts(unit, policy, cutoff, chunk.to_vec())
                    .await?;
                done.entries += page.entries;
                done.lots += page.lots;
            }
            cursor = next;
            if cursor.is_none() {
                break;
            }
        }
        self.expiry.keep(unit, cursor);
        Ok(done)
    }

    /// One write expiring the due lots of `due`.
    async fn expire_accounts(
        &self,
        unit: &UnitCode,
        policy: &ExpiryPolicy,
        cutoff: i64,
        due: Vec<DueAccount>,
    ) -> Result<ExpirySweep, ClearingError> {
        let ctx = self.context().clone();
        let (u, p) = (unit.clone(), *policy);
        self.store()
            .write(move |tx| expire_page(&ctx, tx, (&u, &p), cutoff, &due))
            .await
    }

    /// What a member's points will expire when, per unit (units without a policy: none).
    pub async fn expiring(
        &self,
        member: MemberId,
    ) -> Result<Vec<(UnitCode, Vec<Expiring>)>, ClearingError> {
        let m = member.to_string();
        let (open, last_active) = self
            .store()
            .read(move |c| Ok((lots::member_open_lots(c, &m)?, lots::last_active_us(c, &m)?)))
            .await?;
        let ctx = self.context();
        let mut out = Vec::new();
        for (unit, policy) in &ctx.network.expiry {
            let held: Vec<Lot> = open
                .iter()
                .filter(|(u, _)| u == unit.as_str())
                .map(|(_, l)| l.clone())
                .collect();
            let scale = ctx.scale(unit)?;
            let mut dates: Vec<Expiring> = Vec::new();
            for (at_us, lot) in expiry_dates(policy, &held, last_active) {
                let day = at_us.div_euclid(DAY_US);
                // Lots expiring on the same day are shown as one line.
                if let Some(last) = dates
                    .last_mut()
                    .filter(|l| l.at_us.div_euclid(DAY_US) == day)
                {
                    last.points =
                        Amount::from_minor(last.points.minor() + lot.remaining_minor, scale);
                } else if dates.len() >= MAX_EXPIRING_SHOWN {
                    break;
                } else {
                    dates.push(Expiring {
                        points: Amount::from_minor(lot.remaining_minor, scale),
                        at_us,
                    });
                }
            }
            if !dates.is_empty() {
                out.push((unit.clone(), dates));
            }
        }
        Ok(out)
    }
}

/// Expires the due lots of one page of accounts, one entry per account.
fn expire_page(
    ctx: &Context,
    tx: &mut WriteTx<'_>,
    (unit, policy): (&UnitCode, &ExpiryPolicy),
    cutoff_us: i64,
    due: &[DueAccount],
) -> Result<ExpirySweep, ClearingError> {
    let mut done = ExpirySweep::default();
    for account in due {
        let member: MemberId = super::input::parse_member(&account.member_id)?;
        if policy.kind == ExpiryKind::Inactivity
            && tx
                .last_active_us(&account.member_id)?
                .is_some_and(|at| at > cutoff_us)
        {
            continue;
        }
        let lots: Vec<(i64, i64)> = tx
            .open_lots(&account.account)?
            .into_iter()
            .filter(|l| l.clock_us <= cutoff_us)
            .take(MAX_LOTS_PER_EXPIRY)
            .map(|l| (l.lot_seq, l.remaining_minor))
            .collect();
        let total: i64 = lots.iter().map(|(_, n)| n).sum();
        if total == 0 {
            continue;
        }
        let entry = expiry_draft(ctx, (member, unit, policy), total, lots.len())?;
        tx.post_with(entry, LotPlan::Take(&lots))?;
        done.entries += 1;
        done.lots += lots.len();
    }
    Ok(done)
}

/// The `points_expiry` entry for `total` points of `unit` of `member`, balanced.
fn expiry_draft(
    ctx: &Context,
    (member, unit, policy): (MemberId, &UnitCode, &ExpiryPolicy),
    total: i64,
    lot_count: usize,
) -> Result<crate::ledger::BalancedEntry, ClearingError> {
    let scale = ctx.scale(unit)?;
    let points = Amount::from_minor(total, scale);
    let issuer = ctx
        .units
        .get(unit)
        .and_then(|u| u.issuer().cloned())
        .ok_or_else(|| ClearingError::NotPoints(unit.clone()))?;
    let mut meta = EntryMeta::new(EntryKind::PointsExpiry);
    meta.member = Some(member);
    if let Party::Partner(p) = &issuer {
        meta.partner = Some(p.clone());
    }
    let reason = match policy.kind {
        ExpiryKind::Inactivity => {
            format!("no earn or spend at any brand for {} months", policy.months)
        }
        _ => format!("earned more than {} months ago", policy.months),
    };
    meta.memo = Some(
        serde_json::json!({
            "reason": reason,
            "policy": policy.kind.as_str(),
            "months": policy.months,
            "lots": lot_count,
        })
        .to_string(),
    );
    let postings = vec![
        Posting::debit(
            Account::Member {
                member,
                unit: unit.clone(),
            },
            points,
        ),
        Posting::credit(
            Account::Issuer {
                issuer,
                unit: unit.clone(),
            },
            points,
        )
        .ok_or(ClearingError::AmountTooLarge)?,
    ];
    Ok(crate::ledger::EntryDraft::new(meta, postings).balance(&ctx.units)?)
}

/// `POST /v1/reversals` of a `points_expiry`: by its issuer, within [`EXPIRY_REVERSAL_DAYS`];
/// the points go back to the lots they expired from, whose clocks start again.
/// `caller`: the issuing partner; `None`: the operator, for a network unit's expiry.
pub(super) fn reverse_expiry(
    ctx: &Context,
    tx: &mut WriteTx<'_>,
    caller: Option<&Caller>,
    original: CommittedEntry,
    (points, reference, reason): (Option<String>, String, String),
) -> Result<Posted, ClearingError> {
    let id = original.id;
    if original.meta.partner.as_ref() != caller.map(|c| &c.partner) {
        return Err(ClearingError::NotFound(Missing::Entry(id.to_string())));
    }
    let age_us = tx.now_us() - original.created_at_us;
    if age_us > EXPIRY_REVERSAL_DAYS * DAY_US {
        return Err(ClearingError::NotReversible(Irreversible::ExpiryTooOld {
            days: EXPIRY_REVERSAL_DAYS,
        }));
    }
    let member = original
        .meta
        .member
        .ok_or_else(|| ClearingError::NotFound(Missing::Entry(id.to_string())))?;
    ctx.require_member(tx, member)?;
    let line = original
        .postings
        .iter()
        .find(|p| matches!(p.account, Account::Member { .. }))
        .ok_or_else(|| ClearingError::NotFound(Missing::Entry(id.to_string())))?;
    let total = line.amount;
    let reversed = tx.reversed_sums(id)?;
    // Reversals credit the member: their sum on the account is negative.
    let done = -reversed
        .get(&line.account.to_string())
        .copied()
        .unwrap_or(0);
    let left = total.minor() - done;
    if left <= 0 {
        return Err(ClearingError::NotReversible(Irreversible::FullyReversed(
            id.to_string(),
        )));
    }
    let unit = line.account.unit().clone();
    let points = match points {
        Some(p) => ctx.points(&unit, &p)?,
        None => Amount::from_minor(left, total.scale()),
    };
    if points.minor() > left {
        return Err(ClearingError::InvalidAmount(
            super::BadAmount::MoreThanLeft {
                left: Amount::from_minor(left, total.scale()),
                unit,
            },
        ));
    }
    let meta = undo_meta(caller, (member, id), reference, &reason);
    let draft = rules::reversal(
        &original,
        false,
        points,
        total.minor(),
        left,
        &reversed,
        meta,
    )?;
    let entry = tx.post_with(draft.balance(&ctx.units)?, LotPlan::Reinstate)?;
    Ok(Posted {
        entry,
        status: EntryStatus::Posted,
        coupons_issued: None,
    })
}

/// The undoing entry's meta: the partner's (key and signature recorded), or the operator's.
fn undo_meta(
    caller: Option<&Caller>,
    (member, expiry): (MemberId, EntryId),
    reference: String,
    reason: &str,
) -> EntryMeta {
    let mut meta = match caller {
        Some(c) => c.meta(EntryKind::Reversal, member, Some(reference)),
        None => {
            let mut m = EntryMeta::new(EntryKind::Reversal);
            m.member = Some(member);
            m.reference = Some(reference);
            m
        }
    };
    meta.reverses = Some(expiry);
    meta.memo = Some(match caller {
        Some(_) => serde_json::json!({ "reason": reason }).to_string(),
        None => serde_json::json!({ "reason": reason, "by": "operator" }).to_string(),
    });
    meta
}

/// Whether `id` names an expiry (read inside the write).
pub(super) fn expiry_entry(
    ctx: &Context,
    tx: &mut WriteTx<'_>,
    id: EntryId,
) -> Result<Option<CommittedEntry>, ClearingError> {
    Ok(tx
        .entry(id, &ctx.units)?
        .filter(|e| e.meta.kind == EntryKind::PointsExpiry))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lot(seq: i64, clock_us: i64, remaining_minor: i64) -> Lot {
        Lot {
            lot_seq: seq,
            earned_at_us: clock_us,
            clock_us,
            amount_minor: remaining_minor,
            remaining_minor,
        }
    }

    #[test]
    fn months_are_calendar_months() {
        // 2026-01-31 plus one month is the last day of February.
        let jan31 = Timestamp::from_second(1_769_817_600)
            .unwrap()
            .as_microsecond();
        let feb = add_months(jan31, 1).unwrap();
        assert_eq!(
            Timestamp::from_microsecond(feb).unwrap().to_string(),
            "2026-02-28T00:00:00Z"
        );
        assert!(add_months(feb, -1).unwrap() < jan31);
    }

    #[test]
    fn fixed_dates_follow_each_lot_and_inactivity_the_last_activity() {
        let fixed = ExpiryPolicy {
            kind: ExpiryKind::Fixed,
            months: 12,
            notice_days: 30,
        };
        let lots = [lot(2, 1_000, 10), lot(5, 2_000, 20), lot(7, 3_000, 0)];
        let dates = expiry_dates(&fixed, &lots, Some(9_000));
        assert_eq!(dates.len(), 2, "a spent lot expires nothing");
        assert_eq!(dates[0].0, add_months(1_000, 12).unwrap());
        let inactivity = ExpiryPolicy {
            kind: ExpiryKind::Inactivity,
            ..fixed
        };
        let dates = expiry_dates(&inactivity, &lots, Some(9_000));
        assert!(
            dates
                .iter()
                .all(|(at, _)| *at == add_months(9_000, 12).unwrap())
        );
    }
}
