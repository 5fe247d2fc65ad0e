//! The writer's lots: the books of the member accounts this batch spent from or credited, the
//! moves, the issuers' days and the activity clocks it has not written yet, and their undo.

use std::collections::HashSet;

use super::super::StoreError;
use super::super::bulk::insert_rows;
use super::super::conn::DbConn;
use super::super::liability::{self, IssuerDay};
use super::super::lots::{ActivityClock, LotBook, LotMove, LotRecord};
use super::WriterState;

impl WriterState {
    /// The book of `account`, if this batch holds it.
    pub(in crate::store) fn lot_book(&self, account: &str) -> Option<&LotBook> {
        self.lot_books.get(account)
    }

    /// The book of `account` to change, kept for the job's undo first; made empty (holding
    /// only what this batch adds) when the batch has none.
    pub(in crate::store) fn lot_book_mut(
        &mut self,
        account: &str,
        member_id: &str,
        unit: &str,
    ) -> &mut LotBook {
        if !self.job.lot_books.iter().any(|(n, _)| n == account) {
            self.job
                .lot_books
                .push((account.to_owned(), self.lot_books.get(account).cloned()));
        }
        self.lot_books
            .entry(account.to_owned())
            .or_insert_with(|| LotBook::new(member_id, unit))
    }

    pub(in crate::store) fn push_lot_moves(&mut self, moves: impl IntoIterator<Item = LotMove>) {
        self.pending.lot_moves.extend(moves);
    }

    pub(in crate::store) fn push_issuer_day(&mut self, day: IssuerDay) {
        self.pending.issuer_days.push(day);
    }

    pub(in crate::store) fn push_activity_clock(&mut self, member_id: &str, at_us: i64) {
        self.pending
            .activity_clocks
            .push((member_id.to_owned(), at_us));
    }

    /// The chain position of entry `id`, if it is one of this batch's unwritten entries.
    pub(in crate::store) fn pending_entry_seq(&self, id: &str) -> Option<i64> {
        self.pending
            .entries
            .iter()
            .rev()
            .find(|e| e.id == id)
            .map(|e| e.seq)
    }

    /// The latest unwritten activity of `member`.
    pub(in crate::store) fn pending_last_active(&self, member: &str) -> Option<i64> {
        self.pending
            .activity_clocks
            .iter()
            .filter(|(m, _)| m == member)
            .map(|(_, at)| *at)
            .max()
    }

    /// The unwritten moves of `entry_id` on `account`, and those restoring it.
    pub(in crate::store) fn pending_moves_of(
        &self,
        entry_id: &str,
        account: &str,
    ) -> (Vec<LotMove>, Vec<LotMove>) {
        let on = |m: &&LotMove| m.account == account;
        let own = self
            .pending
            .lot_moves
            .iter()
            .filter(on)
            .filter(|m| m.entry_id == entry_id)
            .cloned()
            .collect();
        let undone = self
            .pending
            .lot_moves
            .iter()
            .filter(on)
            .filter(|m| m.restores.as_deref() == Some(entry_id))
            .cloned()
            .collect();
        (own, undone)
    }

    /// Writes the changed lots of every book but those in `skip` (the current job's, written
    /// after its savepoint).
    pub(super) fn write_lots(
        &mut self,
        conn: &mut DbConn,
        skip: &HashSet<&str>,
    ) -> Result<(), StoreError> {
        let mut names: Vec<&String> = self
            .lot_books
            .iter()
            .filter(|(n, b)| !b.dirty.is_empty() && !skip.contains(n.as_str()))
            .map(|(n, _)| n)
            .collect();
        names.sort();
        let rows: Vec<LotRecord<'_>> = names
            .iter()
            .filter_map(|n| self.lot_books.get(n.as_str()).map(|b| (n, b)))
            .flat_map(|(n, book)| {
                book.lots
                    .iter()
                    .filter(|l| book.dirty.contains(&l.lot_seq))
                    .map(move |lot| LotRecord {
                        account: n.as_str(),
                        book,
                        lot,
                    })
            })
            .collect();
        insert_rows(conn, &rows)?;
        let written: Vec<String> = names.into_iter().cloned().collect();
        for name in written {
            if let Some(book) = self.lot_books.get_mut(&name) {
                book.dirty.clear();
            }
        }
        Ok(())
    }
}

/// Writes moves, issuer days and activity clocks (`ActivityClock`: the latest per member).
pub(super) fn write_rows(
    conn: &mut DbConn,
    moves: &[LotMove],
    days: &[IssuerDay],
    clocks: &[(String, i64)],
) -> Result<(), StoreError> {
    insert_rows(conn, moves)?;
    insert_rows(conn, &liability::summed(days))?;
    let mut latest: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
    for (member, at) in clocks {
        let e = latest.entry(member.as_str()).or_insert(*at);
        *e = (*e).max(*at);
    }
    let rows: Vec<ActivityClock<'_>> = latest
        .into_iter()
        .map(|(member_id, at_us)| ActivityClock { member_id, at_us })
        .collect();
    insert_rows(conn, &rows)?;
    Ok(())
}
