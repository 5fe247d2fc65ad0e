//! Settlement cycles: the chain range each closes, positions, obligations, payments; and the
//! money lines behind them, read with one aggregate query per cycle.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::schema::{entries, settlement_obligations, settlement_positions, settlements};
use super::status::SettlementStatus;
use super::tx::WriteTx;
use super::{DbConn, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = settlements)]
pub struct SettlementRow {
    pub id: String,
    pub cutoff_us: i64,
    pub first_seq: i64,
    pub last_seq: i64,
    pub currency: String,
    #[diesel(serialize_as = String, deserialize_as = String)]
    pub status: SettlementStatus,
    pub created_at_us: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = settlement_positions)]
pub struct PositionRow {
    pub settlement_id: String,
    pub party: String,
    pub net_minor: i64,
    pub paid_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = settlement_obligations)]
pub struct ObligationRow {
    pub settlement_id: String,
    pub debtor: String,
    pub creditor: String,
    pub amount_minor: i64,
}

/// A settlement with its positions and obligations.
#[derive(Debug, Clone)]
pub struct Settlement {
    pub row: SettlementRow,
    pub positions: Vec<PositionRow>,
    pub obligations: Vec<ObligationRow>,
}

/// One money line of an entry in a cycle's range.
#[derive(Debug, Clone, QueryableByName)]
pub struct MoneyLine {
    #[diesel(sql_type = BigInt)]
    pub seq: i64,
    #[diesel(sql_type = Text)]
    pub entry_id: String,
    #[diesel(sql_type = BigInt)]
    pub created_at_us: i64,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub reference: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub member: Option<String>,
    #[diesel(sql_type = Text)]
    pub account: String,
    #[diesel(sql_type = BigInt)]
    pub amount_minor: i64,
}

