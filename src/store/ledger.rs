//! Ledger rows: appending entries with their balance changes, and reading them back.

use std::collections::BTreeMap;

use diesel::prelude::*;

use super::StoreError;
use super::conn::DbConn;
use super::dialect;
use super::lot_postings::LotPlan;
use super::rows::Head;
use super::schema::{accounts, entries, postings};
use super::tx::WriteTx;
use super::writer::CachedAccount;
use crate::ledger::flows::{FlowTally, lots_check};
use crate::ledger::{
    Account, BalancedEntry, ChainHash, Check, CommittedEntry, EntryId, RawBalance, RawEntry,
    RawPosting, Units, Verifier, apply_posting,
};

/// The most entries one page of a chain walk reads.
pub const MAX_ENTRIES_PER_PAGE: i64 = 1000;

#[derive(Queryable, Selectable)]
#[diesel(table_name = entries)]
struct EntryRow {
    seq: i64,
    id: String,
    kind: String,
    created_at_us: i64,
    partner: Option<String>,
    member: Option<String>,
    reference: Option<String>,
    reverses: Option<String>,
    key_id: Option<String>,
    signature: Option<String>,
    memo: Option<String>,
    prev_hash: String,
    hash: String,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = postings)]
struct PostingRow {
    entry_seq: i64,
    account: String,
    unit: String,
    amount_minor: i64,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = accounts)]
struct AccountRow {
    name: String,
    unit: String,
    balance_minor: i64,
}

/// The chain's last entry, read inside the writer's transaction.
pub(super) fn read_head(conn: &mut DbConn) -> Result<Head, StoreError> {
    let last: Option<(i64, String, i64)> = entries::table
        .select((entries::seq, entries::hash, entries::created_at_us))
        .order(entries::seq.desc())
        .first(conn)
        .optional()?;
    match last {
        None => Ok(Head::EMPTY),
        Some((seq, hash, created_at_us)) => {
            let hash: ChainHash = hash.parse().map_err(|e| {
                StoreError::Corrupt(format!("entry #{seq} carries a malformed hash: {e}"))
            })?;
            Ok(Head {
                seq,
                hash,
                created_at_us,
            })
        }
    }
}

impl WriteTx<'_> {
    /// Appends an entry at the head of the chain and applies its postings to the balances, all
    /// inside the batch's transaction. Refused without a trace if any balance rule fails.
    pub fn post(&mut self, entry: BalancedEntry) -> Result<CommittedEntry, StoreError> {
        self.post_with(entry, LotPlan::Usual)
    }

    /// [`post`](Self::post), with what the entry does to members' lots said (`LotPlan`).
    pub fn post_with(
        &mut self,
        entry: BalancedEntry,
        plan: LotPlan<'_>,
    ) -> Result<CommittedEntry, StoreError> {
        let head = self.state.head;
        let seq = head.seq + 1;
        // Times never run backwards along the chain, even if the clock does.
        let created_at_us = self.now_us().max(head.created_at_us);
        let committed = entry.commit(EntryId::new_v7(), seq, created_at_us, head.hash);
        let raw = committed.to_raw();
        // Checked again here, on the exact rows about to be written.
        if let Some((unit, sum)) = raw.imbalance() {
            return Err(StoreError::Corrupt(format!(
                "refusing entry off by {sum} in {unit}"
            )));
        }

        // Every new balance is worked out before any is changed: a refusal changes nothing.
        let mut next: Vec<(String, i64)> = Vec::with_capacity(committed.postings.len());
        for p in &committed.postings {
            let name = p.account.to_string();
            let current = match next.iter().rev().find(|(n, _)| *n == name) {
                Some((_, b)) => *b,
                None => self.balance_for_update(&name, &p.account)?,
            };
            next.push((name, apply_posting(&p.account, current, p.amount)?));
        }
        for (name, balance) in &next {
            self.state.set_balance(name, *balance)?;
        }
        self.keep_lots(&raw, plan)?;

        self.state.push_entry(raw);
        self.state.head = Head {
            seq,
            hash: committed.hash,
            created_at_us,
        };
        Ok(committed)
    }

    /// An account's balance, signed (debit positive), with this batch's postings.
    pub fn balance(&mut self, account: &Account) -> Result<i64, StoreError> {
        self.balance_for_update(&account.to_string(), account)
    }

    /// An account's balance as the writer knows it, read from the database the first time.
    fn balance_for_update(&mut self, name: &str, account: &Account) -> Result<i64, StoreError> {
        if let Some(cached) = self.state.cached_account(name) {
            return Ok(cached.balance_minor);
        }
        // Balances are never pending unless cached, so the table can be read as it is.
        let stored: Option<i64> = accounts::table
            .select(accounts::balance_minor)
            .find(name)
            .first(self.conn_unsynced())
            .optional()?;
        self.state.remember_account(
            name.to_owned(),
            CachedAccount::loaded(account.kind().as_str(), account.unit().to_string(), stored),
        );
        Ok(stored.unwrap_or(0))
    }
}

