//! Tiers: which tier a member holds and why. The qualifying spend is summed over the rolling
//! window from the profile's day buckets (never the journal); the tier is re-evaluated by the
//! writer on every qualifying event (an earn on a purchase, its reversal) and daily by a sweep
//! for what time alone changes (spend leaving the window, a grace period or a paid tier ending).

use crate::ledger::{Amount, MemberId};
use crate::partners::programme::{TierLevel, Tiers};
use crate::store::WriteTx;
use crate::store::profiles::day_of;
use crate::store::tiers::{self, TierRow};

use super::context::Context;
use super::time::{self, DAY_US};
use super::views::tier::{NextTier, TierChangeView, TierView};
use super::{Clearing, ClearingError, Missing};

/// Members the daily sweep reads per page and re-evaluates per write.
const SWEEP_PAGE_MEMBERS: i64 = 200;

/// The first UTC day of the window that ends today: day buckets on or after it qualify.
pub(crate) fn window_start_day(tiers: &Tiers, now_us: i64) -> i32 {
    let days = i32::try_from(tiers.window_days).unwrap_or(i32::MAX);
    day_of(now_us).saturating_sub(days.saturating_sub(1))
}

/// A member's standing as the writer evaluates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Standing {
    pub row: TierRow,
    /// The reason, when the tier itself changed.
    pub changed: Option<String>,
}

/// The row of a member at the ladder's first level, as of `now_us` (no row is stored for them).
fn first_row(tiers: &Tiers, member: &str, now_us: i64) -> Option<TierRow> {
    Some(TierRow {
        member_id: member.to_owned(),
        tier: tiers.levels.first()?.name.clone(),
        tier_rank: 0,
        since_us: now_us,
        below_since_us: None,
        paid_tier: None,
        paid_until_us: None,
    })
}

/// The tier a member holds given `row` (none: the first level), their qualifying spend now and
/// the time: up at once when the spend reaches a higher level; down only after `grace_days`
/// below (a paid tier that ended, at once); a paid tier kept until it ends, whatever the spend.
pub(crate) fn evaluate(
    tiers: &Tiers,
    member: &str,
    row: Option<&TierRow>,
    qualifying: Amount,
    now_us: i64,
) -> Option<Standing> {
    let first = tiers.levels.first()?;
    let current = match row {
        Some(r) => r.clone(),
        None => first_row(tiers, member, now_us)?,
    };
    let rank_of = |name: &str| tiers.rank(name).unwrap_or(0);
    let held = rank_of(&current.tier);
    let reached = tiers.reached(qualifying.to_decimal()).unwrap_or(first);
    let reached_rank = rank_of(&reached.name);
    let paid = current
        .paid_tier
        .as_deref()
        .filter(|_| current.paid_until_us.is_some_and(|until| until > now_us))
        .map(rank_of);
    let paid_ended = current.paid_tier.is_some() && paid.is_none();
    let due = reached_rank.max(paid.unwrap_or(0));
    let spend = format!("{qualifying} qualifying spend");
    let mut next = current.clone();
    let mut changed = None;
    if due >= held {
        next.below_since_us = None;
        if due > held {
            changed = Some(match paid {
                Some(p) if p == due && p > reached_rank => format!("paid {}", tiers.levels[p].name),
                _ => format!("{spend} reached {} ({})", reached.name, reached.min),
            });
        }
    } else {
        let level = &tiers.levels[held];
        let grace_us = i64::from(tiers.grace_days) * DAY_US;
        let below_since = current.below_since_us.unwrap_or(now_us);
        if paid_ended && current.paid_tier.as_deref() == Some(level.name.as_str()) {
            changed = Some(format!("paid {} ended; {spend}", level.name));
        } else if now_us >= below_since.saturating_add(grace_us) {
            changed = Some(format!(
                "{spend} below {}'s {} after {} days' grace",
                level.name, level.min, tiers.grace_days
            ));
        } else {
            next.below_since_us = Some(below_since);
        }
    }
    if paid_ended {
        next.paid_tier = None;
        next.paid_until_us = None;
    }
    if changed.is_some() {
        let level: &TierLevel = &tiers.levels[due];
        next.tier = level.name.clone();
        next.tier_rank = i32::try_from(due).unwrap_or(i32::MAX);
        next.since_us = now_us;
        next.below_since_us = None;
    }
    let worth_storing = changed.is_some() || row.is_some_and(|r| *r != next);
    worth_storing.then_some(Standing { row: next, changed })
}

