//! Lots: what each credit to a member's points left, spent oldest first. The writer keeps an
//! account's lots beside its balance (`LotBook`, pure, below) and writes them with the batch;
//! the expiry sweep, the wallet and `verify` read them here.

use std::collections::BTreeMap;

use diesel::prelude::*;

use super::StoreError;
use super::bulk::{BulkRow, Value};
use super::conn::DbConn;
use super::schema::{lot_moves, lots, member_activity};

/// The most lots one expiry entry takes (the rest wait for the next sweep).
pub const MAX_LOTS_PER_EXPIRY: usize = 1000;
/// The most expiry dates the wallet lists per unit.
pub const MAX_EXPIRING_SHOWN: usize = 12;

/// One lot: `lot_seq` is the chain position of the entry that made it (0: the opening lot).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = lots)]
pub struct Lot {
    pub lot_seq: i64,
    pub earned_at_us: i64,
    /// When the lot's expiry starts counting: when it was earned, or when an expiry of it
    /// was undone.
    pub clock_us: i64,
    pub amount_minor: i64,
    pub remaining_minor: i64,
}

/// One change to one lot by one entry: negative taken, positive given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LotMove {
    pub entry_id: String,
    pub account: String,
    pub lot_seq: i64,
    pub delta_minor: i64,
    /// The entry whose moves this one undoes (a reversal's original, a release's hold).
    pub restores: Option<String>,
}

/// What an entry did to the lots of one account: `(lot_seq, delta)`.
pub type Deltas = Vec<(i64, i64)>;

/// An account's lots as the writer knows them: the open ones in spending order, and any it
/// changed in this batch (closed ones included until written).
#[derive(Debug, Clone, Default)]
pub struct LotBook {
    pub member_id: String,
    pub unit: String,
    /// Every lot read or made in this batch, in spending order (oldest earned first).
    pub lots: Vec<Lot>,
    /// The lots changed since last written, by `lot_seq`.
    pub dirty: Vec<i64>,
    /// The open lots were read from the database (otherwise `lots` holds only this batch's).
    pub loaded: bool,
}

impl LotBook {
    pub fn new(member_id: &str, unit: &str) -> Self {
        Self {
            member_id: member_id.to_owned(),
            unit: unit.to_owned(),
            ..Self::default()
        }
    }

    /// Joins lots read from the database to those this batch holds (the batch's win).
    pub fn merge(&mut self, stored: Vec<Lot>) {
        for lot in stored {
            if !self.lots.iter().any(|l| l.lot_seq == lot.lot_seq) {
                self.lots.push(lot);
            }
        }
        self.lots.sort_by_key(|l| (l.earned_at_us, l.lot_seq));
    }

    pub fn open_minor(&self) -> i64 {
        self.lots.iter().map(|l| l.remaining_minor).sum()
    }

    fn mark(&mut self, lot_seq: i64) {
        if !self.dirty.contains(&lot_seq) {
            self.dirty.push(lot_seq);
        }
    }

    fn lot_mut(&mut self, lot_seq: i64) -> Option<&mut Lot> {
        self.lots.iter_mut().find(|l| l.lot_seq == lot_seq)
    }

    /// A new lot of `amount` made by the entry at `seq`, at `at_us` (numbered by that entry, so
    /// no move records it).
    pub fn add(&mut self, seq: i64, at_us: i64, amount_minor: i64) {
        debug_assert!(amount_minor > 0);
        match self.lot_mut(seq) {
            // One entry credits an account once; a second credit (never made today) would
            // join the same lot.
            Some(lot) => {
                lot.amount_minor += amount_minor;
                lot.remaining_minor += amount_minor;
            }
            None => self.lots.push(Lot {
                lot_seq: seq,
                earned_at_us: at_us,
                clock_us: at_us,
                amount_minor,
                remaining_minor: amount_minor,
            }),
        }
        self.lots.sort_by_key(|l| (l.earned_at_us, l.lot_seq));
        self.mark(seq);
    }

    /// Takes `amount` from the lots named first (in that order, at most what each names), then
    /// oldest first. `None` if the lots hold less than `amount` (the balance rule has already
    /// refused a spend beyond the balance, so this means the lots disagree with it).
    pub fn take(&mut self, mut amount_minor: i64, first: &[(i64, i64)]) -> Option<Deltas> {
        let mut taken: Deltas = Vec::new();
        let order: Vec<(i64, i64)> = first
            .iter()
            .copied()
            .chain(self.lots.iter().map(|l| (l.lot_seq, i64::MAX)))
            .collect();
        for (seq, most) in order {
            if amount_minor == 0 {
                break;
            }
            let Some(lot) = self.lot_mut(seq) else {
                continue;
            };
            let n = lot.remaining_minor.min(most).min(amount_minor);
            if n <= 0 {
                continue;
            }
            lot.remaining_minor -= n;
            amount_minor -= n;
            match taken.iter_mut().find(|(s, _)| *s == seq) {
                Some((_, d)) => *d -= n,
                None => taken.push((seq, -n)),
            }
            self.mark(seq);
        }
        (amount_minor == 0).then_some(taken)
    }