/// Attaches postings to entry rows, keeping chain order.
fn with_postings(conn: &mut DbConn, rows: Vec<EntryRow>) -> Result<Vec<RawEntry>, StoreError> {
    let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
    let mut by_entry: BTreeMap<i64, Vec<RawPosting>> = BTreeMap::new();
    let lines: Vec<PostingRow> = postings::table
        .filter(postings::entry_seq.eq_any(&seqs))
        .order((postings::entry_seq, postings::line))
        .select(PostingRow::as_select())
        .load(conn)?;
    for l in lines {
        by_entry.entry(l.entry_seq).or_default().push(RawPosting {
            account: l.account,
            unit: l.unit,
            amount_minor: l.amount_minor,
        });
    }
    Ok(rows
        .into_iter()
        .map(|r| RawEntry {
            postings: by_entry.remove(&r.seq).unwrap_or_default(),
            id: r.id,
            seq: r.seq,
            kind: r.kind,
            created_at_us: r.created_at_us,
            partner: r.partner,
            member: r.member,
            reference: r.reference,
            reverses: r.reverses,
            key_id: r.key_id,
            signature: r.signature,
            memo: r.memo,
            prev_hash: r.prev_hash,
            hash: r.hash,
        })
        .collect())
}

/// Entries after chain position `after_seq`, in chain order, as stored.
pub fn raw_entries_after(
    conn: &mut DbConn,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<RawEntry>, StoreError> {
    let rows: Vec<EntryRow> = entries::table
        .filter(entries::seq.gt(after_seq))
        .order(entries::seq)
        .limit(limit.clamp(1, MAX_ENTRIES_PER_PAGE))
        .select(EntryRow::as_select())
        .load(conn)?;
    with_postings(conn, rows)
}

/// [`raw_entries_after`] inside a write: what the batch wrote so far included.
pub fn raw_entries_after_tx(
    tx: &mut WriteTx<'_>,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<RawEntry>, StoreError> {
    raw_entries_after(tx.db_read()?, after_seq, limit)
}

/// One entry by id, checked as it is read back.
pub fn entry_by_id(
    conn: &mut DbConn,
    id: EntryId,
    units: &Units,
) -> Result<Option<CommittedEntry>, StoreError> {
    let rows: Vec<EntryRow> = entries::table
        .filter(entries::id.eq(id.to_string()))
        .select(EntryRow::as_select())
        .load(conn)?;
    let Some(raw) = with_postings(conn, rows)?.pop() else {
        return Ok(None);
    };
    Ok(Some(CommittedEntry::from_raw(&raw, units)?))
}

/// Every stored balance, signed, debit positive.
pub fn all_balances(conn: &mut DbConn) -> Result<Vec<RawBalance>, StoreError> {
    let rows: Vec<AccountRow> = accounts::table
        .order(accounts::name)
        .select(AccountRow::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| RawBalance {
            account: r.name,
            unit: r.unit,
            balance_minor: r.balance_minor,
        })
        .collect())
}

/// One account's balance in minor units, signed, debit positive (zero if never posted to).
pub fn balance_of(conn: &mut DbConn, account: &str) -> Result<i64, StoreError> {
    let balance: Option<i64> = accounts::table
        .select(accounts::balance_minor)
        .find(account)
        .first(conn)
        .optional()?;
    Ok(balance.unwrap_or(0))
}

/// How many entries the chain holds.
pub fn entry_count(conn: &mut DbConn) -> Result<i64, StoreError> {
    Ok(entries::table.count().get_result(conn)?)
}

/// Runs every ledger invariant over one consistent snapshot: the whole chain, page by page,
/// then every balance.
pub fn verify(conn: &mut DbConn, units: &Units) -> Result<Vec<Check>, StoreError> {
    dialect::begin_snapshot(conn)?;
    let walk = |conn: &mut DbConn| -> Result<Vec<Check>, StoreError> {
        let mut verifier = Verifier::new(units);
        let mut flows = FlowTally::default();
        let mut after = 0;
        loop {
            let page = raw_entries_after(conn, after, MAX_ENTRIES_PER_PAGE)?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for e in &page {
                verifier.entry(e);
                flows.entry(e);
            }
        }
        let balances = all_balances(conn)?;
        let mut checks = verifier.finish(&balances);
        checks.push(lots_check(&super::lots::open_sums(conn)?, &balances));
        checks.push(flows.check(&super::liability::all_days(conn)?, &balances));
        checks.push(crate::ledger::invariants::settlements_check(
            &super::settlements::net_sums(conn)?,
        ));
        Ok(checks)
    };
    let checks = walk(conn);
    // Read-only: ending it either way changes nothing.
    let end = if checks.is_ok() {
        dialect::commit(conn)
    } else {
        dialect::rollback(conn)
    };
    let checks = checks?;
    end?;
    Ok(checks)
}