/// The row a member holds now: the stored one re-evaluated against their qualifying spend (so
/// that a grace period or a paid tier that ended since the last sweep counts); `None` for a
/// member without a row who is still at the first level.
fn current_row(
    ladder: &Tiers,
    member: &str,
    row: Option<&TierRow>,
    qualifying: Amount,
    now_us: i64,
) -> Option<TierRow> {
    evaluate(ladder, member, row, qualifying, now_us)
        .map(|s| s.row)
        .or_else(|| row.cloned())
}

/// The tier a member holds now ([`current_row`]'s, or the first level).
pub(crate) fn held(
    ladder: &Tiers,
    member: &str,
    row: Option<&TierRow>,
    qualifying: Amount,
    now_us: i64,
) -> Option<String> {
    current_row(ladder, member, row, qualifying, now_us)
        .or_else(|| first_row(ladder, member, now_us))
        .map(|r| r.tier)
}

/// What the writer knows of a member's tier before an earn: their stored row, their qualifying
/// spend, and the tier they hold.
#[derive(Debug, Clone)]
pub(crate) struct Before {
    member: String,
    row: Option<TierRow>,
    qualifying: Amount,
    pub tier: Option<String>,
}

/// [`held`] inside a write, with what it read kept for [`after_spend_tx`]. `None` when the
/// network has no ladder.
pub(crate) fn held_tx(
    ctx: &Context,
    tx: &mut WriteTx<'_>,
    member: MemberId,
) -> Result<Option<Before>, ClearingError> {
    let Some(ladder) = &ctx.network.tiers else {
        return Ok(None);
    };
    let id = member.to_string();
    let now_us = tx.now_us();
    let (row, qualifying) = standing_tx(ctx, tx, &id, ladder, now_us)?;
    let tier = held(ladder, &id, row.as_ref(), qualifying, now_us);
    Ok(Some(Before {
        member: id,
        row,
        qualifying,
        tier,
    }))
}

/// Stores what an evaluation found, with the reason when the tier itself changed. Returns the
/// new tier's name when it changed.
fn store_standing(
    tx: &mut WriteTx<'_>,
    standing: Standing,
    now_us: i64,
) -> Result<Option<String>, ClearingError> {
    let change = standing.changed.as_deref().map(|reason| (now_us, reason));
    tiers::set_tx(tx, &standing.row, change)?;
    if let Some(reason) = &standing.changed {
        tell_linked_brands(tx, &standing.row, reason, now_us)?;
    }
    Ok(standing.changed.map(|_| standing.row.tier))
}

/// `tier.changed` to every brand the member is linked to and shares their profile with (the
/// tier is part of the profile); read only when some endpoint listens at all.
fn tell_linked_brands(
    tx: &mut WriteTx<'_>,
    row: &tiers::TierRow,
    reason: &str,
    now_us: i64,
) -> Result<(), ClearingError> {
    if !tx.has_subscribers() {
        return Ok(());
    }
    let links = crate::store::members::links_of_tx(tx, &row.member_id)?;
    let data = serde_json::json!({
        "member_id": row.member_id,
        "tier": row.tier,
        "reason": reason,
        "at": super::time::rfc3339(now_us),
    })
    .to_string();
    for link in links.iter().filter(|l| l.sharing.profile) {
        tx.emit(
            &link.partner,
            crate::store::webhooks::EventType::TierChanged,
            data.clone(),
        );
    }
    Ok(())
}