    /// Gives back up to `amount` to the lots `owed` names (`(lot_seq, owed)`, given back in
    /// reverse: the last taken first); `restart_at_us` restarts their clocks (an expiry undone).
    /// Returns the moves and what is left of `amount` (to become a new lot).
    pub fn give_back(
        &mut self,
        mut amount_minor: i64,
        owed: &[(i64, i64)],
        restart_at_us: Option<i64>,
    ) -> (Deltas, i64) {
        let mut given: Deltas = Vec::new();
        for &(seq, most) in owed.iter().rev() {
            if amount_minor == 0 {
                break;
            }
            let n = most.min(amount_minor);
            let Some(lot) = self.lot_mut(seq).filter(|_| n > 0) else {
                continue;
            };
            lot.remaining_minor += n;
            if let Some(at) = restart_at_us {
                lot.clock_us = lot.clock_us.max(at);
            }
            amount_minor -= n;
            given.push((seq, n));
            self.mark(seq);
        }
        (given, amount_minor)
    }
}

/// What `original` took from (negative) or gave to (positive) each lot of `account`, less what
/// entries restoring it have undone since: `(lot_seq, net)` in the original's order.
pub fn net_of(original: &[LotMove], undone: &[LotMove]) -> Vec<(i64, i64)> {
    let mut net: Vec<(i64, i64)> = Vec::new();
    for m in original.iter().chain(undone) {
        match net.iter_mut().find(|(s, _)| *s == m.lot_seq) {
            Some((_, d)) => *d += m.delta_minor,
            None => net.push((m.lot_seq, m.delta_minor)),
        }
    }
    net
}

// --- rows the writer writes ---

/// A lot as the writer writes it: inserted, or its remainder and clock updated.
pub(super) struct LotRecord<'a> {
    pub account: &'a str,
    pub book: &'a LotBook,
    pub lot: &'a Lot,
}

impl BulkRow for LotRecord<'_> {
    const TABLE: &'static str = "lots";
    const COLUMNS: &'static [&'static str] = &[
        "account",
        "lot_seq",
        "member_id",
        "unit",
        "earned_at_us",
        "clock_us",
        "amount_minor",
        "remaining_minor",
    ];
    const ON_CONFLICT: &'static str = " ON CONFLICT (account, lot_seq) DO UPDATE SET \
        amount_minor = excluded.amount_minor, remaining_minor = excluded.remaining_minor, \
        clock_us = excluded.clock_us";
    fn values<'b>(&'b self, out: &mut Vec<Value<'b>>) {
        out.extend([
            Value::Text(self.account),
            Value::Int(self.lot.lot_seq),
            Value::Text(&self.book.member_id),
            Value::Text(&self.book.unit),
            Value::Int(self.lot.earned_at_us),
            Value::Int(self.lot.clock_us),
            Value::Int(self.lot.amount_minor),
            Value::Int(self.lot.remaining_minor),
        ]);
    }
}

impl BulkRow for LotMove {
    const TABLE: &'static str = "lot_moves";
    const COLUMNS: &'static [&'static str] =
        &["entry_id", "account", "lot_seq", "delta_minor", "restores"];
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            Value::Text(&self.entry_id),
            Value::Text(&self.account),
            Value::Int(self.lot_seq),
            Value::Int(self.delta_minor),
            Value::OptText(self.restores.as_deref()),
        ]);
    }
}

/// A member's last earn or spend, as the writer writes it (the latest of the batch per member).
pub(super) struct ActivityClock<'a> {
    pub member_id: &'a str,
    pub at_us: i64,
}

impl BulkRow for ActivityClock<'_> {
    const TABLE: &'static str = "member_activity";
    const COLUMNS: &'static [&'static str] = &["member_id", "last_active_us"];
    // Entries' times never run backwards along the chain: the newest is the latest.
    const ON_CONFLICT: &'static str =
        " ON CONFLICT (member_id) DO UPDATE SET last_active_us = excluded.last_active_us";
    fn values<'b>(&'b self, out: &mut Vec<Value<'b>>) {
        out.extend([Value::Text(self.member_id), Value::Int(self.at_us)]);
    }
}

// --- reads ---

/// An account's open lots as stored, in spending order.
pub(super) fn open_lots(conn: &mut DbConn, account: &str) -> Result<Vec<Lot>, StoreError> {
    Ok(lots::table
        .filter(lots::account.eq(account))
        .filter(lots::remaining_minor.gt(0))
        .order((lots::earned_at_us, lots::lot_seq))
        .select(Lot::as_select())
        .load(conn)?)
}