/// The settlement and fee lines of every entry in `(after_seq, up_to_seq]`, in chain order,
/// leaving out the settlement entries themselves. `account` narrows it to one account.
pub fn money_lines(
    conn: &mut DbConn,
    after_seq: i64,
    up_to_seq: i64,
    currency: &str,
    account: Option<&[String]>,
) -> Result<Vec<MoneyLine>, StoreError> {
    // Only integers and names the ledger itself produced (validated ids) reach this text, so
    // it is built rather than bound: placeholders differ between the two backends.
    let safe = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-:".contains(&b))
    };
    if !safe(currency) || account.is_some_and(|a| !a.iter().all(|x| safe(x))) {
        return Err(StoreError::Database(
            "refusing an unexpected account name".into(),
        ));
    }
    let accounts = match account {
        Some(list) => format!(
            "p.account IN ({})",
            list.iter()
                .map(|a| format!("'{a}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => format!(
            "(p.account LIKE 'settlement:%:{currency}' OR p.account = 'network:fees:{currency}')"
        ),
    };
    let sql = format!(
        "SELECT e.seq AS seq, e.id AS entry_id, e.created_at_us AS created_at_us, e.kind AS kind, \
         e.reference AS reference, e.member AS member, p.account AS account, p.amount_minor AS amount_minor \
         FROM postings p JOIN entries e ON e.seq = p.entry_seq \
         WHERE p.entry_seq > {after_seq} AND p.entry_seq <= {up_to_seq} AND e.kind <> 'settlement' AND {accounts} \
         ORDER BY p.entry_seq, p.line"
    );
    Ok(diesel::sql_query(sql).load(conn)?)
}

/// The last chain position created at or before `cutoff_us` (0 for none).
pub fn last_seq_at(tx: &mut WriteTx<'_>, cutoff_us: i64) -> Result<i64, StoreError> {
    let seq: Option<i64> = entries::table
        .filter(entries::created_at_us.le(cutoff_us))
        .select(diesel::dsl::max(entries::seq))
        .first(tx.db()?)?;
    Ok(seq.unwrap_or(0))
}

fn load(conn: &mut DbConn, row: SettlementRow) -> Result<Settlement, StoreError> {
    let positions = settlement_positions::table
        .filter(settlement_positions::settlement_id.eq(&row.id))
        .order(settlement_positions::party)
        .select(PositionRow::as_select())
        .load(conn)?;
    let obligations = settlement_obligations::table
        .filter(settlement_obligations::settlement_id.eq(&row.id))
        .order((
            settlement_obligations::debtor,
            settlement_obligations::creditor,
        ))
        .select(ObligationRow::as_select())
        .load(conn)?;
    Ok(Settlement {
        row,
        positions,
        obligations,
    })
}

pub fn by_id(conn: &mut DbConn, id: &str) -> Result<Option<Settlement>, StoreError> {
    let row: Option<SettlementRow> = settlements::table
        .find(id)
        .select(SettlementRow::as_select())
        .first(conn)
        .optional()?;
    row.map(|r| load(conn, r)).transpose()
}

pub fn by_id_tx(tx: &mut WriteTx<'_>, id: &str) -> Result<Option<Settlement>, StoreError> {
    by_id(tx.db()?, id)
}

pub fn by_cutoff_tx(
    tx: &mut WriteTx<'_>,
    cutoff_us: i64,
) -> Result<Option<Settlement>, StoreError> {
    let row: Option<SettlementRow> = settlements::table
        .filter(settlements::cutoff_us.eq(cutoff_us))
        .select(SettlementRow::as_select())
        .first(tx.db()?)
        .optional()?;
    row.map(|r| load(tx.db()?, r)).transpose()
}

pub fn latest_tx(tx: &mut WriteTx<'_>) -> Result<Option<SettlementRow>, StoreError> {
    Ok(settlements::table
        .order(settlements::cutoff_us.desc())
        .select(SettlementRow::as_select())
        .first(tx.db()?)
        .optional()?)
}

/// Settlements after `after_cutoff_us`, oldest first.
pub fn list(
    conn: &mut DbConn,
    after_cutoff_us: i64,
    limit: i64,
) -> Result<Vec<Settlement>, StoreError> {
    let rows: Vec<SettlementRow> = settlements::table
        .filter(settlements::cutoff_us.gt(after_cutoff_us))
        .order(settlements::cutoff_us)
        .limit(limit)
        .select(SettlementRow::as_select())
        .load(conn)?;
    rows.into_iter().map(|r| load(conn, r)).collect()
}

pub fn insert(tx: &mut WriteTx<'_>, s: &Settlement) -> Result<(), StoreError> {
    diesel::insert_into(settlements::table)
        .values(s.row.clone())
        .execute(tx.db()?)?;
    for p in &s.positions {
        diesel::insert_into(settlement_positions::table)
            .values(p)
            .execute(tx.db()?)?;
    }
    for o in &s.obligations {
        diesel::insert_into(settlement_obligations::table)
            .values(o)
            .execute(tx.db()?)?;
    }
    Ok(())
}

/// Records a payment on a position and the settlement's resulting status.
pub fn record_payment(
    tx: &mut WriteTx<'_>,
    id: &str,
    party: &str,
    amount_minor: i64,
    status: SettlementStatus,
) -> Result<(), StoreError> {
    diesel::update(settlement_positions::table.find((id, party)))
        .set(settlement_positions::paid_minor.eq(settlement_positions::paid_minor + amount_minor))
        .execute(tx.db()?)?;
    diesel::update(settlements::table.find(id))
        .set(settlements::status.eq(status.as_str()))
        .execute(tx.db()?)?;
    Ok(())
}

/// Each settlement's id and the sum of its nets (zero for every sound one).
pub fn net_sums(conn: &mut DbConn) -> Result<Vec<(String, i64)>, StoreError> {
    let rows: Vec<(String, i64)> = settlement_positions::table
        .select((
            settlement_positions::settlement_id,
            settlement_positions::net_minor,
        ))
        .load(conn)?;
    let mut sums: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    for (id, net) in rows {
        let s = sums.entry(id).or_insert(0);
        *s = s.saturating_add(net);
    }
    let ids: Vec<String> = settlements::table.select(settlements::id).load(conn)?;
    Ok(ids
        .into_iter()
        .map(|id| {
            let sum = sums.get(&id).copied().unwrap_or(0);
            (id, sum)
        })
        .collect())
}

impl WriteTx<'_> {
    /// [`money_lines`] inside a write (the settlement job).
    pub fn money_lines(
        &mut self,
        after_seq: i64,
        up_to_seq: i64,
        currency: &str,
    ) -> Result<Vec<MoneyLine>, StoreError> {
        money_lines(self.db_read()?, after_seq, up_to_seq, currency, None)
    }
}