/// Re-evaluates the tier after a purchase of `spent` that [`held_tx`] read the member for, in
/// the same job: the qualifying spend is what it read plus `spent` (posted today, inside the
/// window), so nothing is read again.
pub(crate) fn after_spend_tx(
    ctx: &Context,
    tx: &mut WriteTx<'_>,
    before: Before,
    spent: Amount,
) -> Result<(), ClearingError> {
    let Some(ladder) = &ctx.network.tiers else {
        return Ok(());
    };
    let now_us = tx.now_us();
    let qualifying = before
        .qualifying
        .checked_add(spent)
        .ok_or(ClearingError::AmountTooLarge)?;
    let standing = evaluate(
        ladder,
        &before.member,
        before.row.as_ref(),
        qualifying,
        now_us,
    );
    if let Some(s) = standing {
        store_standing(tx, s, now_us)?;
    }
    Ok(())
}

fn standing_tx(
    ctx: &Context,
    tx: &mut WriteTx<'_>,
    member: &str,
    ladder: &Tiers,
    now_us: i64,
) -> Result<(Option<TierRow>, Amount), ClearingError> {
    let (row, minor) = tiers::standing_tx(tx, member, window_start_day(ladder, now_us))?;
    Ok((row, Amount::from_minor(minor, ctx.network.currency_scale)))
}

/// Re-evaluates `member`'s tier inside a write (after a qualifying event, or for the sweep) and
/// stores what changed, with the reason when the tier did. Returns the new tier's name when it
/// changed.
pub(crate) fn reevaluate_tx(
    ctx: &Context,
    tx: &mut WriteTx<'_>,
    member: &str,
) -> Result<Option<String>, ClearingError> {
    let Some(ladder) = &ctx.network.tiers else {
        return Ok(None);
    };
    let now_us = tx.now_us();
    let (row, qualifying) = standing_tx(ctx, tx, member, ladder, now_us)?;
    match evaluate(ladder, member, row.as_ref(), qualifying, now_us) {
        Some(standing) => store_standing(tx, standing, now_us),
        None => Ok(None),
    }
}

/// When a tier reached by spend ends if the member spends nothing more: the first day the
/// window's total falls below `min` (each day's spend leaves the window `window_days` after it),
/// plus the grace period. `days` are the window's (day, spend) in day order.
fn spend_tier_ends_us(ladder: &Tiers, days: &[(i32, i64)], min_minor: i64) -> Option<i64> {
    let mut total = days.iter().fold(0i64, |t, (_, s)| t.saturating_add(*s));
    for (day, spend) in days {
        total = total.saturating_sub(*spend);
        if total < min_minor {
            let leaves = i64::from(*day) + i64::from(ladder.window_days);
            return Some((leaves + i64::from(ladder.grace_days)) * DAY_US);
        }
    }
    None
}

/// A member's tier as a reader may see it (`full`: with the qualifying spend, what comes next
/// and the history).
fn tier_view(
    ladder: &Tiers,
    read: crate::store::tiers::TierRead,
    member: &str,
    (now_us, joined_us): (i64, i64),
    scale: crate::ledger::Scale,
    full: bool,
) -> TierView {
    let spent = read
        .days
        .iter()
        .fold(0i64, |t, (_, s)| t.saturating_add(*s));
    let qualifying = Amount::from_minor(spent, scale);
    let row = current_row(ladder, member, read.row.as_ref(), qualifying, now_us);
    let tier = row
        .clone()
        .or_else(|| first_row(ladder, member, now_us))
        .map(|r| r.tier)
        .unwrap_or_default();
    let since_us = row.as_ref().map_or(joined_us, |r| r.since_us);
    let mut view = TierView {
        tier: tier.clone(),
        since: time::rfc3339(since_us),
        qualifying: None,
        expires_at: None,
        next: None,
        paid_until: None,
        history: None,
    };
    if !full {
        return view;
    }
    let rank = ladder.rank(&tier).unwrap_or(0);
    let to_minor =
        |d: rust_decimal::Decimal| Amount::from_decimal(d, scale).map_or(i64::MAX, Amount::minor);
    let paid_until = row.as_ref().and_then(|r| {
        r.paid_until_us
            .filter(|_| r.paid_tier.as_deref() == Some(tier.as_str()))
    });
    let grace_ends = row.as_ref().and_then(|r| {
        r.below_since_us
            .map(|b| b + i64::from(ladder.grace_days) * DAY_US)
    });
    let spend_ends = (rank > 0)
        .then(|| spend_tier_ends_us(ladder, &read.days, to_minor(ladder.levels[rank].min)))
        .flatten();
    view.expires_at = paid_until.or(grace_ends).or(spend_ends).map(time::rfc3339);
    view.paid_until = paid_until.map(time::rfc3339);
    view.qualifying = Some(qualifying.to_string());
    view.next = ladder.levels.get(rank + 1).map(|l| NextTier {
        name: l.name.clone(),
        needed: Amount::from_minor(to_minor(l.min).saturating_sub(spent).max(0), scale).to_string(),
    });
    view.history = Some(
        read.history
            .into_iter()
            .map(|c| TierChangeView {
                tier: c.tier,
                at: time::rfc3339(c.at_us),
                reason: c.reason,
            })
            .collect(),
    );
    view
}