/// Some of an account's lots, open or not.
pub(super) fn lots_by_seq(
    conn: &mut DbConn,
    account: &str,
    seqs: &[i64],
) -> Result<Vec<Lot>, StoreError> {
    Ok(lots::table
        .filter(lots::account.eq(account))
        .filter(lots::lot_seq.eq_any(seqs))
        .select(Lot::as_select())
        .load(conn)?)
}

/// The stored moves of `entry_id` on `account`, and those of entries that restore it.
pub(super) fn moves_of(
    conn: &mut DbConn,
    entry_id: &str,
    account: &str,
) -> Result<(Vec<LotMove>, Vec<LotMove>), StoreError> {
    type Row = (String, String, i64, i64, Option<String>);
    let to_move = |(entry_id, account, lot_seq, delta_minor, restores): Row| LotMove {
        entry_id,
        account,
        lot_seq,
        delta_minor,
        restores,
    };
    let cols = (
        lot_moves::entry_id,
        lot_moves::account,
        lot_moves::lot_seq,
        lot_moves::delta_minor,
        lot_moves::restores,
    );
    let own: Vec<Row> = lot_moves::table
        .filter(lot_moves::entry_id.eq(entry_id))
        .filter(lot_moves::account.eq(account))
        .select(cols)
        .load(conn)?;
    let undone: Vec<Row> = lot_moves::table
        .filter(lot_moves::restores.eq(entry_id))
        .filter(lot_moves::account.eq(account))
        .select(cols)
        .load(conn)?;
    Ok((
        own.into_iter().map(to_move).collect(),
        undone.into_iter().map(to_move).collect(),
    ))
}

/// A member's open lots of every unit: `(unit, lot)`, in spending order per unit.
pub fn member_open_lots(
    conn: &mut DbConn,
    member_id: &str,
) -> Result<Vec<(String, Lot)>, StoreError> {
    let rows: Vec<(String, Lot)> = lots::table
        .filter(lots::member_id.eq(member_id))
        .filter(lots::remaining_minor.gt(0))
        .order((lots::unit, lots::earned_at_us, lots::lot_seq))
        .select((lots::unit, Lot::as_select()))
        .load(conn)?;
    Ok(rows)
}

/// When a member last earned or spent (`None`: never, since lots began).
pub fn last_active_us(conn: &mut DbConn, member_id: &str) -> Result<Option<i64>, StoreError> {
    Ok(member_activity::table
        .find(member_id)
        .select(member_activity::last_active_us)
        .first(conn)
        .optional()?)
}

/// A member account with lots due to expire: the account and its member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueAccount {
    pub account: String,
    pub member_id: String,
}

/// Lots read per page of the `fixed` sweep (up to this many accounts come of one page).
pub const DUE_LOTS_PER_PAGE: i64 = 1000;

/// Accounts of `unit` holding an open lot whose clock started at or before `cutoff_us`: the
/// oldest such lots first (by the `lots_open_by_unit` index, which an expired lot leaves),
/// at most `limit` accounts.
pub fn due_by_lot(
    conn: &mut DbConn,
    unit: &str,
    cutoff_us: i64,
    limit: usize,
) -> Result<Vec<DueAccount>, StoreError> {
    let rows: Vec<(String, String)> = lots::table
        .filter(lots::unit.eq(unit))
        .filter(lots::remaining_minor.gt(0))
        .filter(lots::clock_us.le(cutoff_us))
        .order((lots::clock_us, lots::account, lots::lot_seq))
        .select((lots::account, lots::member_id))
        .limit(DUE_LOTS_PER_PAGE)
        .load(conn)?;
    let mut due: Vec<DueAccount> = Vec::new();
    for (account, member_id) in rows {
        if due.len() >= limit {
            break;
        }
        if !due.iter().any(|d| d.account == account) {
            due.push(DueAccount { account, member_id });
        }
    }
    Ok(due)
}

/// Where an `inactivity` sweep is in the members, by last activity: `(last_active_us, member)`.
pub type ActivityCursor = (i64, String);

