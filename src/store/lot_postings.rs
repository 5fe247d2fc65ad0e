//! What each posting does beyond its balance: on a member's account, to the account's lots
//! (spent oldest first, given back exactly by reversals, voids and releases); on an issuer's
//! account, to the liability report's day; and to the member's activity clock. Run by
//! [`WriteTx::post_with`] for every entry, in the entry's write.

use diesel::prelude::*;

use super::StoreError;
use super::liability::IssuerDay;
use super::lots::{self, Deltas, LotMove, net_of};
use super::schema::entries;
use super::tx::WriteTx;
use crate::ledger::flows::{day_of, issuer_flow};
use crate::ledger::{EntryId, EntryKind, RawEntry};

/// How an entry's postings on members' accounts treat their lots.
#[derive(Debug, Clone, Copy)]
pub enum LotPlan<'a> {
    /// Debits spend oldest first; credits make a new lot. An entry that reverses another gives
    /// back what the original took, and takes back first what the original gave.
    Usual,
    /// As `Usual`, and credits give back what this entry took (a hold's release: its capture,
    /// void or lapse).
    Restore(EntryId),
    /// An expiry undone: credits give back what the expiry took and restart those lots' clocks.
    Reinstate,
    /// An expiry: the debit takes exactly these lots (`(lot_seq, points)`).
    Take(&'a [(i64, i64)]),
}

/// The kinds by which a member is active for the `inactivity` expiry policy: an earn or a spend.
fn makes_active(kind: EntryKind) -> bool {
    use EntryKind as K;
    matches!(
        kind,
        K::Earn | K::Redemption | K::Hold | K::RewardClaim | K::Conversion | K::Donation
    )
}

/// `member:{member}:{UNIT}` → `(member, unit)`.
fn member_account(account: &str) -> Option<(&str, &str)> {
    account.strip_prefix("member:")?.rsplit_once(':')
}