/// Sets (or, `None`, ends) the member's paid tier and re-evaluates their tier at once: bought,
/// it holds whatever the spend; refunded, the member falls back to what their spend gives.
pub(crate) fn set_paid_tx(
    ctx: &Context,
    tx: &mut WriteTx<'_>,
    member: &str,
    paid: Option<(String, i64)>,
) -> Result<(), ClearingError> {
    let Some(ladder) = &ctx.network.tiers else {
        return Ok(());
    };
    let now_us = tx.now_us();
    let (stored, qualifying) = standing_tx(ctx, tx, member, ladder, now_us)?;
    let Some(mut row) = stored.or_else(|| first_row(ladder, member, now_us)) else {
        return Ok(());
    };
    match paid {
        Some((tier, until)) => {
            row.paid_tier = Some(tier);
            row.paid_until_us = Some(until);
        }
        // Ended now: the evaluation below sees it ended and lets the member fall at once.
        None => row.paid_until_us = row.paid_until_us.map(|_| now_us),
    }
    // The row changed here, so it is stored even when the evaluation finds nothing more.
    let standing = evaluate(ladder, member, Some(&row), qualifying, now_us)
        .unwrap_or(Standing { row, changed: None });
    store_standing(tx, standing, now_us)?;
    Ok(())
}

impl Clearing {
    /// `GET /v1/me/tier`, and a brand's `GET /v1/members/{id}/tier` (`partner`): a brand sees the
    /// member only through its link (else `404`), and `tier` and `since` only unless the member
    /// shares their profile with it.
    pub async fn tier_of(
        &self,
        member: MemberId,
        partner: Option<&crate::ledger::PartnerId>,
    ) -> Result<TierView, ClearingError> {
        let missing = || ClearingError::NotFound(Missing::Member(member));
        let ladder = self
            .ctx
            .network
            .tiers
            .clone()
            .ok_or(ClearingError::InvalidRequest(super::Invalid::NoTiers))?;
        let now_us = self.ctx.clock.now_us();
        let from_day = window_start_day(&ladder, now_us);
        let (id, p) = (member.to_string(), partner.map(ToString::to_string));
        let read = self
            .store
            .read(move |c| crate::store::tiers::read(c, &id, from_day, p.as_deref()))
            .await?;
        let joined_us = read.joined_at_us.ok_or_else(missing)?;
        let full = match (partner, &read.link) {
            (None, _) => true,
            (Some(_), Some(link)) => link.sharing.profile,
            (Some(_), None) => return Err(missing()),
        };
        let scale = self.ctx.network.currency_scale;
        let id = member.to_string();
        Ok(tier_view(
            &ladder,
            read,
            &id,
            (now_us, joined_us),
            scale,
            full,
        ))
    }

