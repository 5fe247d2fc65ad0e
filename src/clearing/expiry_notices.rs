//! `points.expiring` notices: `notice_days` before a member's points of a unit expire, the
//! unit's issuer hears of it — once per member and expiry day — as a webhook event its own
//! systems turn into an e-mail, a text or an app message (Quebec asks for such a notice 30 to
//! 60 days ahead: `docs/accounting.md`). Only when the issuer's endpoint takes the event; the
//! notice and its event are written in one transaction.

use std::collections::BTreeMap;

use super::expiry::{UnitCursors, add_months};
use super::{Clearing, ClearingError, time};
use crate::ledger::flows::day_of;
use crate::ledger::{Amount, Party, UnitCode};
use crate::partners::programme::{ExpiryKind, ExpiryPolicy};
use crate::store::notices::{self, LotCursor, MemberCursor};
use crate::store::webhooks::EventType;

/// Lots or members one page of notices reads.
pub const NOTICE_ITEMS_PER_PAGE: i64 = 500;
/// Pages one sweep reads per unit at most; the next sweep goes on from there.
pub const MAX_NOTICE_PAGES_PER_SWEEP: usize = 20;

/// Where each unit's notices are, between sweeps (in memory: after a restart the window is
/// read again, and notices already sent are not sent twice).
#[derive(Debug, Default)]
pub struct NoticeState {
    lots: UnitCursors<LotCursor>,
    members: UnitCursors<MemberCursor>,
}

/// One notice to send: whose, which day, how many points, when exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Notice {
    member_id: String,
    day: i32,
    points_minor: i64,
    at_us: i64,
}

impl Clearing {
    /// Sends the notices due now, unit by unit. Returns how many were sent.
    pub async fn send_expiry_notices(&self) -> Result<usize, ClearingError> {
        let ctx = self.context().clone();
        let mut sent = 0;
        for (unit, policy) in &ctx.network.expiry {
            if policy.notice_days == 0 || policy.kind == ExpiryKind::None {
                continue;
            }
            let Some(Party::Partner(issuer)) = ctx.units.get(unit).and_then(|u| u.issuer()) else {
                continue;
            };
            if !self
                .store()
                .subscribers()
                .wants(issuer.as_str(), EventType::PointsExpiring)
            {
                continue;
            }
            let now = ctx.clock.now_us();
            let months = -i64::from(policy.months);
            let ahead = now.saturating_add(i64::from(policy.notice_days) * time::DAY_US);
            let (Some(due), Some(upto)) = (add_months(now, months), add_months(ahead, months))
            else {
                continue;
            };
            sent += match policy.kind {
                ExpiryKind::Inactivity => {
                    self.notice_members(unit, policy, issuer.as_str(), (due, upto))
                        .await?
                }
                _ => {
                    self.notice_lots(unit, policy, issuer.as_str(), (due, upto))
                        .await?
                }
            };
        }
        Ok(sent)
    }

