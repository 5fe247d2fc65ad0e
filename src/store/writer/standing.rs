//! The writer's memory of members' tier standings and first visits, so that an earn reads
//! neither twice: a member's tier row and qualifying spend (the database's and the batch's
//! pending rows together, kept current by every entry the writer posts), and the brands a member
//! is known to have visited. Each change a job makes is logged for undo.

use super::WriterState;
use crate::store::activity::{Activity, day_of};
use crate::store::tiers::TierRow;

/// A member's tier row and their spend on UTC days `from_day` onwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::store) struct Standing {
    pub row: Option<TierRow>,
    pub from_day: i32,
    pub qualifying_minor: i64,
}

impl WriterState {
    pub(in crate::store) fn cached_standing(&self, member: &str) -> Option<&Standing> {
        self.standings.get(member)
    }

    /// Remembers (or replaces) a member's standing for this job.
    pub(in crate::store) fn remember_standing(&mut self, member: &str, standing: Standing) {
        let before = self.standings.insert(member.to_owned(), standing);
        self.job.standings.push((member.to_owned(), before));
    }

    /// A stored tier row changed: the cached standing, if any, holds it now.
    pub(in crate::store) fn set_standing_row(&mut self, member: &str, row: &TierRow) {
        if let Some(s) = self.standings.get(member) {
            let next = Standing {
                row: Some(row.clone()),
                ..s.clone()
            };
            self.remember_standing(member, next);
        }
    }

    /// What a posted entry adds to its member's qualifying spend (posted now: inside the
    /// window).
    pub(super) fn add_to_standing(&mut self, a: &Activity) {
        if a.spend_minor == 0 {
            return;
        }
        if let Some(s) = self.standings.get(&a.member_id)
            && day_of(a.at_us) >= s.from_day
        {
            let next = Standing {
                qualifying_minor: s.qualifying_minor.saturating_add(a.spend_minor),
                ..s.clone()
            };
            self.remember_standing(&a.member_id, next);
        }
    }

    /// Forgets what is cached of `member` (erasure), or of everybody (a rebuild). Not undone
    /// with its job: a member missing from the cache is only read again.
    pub(in crate::store) fn forget_standings(&mut self, member: Option<&str>) {
        match member {
            Some(m) => {
                self.standings.remove(m);
                self.visited.retain(|(v, _)| v != m);
            }
            None => {
                self.standings.clear();
                self.visited.clear();
            }
        }
    }

    /// What the batch's unwritten activities of `member_id` add up to on UTC days `from_day`
    /// onwards (at `partner` only, when given): `(visits, spend_minor)`.
    pub(in crate::store) fn pending_activity(
        &self,
        member_id: &str,
        partner: Option<&str>,
        from_day: i32,
    ) -> (i64, i64) {
        self.pending
            .activities
            .iter()
            .filter(|a| a.member_id == member_id && partner.is_none_or(|p| a.partner == p))
            .filter(|a| day_of(a.at_us) >= from_day)
            .fold((0i64, 0i64), |(v, s), a| {
                (v.saturating_add(a.visits), s.saturating_add(a.spend_minor))
            })
    }

    pub(in crate::store) fn knows_visit(&self, member: &str, partner: &str) -> bool {
        self.visited
            .contains(&(member.to_owned(), partner.to_owned()))
    }

    pub(in crate::store) fn remember_visit(&mut self, member: &str, partner: &str) {
        let key = (member.to_owned(), partner.to_owned());
        if self.visited.insert(key.clone()) {
            self.job.visited.push(key);
        }
    }
}