impl WriteTx<'_> {
    /// Keeps lots, issuer days and the activity clock for `raw`, about to join the batch.
    pub(super) fn keep_lots(
        &mut self,
        raw: &RawEntry,
        plan: LotPlan<'_>,
    ) -> Result<(), StoreError> {
        let kind: EntryKind = raw
            .kind
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("entry kind {}", raw.kind)))?;
        let source: Option<String> = match plan {
            LotPlan::Restore(id) => Some(id.to_string()),
            _ => raw.reverses.clone(),
        };
        for p in &raw.postings {
            if p.account.starts_with("issuer:") {
                let flow = issuer_flow(kind, p.amount_minor, matches!(plan, LotPlan::Reinstate));
                self.state.push_issuer_day(IssuerDay {
                    account: p.account.clone(),
                    unit: p.unit.clone(),
                    day: day_of(raw.created_at_us),
                    flow,
                });
                continue;
            }
            let Some((member, unit)) = member_account(&p.account) else {
                continue;
            };
            let deltas = if p.amount_minor > 0 {
                self.spend_lots(raw, &p.account, (member, unit), p.amount_minor, plan)?
            } else {
                let credit = (-p.amount_minor, source.as_deref());
                self.credit_lots(raw, &p.account, (member, unit), credit, plan)?
            };
            let restores = if p.amount_minor > 0 && matches!(plan, LotPlan::Take(_)) {
                None
            } else {
                source.clone()
            };
            self.state
                .push_lot_moves(deltas.into_iter().map(|(lot_seq, delta_minor)| LotMove {
                    entry_id: raw.id.clone(),
                    account: p.account.clone(),
                    lot_seq,
                    delta_minor,
                    restores: restores.clone(),
                }));
        }
        if let (Some(member), true) = (raw.member.as_deref(), makes_active(kind)) {
            self.state.push_activity_clock(member, raw.created_at_us);
        }
        Ok(())
    }

    fn spend_lots(
        &mut self,
        raw: &RawEntry,
        account: &str,
        (member, unit): (&str, &str),
        amount_minor: i64,
        plan: LotPlan<'_>,
    ) -> Result<Deltas, StoreError> {
        let first: Vec<(i64, i64)> = match (plan, raw.reverses.as_deref()) {
            (LotPlan::Take(lots), _) => lots.to_vec(),
            // A reversal of an earn takes back the earn's own lot first: the lot it made
            // (numbered by its chain position), then any it gave back to.
            (_, Some(original)) => {
                let mut first: Vec<(i64, i64)> = self
                    .seq_of(original)?
                    .map(|seq| (seq, i64::MAX))
                    .into_iter()
                    .collect();
                first.extend(
                    self.net_moves(original, account)?
                        .into_iter()
                        .filter(|(_, net)| *net > 0),
                );
                first
            }
            _ => Vec::new(),
        };
        let seqs: Vec<i64> = first.iter().map(|(s, _)| *s).collect();
        self.load_lots(account, (member, unit), true, &seqs)?;
        let book = self.state.lot_book_mut(account, member, unit);
        book.take(amount_minor, &first).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "the lots of {account} hold {}, less than the {amount_minor} entry {} spends",
                book.open_minor(),
                raw.id
            ))
        })
    }

    fn credit_lots(
        &mut self,
        raw: &RawEntry,
        account: &str,
        (member, unit): (&str, &str),
        (amount_minor, source): (i64, Option<&str>),
        plan: LotPlan<'_>,
    ) -> Result<Deltas, StoreError> {
        let mut deltas = Vec::new();
        let mut left = amount_minor;
        if let Some(original) = source {
            let owed: Vec<(i64, i64)> = self
                .net_moves(original, account)?
                .into_iter()
                .filter(|(_, net)| *net < 0)
                .map(|(seq, net)| (seq, -net))
                .collect();
            if !owed.is_empty() {
                let seqs: Vec<i64> = owed.iter().map(|(s, _)| *s).collect();
                self.load_lots(account, (member, unit), false, &seqs)?;
                let restart = matches!(plan, LotPlan::Reinstate).then_some(raw.created_at_us);
                let book = self.state.lot_book_mut(account, member, unit);
                let (given, rest) = book.give_back(left, &owed, restart);
                deltas = given;
                left = rest;
            }
        }
        if left > 0 {
            // A new lot is numbered by the entry that made it: no move needs recording.
            let book = self.state.lot_book_mut(account, member, unit);
            book.add(raw.seq, raw.created_at_us, left);
        }
        Ok(deltas)
    }

    /// The chain position of entry `id` (this batch's or stored).
    fn seq_of(&mut self, id: &str) -> Result<Option<i64>, StoreError> {
        if let Some(seq) = self.state.pending_entry_seq(id) {
            return Ok(Some(seq));
        }
        // Stored: by the entries' unique index on `id`.
        Ok(entries::table
            .filter(entries::id.eq(id))
            .select(entries::seq)
            .first(self.conn_unsynced())
            .optional()?)
    }

    /// What `original` did to each lot of `account`, less what was undone since.
    fn net_moves(&mut self, original: &str, account: &str) -> Result<Vec<(i64, i64)>, StoreError> {
        let (mut own, mut undone) = lots::moves_of(self.conn_unsynced(), original, account)?;
        let (p_own, p_undone) = self.state.pending_moves_of(original, account);
        own.extend(p_own);
        undone.extend(p_undone);
        Ok(net_of(&own, &undone))
    }

    /// Reads into the batch's book what it lacks: the open lots (`open`), and `seqs`.
    fn load_lots(
        &mut self,
        account: &str,
        (member, unit): (&str, &str),
        open: bool,
        seqs: &[i64],
    ) -> Result<(), StoreError> {
        let held = self.state.lot_book(account);
        let need_open = open && !held.is_some_and(|b| b.loaded);
        let missing: Vec<i64> = seqs
            .iter()
            .copied()
            .filter(|s| !held.is_some_and(|b| b.lots.iter().any(|l| l.lot_seq == *s)))
            .collect();
        if !need_open && missing.is_empty() {
            return Ok(());
        }
        // A book not held has no unwritten rows: the table is as the batch left it.
        let mut stored = if need_open {
            lots::open_lots(self.conn_unsynced(), account)?
        } else {
            Vec::new()
        };
        if !missing.is_empty() {
            stored.extend(lots::lots_by_seq(self.conn_unsynced(), account, &missing)?);
        }
        let book = self.state.lot_book_mut(account, member, unit);
        book.merge(stored);
        book.loaded |= need_open;
        Ok(())
    }
}

impl WriteTx<'_> {
    /// The open lots of a member's account as this batch knows them, in spending order.
    pub fn open_lots(&mut self, account: &str) -> Result<Vec<super::lots::Lot>, StoreError> {
        let Some((member, unit)) = member_account(account) else {
            return Ok(Vec::new());
        };
        self.load_lots(account, (member, unit), true, &[])?;
        Ok(self
            .state
            .lot_book(account)
            .map(|b| {
                b.lots
                    .iter()
                    .filter(|l| l.remaining_minor > 0)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }

    /// When `member` last earned or spent, with this batch's entries.
    pub fn last_active_us(&mut self, member: &str) -> Result<Option<i64>, StoreError> {
        let pending = self.state.pending_last_active(member);
        let stored = lots::last_active_us(self.conn_unsynced(), member)?;
        Ok(pending.max(stored))
    }
}