    /// The daily sweep: re-evaluates every member above the first level (spend leaving the
    /// window, grace periods and paid tiers ending), a page at a time, each page one write.
    /// Returns how many members' tiers changed.
    pub async fn sweep_tiers(&self) -> Result<usize, ClearingError> {
        if self.ctx.network.tiers.is_none() {
            return Ok(0);
        }
        let mut after = String::new();
        let mut changed = 0;
        loop {
            let from = after.clone();
            let page = self
                .store
                .read(move |c| tiers::above_first(c, &from, SWEEP_PAGE_MEMBERS))
                .await?;
            let Some(last) = page.last() else {
                return Ok(changed);
            };
            after = last.member_id.clone();
            let ctx = self.ctx.clone();
            let members: Vec<String> = page.into_iter().map(|r| r.member_id).collect();
            changed += self
                .store
                .write(move |tx| -> Result<usize, ClearingError> {
                    let mut n = 0;
                    for m in &members {
                        n += usize::from(reevaluate_tx(&ctx, tx, m)?.is_some());
                    }
                    Ok(n)
                })
                .await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Scale;
    use crate::partners::programme::{BonusFunder, PaidTier, Qualifying};
    use rust_decimal::Decimal;

    fn ladder() -> Tiers {
        let level = |name: &str, min: i64, paid: bool| TierLevel {
            name: name.into(),
            min: Decimal::from(min),
            earn_bonus_percent: Decimal::from(10),
            paid: paid.then_some(PaidTier {
                price: Decimal::from(99),
                period_days: 365,
            }),
        };
        Tiers {
            qualifying: Qualifying::Spend,
            window_days: 365,
            grace_days: 30,
            bonus_funded_by: BonusFunder::Network,
            levels: vec![
                level("Member", 0, false),
                level("Gold", 2000, false),
                level("Club+", 5000, true),
            ],
        }
    }

    fn ils(whole: i64) -> Amount {
        Amount::from_minor(whole * 100, Scale::new(2).unwrap())
    }

    const NOW: i64 = 1_800_000_000_000_000;

    #[test]
    fn up_at_once_down_after_grace() {
        let t = ladder();
        assert_eq!(
            evaluate(&t, "m", None, ils(100), NOW),
            None,
            "nothing to store"
        );
        let gold = evaluate(&t, "m", None, ils(2500), NOW).unwrap();
        assert_eq!((gold.row.tier.as_str(), gold.row.tier_rank), ("Gold", 1));
        assert!(gold.changed.unwrap().contains("reached Gold"));
        // Below: the grace period starts, the tier stays.
        let later = NOW + DAY_US;
        let below = evaluate(&t, "m", Some(&gold.row), ils(1000), later).unwrap();
        assert_eq!(below.row.tier, "Gold");
        assert_eq!(below.row.below_since_us, Some(later));
        assert_eq!(below.changed, None);
        // Still inside it: nothing changes.
        let inside = later + 29 * DAY_US;
        assert_eq!(evaluate(&t, "m", Some(&below.row), ils(1000), inside), None);
        // Back above inside the grace: the clock stops.
        let back = evaluate(&t, "m", Some(&below.row), ils(2000), inside).unwrap();
        assert_eq!(
            (back.row.tier.as_str(), back.row.below_since_us),
            ("Gold", None)
        );
        // The grace ends: down to what the spend reaches.
        let after = later + 30 * DAY_US;
        let down = evaluate(&t, "m", Some(&below.row), ils(1000), after).unwrap();
        assert_eq!(
            (down.row.tier.as_str(), down.row.since_us),
            ("Member", after)
        );
        assert!(down.changed.unwrap().contains("after 30 days' grace"));
    }

    #[test]
    fn a_paid_tier_holds_whatever_the_spend_and_ends_at_once() {
        let t = ladder();
        let paid = TierRow {
            member_id: "m".into(),
            tier: "Club+".into(),
            tier_rank: 2,
            since_us: NOW,
            below_since_us: None,
            paid_tier: Some("Club+".into()),
            paid_until_us: Some(NOW + 365 * DAY_US),
        };
        assert_eq!(evaluate(&t, "m", Some(&paid), ils(0), NOW + DAY_US), None);
        let ended = evaluate(&t, "m", Some(&paid), ils(2100), NOW + 365 * DAY_US).unwrap();
        assert_eq!(ended.row.tier, "Gold", "falls back to what the spend gives");
        assert_eq!(
            (ended.row.paid_tier, ended.row.below_since_us),
            (None, None)
        );
        assert!(ended.changed.unwrap().contains("paid Club+ ended"));
    }
}