    /// `fixed`: lots whose expiry falls within the notice window; one notice per member and
    /// day, for all their points expiring that day.
    async fn notice_lots(
        &self,
        unit: &UnitCode,
        policy: &ExpiryPolicy,
        issuer: &str,
        (due, upto): (i64, i64),
    ) -> Result<usize, ClearingError> {
        let mut cursor = self.notices.lots.cursor(unit);
        let mut sent = 0;
        for _ in 0..MAX_NOTICE_PAGES_PER_SWEEP {
            let (u, after) = (unit.to_string(), cursor.clone());
            let (page, held) = self
                .store()
                .read(move |c| {
                    let page = notices::lots_between(
                        c,
                        &u,
                        (due, after.as_ref()),
                        upto,
                        NOTICE_ITEMS_PER_PAGE,
                    )?;
                    let mut members: Vec<String> =
                        page.iter().map(|l| l.member_id.clone()).collect();
                    members.sort();
                    members.dedup();
                    Ok((page.clone(), notices::open_lots_of(c, &u, &members)?))
                })
                .await?;
            let Some(last) = page.last() else { break };
            cursor = Some((last.clock_us, last.account.clone(), last.lot_seq));
            // Every point of the member's expiring on the day of one of this page's lots.
            let mut by_day: BTreeMap<(String, i32), Notice> = BTreeMap::new();
            for l in &page {
                if let Some(at) = add_months(l.clock_us, i64::from(policy.months)) {
                    by_day
                        .entry((l.member_id.clone(), day_of(at)))
                        .or_insert(Notice {
                            member_id: l.member_id.clone(),
                            day: day_of(at),
                            points_minor: 0,
                            at_us: at,
                        });
                }
            }
            for (member, clock, remaining) in held {
                let Some(at) = add_months(clock, i64::from(policy.months)) else {
                    continue;
                };
                if let Some(n) = by_day.get_mut(&(member, day_of(at))) {
                    n.points_minor += remaining;
                    n.at_us = n.at_us.min(at);
                }
            }
            sent += self
                .send_notices(unit, policy, issuer, by_day.into_values().collect())
                .await?;
        }
        self.notices.lots.keep(unit, cursor);
        Ok(sent)
    }

    /// `inactivity`: members whose last earn or spend puts the expiry of all their points of
    /// the unit within the notice window.
    async fn notice_members(
        &self,
        unit: &UnitCode,
        policy: &ExpiryPolicy,
        issuer: &str,
        (due, upto): (i64, i64),
    ) -> Result<usize, ClearingError> {
        let mut cursor = self.notices.members.cursor(unit);
        let mut sent = 0;
        for _ in 0..MAX_NOTICE_PAGES_PER_SWEEP {
            let (u, after) = (unit.to_string(), cursor.clone());
            let (page, last) = self
                .store()
                .read(move |c| {
                    notices::members_between(
                        c,
                        &u,
                        (due, after.as_ref()),
                        upto,
                        NOTICE_ITEMS_PER_PAGE,
                    )
                })
                .await?;
            let Some(last) = last else { break };
            cursor = Some(last);
            let list = page
                .into_iter()
                .filter_map(|((active, member_id), points_minor)| {
                    let at = add_months(active, i64::from(policy.months))?;
                    Some(Notice {
                        member_id,
                        day: day_of(at),
                        points_minor,
                        at_us: at,
                    })
                })
                .collect();
            sent += self.send_notices(unit, policy, issuer, list).await?;
        }
        self.notices.members.keep(unit, cursor);
        Ok(sent)
    }

    /// Marks `list` sent and queues an event for each notice not sent before, in one write.
    async fn send_notices(
        &self,
        unit: &UnitCode,
        policy: &ExpiryPolicy,
        issuer: &str,
        list: Vec<Notice>,
    ) -> Result<usize, ClearingError> {
        if list.is_empty() {
            return Ok(0);
        }
        let scale = self.context().scale(unit)?;
        let (u, issuer, kind) = (unit.to_string(), issuer.to_owned(), policy.kind.as_str());
        self.store()
            .write(move |tx| {
                let keys: Vec<(String, i32)> =
                    list.iter().map(|n| (n.member_id.clone(), n.day)).collect();
                let fresh = notices::mark_sent_tx(tx, &u, &keys)?;
                for n in list
                    .iter()
                    .filter(|n| fresh.contains(&(n.member_id.clone(), n.day)))
                {
                    let data = serde_json::json!({
                        "member_id": n.member_id,
                        "unit": u,
                        "points": Amount::from_minor(n.points_minor, scale).to_string(),
                        "expires_at": time::rfc3339(n.at_us),
                        "policy": kind,
                    });
                    tx.emit(&issuer, EventType::PointsExpiring, data.to_string());
                }
                Ok::<_, ClearingError>(fresh.len())
            })
            .await
    }
}