impl WriteTx<'_> {
    /// One entry, read inside the write (so it sees what this batch wrote).
    pub fn entry(
        &mut self,
        id: EntryId,
        units: &Units,
    ) -> Result<Option<CommittedEntry>, StoreError> {
        entry_by_id(self.db_read()?, id, units)
    }

    /// Per account, the sum of the postings of every entry that reverses `original`.
    pub fn reversed_sums(
        &mut self,
        original: EntryId,
    ) -> Result<BTreeMap<String, i64>, StoreError> {
        let seqs: Vec<i64> = entries::table
            .filter(entries::reverses.eq(original.to_string()))
            .select(entries::seq)
            .load(self.db_read()?)?;
        let lines: Vec<(String, i64)> = postings::table
            .filter(postings::entry_seq.eq_any(&seqs))
            .select((postings::account, postings::amount_minor))
            .load(self.db_read()?)?;
        let mut sums = BTreeMap::new();
        for (account, amount) in lines {
            *sums.entry(account).or_insert(0) += amount;
        }
        Ok(sums)
    }
}

/// Filters for a partner's entry listing.
#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    /// Only this partner's entries; every partner's when `None` (a member's own listing).
    pub partner: Option<String>,
    pub kind: Option<String>,
    pub member: Option<String>,
    pub since_us: Option<i64>,
    /// Only entries created before this time.
    pub until_us: Option<i64>,
    /// Only entries with this partner reference (by the `entries_by_reference` index).
    pub reference: Option<String>,
}

/// A partner's entries after chain position `after_seq`, oldest first.
pub fn entries_for(
    conn: &mut DbConn,
    filter: &EntryFilter,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<RawEntry>, StoreError> {
    let mut query = entries::table
        .filter(entries::seq.gt(after_seq))
        .into_boxed();
    if let Some(partner) = &filter.partner {
        query = query.filter(entries::partner.eq(partner));
    }
    if let Some(kind) = &filter.kind {
        query = query.filter(entries::kind.eq(kind));
    }
    if let Some(member) = &filter.member {
        query = query.filter(entries::member.eq(member));
    }
    if let Some(since) = filter.since_us {
        query = query.filter(entries::created_at_us.ge(since));
    }
    if let Some(until) = filter.until_us {
        query = query.filter(entries::created_at_us.lt(until));
    }
    if let Some(reference) = &filter.reference {
        query = query.filter(entries::reference.eq(reference));
    }
    let rows: Vec<EntryRow> = query
        .order(entries::seq)
        .limit(limit.clamp(1, MAX_ENTRIES_PER_PAGE))
        .select(EntryRow::as_select())
        .load(conn)?;
    with_postings(conn, rows)
}

/// A member's point balances: unit and signed balance (a holding is negative: a credit), for
/// the member's accounts in `accounts_named` (one per unit of the network; those never used do
/// not exist and are left out). Looked up by name, one probe of the key each: a name pattern
/// (`LIKE 'member:…:%'`) scanned every member account on both backends.
pub fn member_balances(
    conn: &mut DbConn,
    accounts_named: &[String],
) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(accounts::table
        .filter(accounts::kind.eq("member"))
        .filter(accounts::name.eq_any(accounts_named))
        .order(accounts::unit)
        .select((accounts::unit, accounts::balance_minor))
        .load(conn)?)
}

/// The issuers' accounts of `units` (`issuer:{party}:{UNIT}`), by the `(unit, kind)` index:
/// what each issuer has outstanding, one row per issuer and unit.
pub fn issuer_balances(
    conn: &mut DbConn,
    units: &[String],
) -> Result<Vec<(String, String, i64)>, StoreError> {
    Ok(accounts::table
        .filter(accounts::unit.eq_any(units))
        .filter(accounts::kind.eq("issuer"))
        .order((accounts::unit, accounts::name))
        .select((accounts::name, accounts::unit, accounts::balance_minor))
        .load(conn)?)
}

/// Every account balance in one consistent read, for the trial balance.
pub fn balances_snapshot(conn: &mut DbConn) -> Result<Vec<RawBalance>, StoreError> {
    dialect::begin_snapshot(conn)?;
    let result = all_balances(conn);
    let end = if result.is_ok() {
        dialect::commit(conn)
    } else {
        dialect::rollback(conn)
    };
    let balances = result?;
    end?;
    Ok(balances)
}