/// Members whose last earn or spend is at or before `inactive_since_us`, after `after`, at most
/// `limit` (by the `member_activity_by_time` index), and those of their accounts of `unit` holding
/// an open lot whose clock started at or before `cutoff_us` (by `lots_open_by_member`). Returns
/// the accounts and where the page ended (`None`: no member was left).
pub fn due_by_inactivity(
    conn: &mut DbConn,
    unit: &str,
    (inactive_since_us, cutoff_us): (i64, i64),
    after: Option<&ActivityCursor>,
    limit: i64,
) -> Result<(Vec<DueAccount>, Option<ActivityCursor>), StoreError> {
    let mut query = member_activity::table
        .filter(member_activity::last_active_us.le(inactive_since_us))
        .order((member_activity::last_active_us, member_activity::member_id))
        .select((member_activity::last_active_us, member_activity::member_id))
        .limit(limit)
        .into_boxed();
    if let Some((at, member)) = after {
        query = query.filter(
            member_activity::last_active_us
                .gt(*at)
                .or(member_activity::last_active_us
                    .eq(*at)
                    .and(member_activity::member_id.gt(member.clone()))),
        );
    }
    let page: Vec<(i64, String)> = query.load(conn)?;
    let Some(last) = page.last().cloned() else {
        return Ok((Vec::new(), None));
    };
    let members: Vec<&String> = page.iter().map(|(_, m)| m).collect();
    let rows: Vec<(String, String)> = lots::table
        .filter(lots::member_id.eq_any(members))
        .filter(lots::unit.eq(unit))
        .filter(lots::remaining_minor.gt(0))
        .filter(lots::clock_us.le(cutoff_us))
        .select((lots::account, lots::member_id))
        .load(conn)?;
    let mut due: Vec<DueAccount> = Vec::new();
    for (account, member_id) in rows {
        if !due.iter().any(|d| d.account == account) {
            due.push(DueAccount { account, member_id });
        }
    }
    Ok((due, Some(last)))
}

/// Forgets an erased member's lots (all spent by then: their forfeiture took what was left)
/// and activity clock. What each entry did to the lots stays, as the journal does.
pub fn erase(tx: &mut super::tx::WriteTx<'_>, member_id: &str) -> Result<(), StoreError> {
    let conn = tx.db()?;
    diesel::delete(
        lots::table
            .filter(lots::member_id.eq(member_id))
            .filter(lots::remaining_minor.eq(0)),
    )
    .execute(conn)?;
    diesel::delete(member_activity::table.find(member_id)).execute(conn)?;
    diesel::delete(
        super::schema::expiry_notices::table
            .filter(super::schema::expiry_notices::member_id.eq(member_id)),
    )
    .execute(conn)?;
    Ok(())
}

/// Per member account with open lots: their remainders summed, for `verify`.
pub fn open_sums(conn: &mut DbConn) -> Result<BTreeMap<String, i64>, StoreError> {
    let rows: Vec<(String, i64)> = lots::table
        .filter(lots::remaining_minor.gt(0))
        .select((lots::account, lots::remaining_minor))
        .load(conn)?;
    let mut sums = BTreeMap::new();
    for (account, minor) in rows {
        *sums.entry(account).or_insert(0) += minor;
    }
    Ok(sums)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> LotBook {
        let mut b = LotBook::new("m", "AROMA");
        b.add(5, 500, 30);
        b.add(2, 200, 10);
        b.add(9, 900, 50);
        b
    }

    #[test]
    fn spends_take_the_oldest_lots_first() {
        let mut b = book();
        assert_eq!(b.take(25, &[]), Some(vec![(2, -10), (5, -15)]));
        assert_eq!(b.open_minor(), 65);
        // More than the lots hold is refused and reported, never taken in part silently.
        let mut c = book();
        assert_eq!(c.take(91, &[]), None);
    }

    #[test]
    fn a_reversal_of_an_earn_takes_back_its_own_lot_first() {
        let mut b = book();
        assert_eq!(b.take(55, &[(9, 50)]), Some(vec![(9, -50), (2, -5)]));
    }

    #[test]
    fn giving_back_restores_the_last_taken_first_and_can_restart_clocks() {
        let mut b = book();
        let taken = b.take(25, &[]).unwrap();
        let owed: Vec<(i64, i64)> = taken.iter().map(|&(s, d)| (s, -d)).collect();
        let (given, left) = b.give_back(20, &owed, Some(1000));
        assert_eq!((given, left), (vec![(5, 15), (2, 5)], 0));
        let lot2 = b.lots.iter().find(|l| l.lot_seq == 2).unwrap();
        assert_eq!((lot2.remaining_minor, lot2.clock_us), (5, 1000));
        // What is owed bounds what comes back: the rest becomes a new lot.
        let (_, left) = b.give_back(30, &[(2, 5)], None);
        assert_eq!(left, 25);
    }

    #[test]
    fn net_moves_subtract_what_was_undone() {
        let m = |seq, d| LotMove {
            entry_id: "e".into(),
            account: "a".into(),
            lot_seq: seq,
            delta_minor: d,
            restores: None,
        };
        assert_eq!(
            net_of(&[m(2, -10), m(5, -15)], &[m(5, 15)]),
            vec![(2, -10), (5, 0)]
        );
    }
}
