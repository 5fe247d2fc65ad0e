//! Touch points: each interaction a partner reports (append-only), its count per member, brand,
//! kind and day (what segments read), and the awards of interaction rules per day (their caps).

use diesel::prelude::*;

use super::activity::{Activity, day_of};
use super::bulk::{BulkRow, Value, insert_rows};
use super::schema::{interaction_awards, interactions, member_interaction_days};
use super::tx::WriteTx;
use super::{DbConn, StoreError};

/// The most interactions one page of a rebuild or an export reads.
pub const MAX_INTERACTIONS_PAGE: i64 = 1_000;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = interactions)]
pub struct InteractionRow {
    pub id: String,
    pub partner: String,
    pub member_id: String,
    pub kind: String,
    pub reference: String,
    pub at_us: i64,
    pub occurred_at: Option<String>,
    pub entry_id: Option<String>,
}

impl InteractionRow {
    /// What the interaction adds to the behaviour profile: a visit.
    pub fn activity(&self) -> Activity {
        Activity {
            member_id: self.member_id.clone(),
            partner: self.partner.clone(),
            at_us: self.at_us,
            visits: 1,
            spend_minor: 0,
            earned_minor: 0,
            redeemed_minor: 0,
        }
    }
}

/// One to add to a member's count of interactions of a kind at a brand on a day.
struct DayCount<'a> {
    row: &'a InteractionRow,
    day: i32,
}

impl BulkRow for DayCount<'_> {
    const TABLE: &'static str = "member_interaction_days";
    const COLUMNS: &'static [&'static str] = &["member_id", "partner", "kind", "day", "count"];
    const ON_CONFLICT: &'static str = " ON CONFLICT (member_id, partner, kind, day) DO UPDATE \
        SET count = member_interaction_days.count + excluded.count";
    fn values<'b>(&'b self, out: &mut Vec<Value<'b>>) {
        out.extend([
            Value::Text(&self.row.member_id),
            Value::Text(&self.row.partner),
            Value::Text(&self.row.kind),
            Value::Int32(self.day),
            Value::Int(1),
        ]);
    }
}

/// One award of an interaction rule to count.
struct Award<'a> {
    member_id: &'a str,
    partner: &'a str,
    rule_id: &'a str,
    day: i32,
}

impl BulkRow for Award<'_> {
    const TABLE: &'static str = "interaction_awards";
    const COLUMNS: &'static [&'static str] = &["member_id", "partner", "rule_id", "day", "awards"];
    const ON_CONFLICT: &'static str = " ON CONFLICT (member_id, partner, rule_id, day) DO UPDATE \
        SET awards = interaction_awards.awards + excluded.awards";
    fn values<'b>(&'b self, out: &mut Vec<Value<'b>>) {
        out.extend([
            Value::Text(self.member_id),
            Value::Text(self.partner),
            Value::Text(self.rule_id),
            Value::Int32(self.day),
            Value::Int(1),
        ]);
    }
}

/// Adds one to the day's count of the member's interactions of this kind at this brand.
fn count_tx(conn: &mut DbConn, row: &InteractionRow) -> Result<(), StoreError> {
    insert_rows(
        conn,
        &[DayCount {
            row,
            day: day_of(row.at_us),
        }],
    )
}

/// Records an interaction in the write: the row, its day's count, and a visit in the profile
/// (through the writer, like an entry's activity).
pub fn record_tx(tx: &mut WriteTx<'_>, row: &InteractionRow) -> Result<(), StoreError> {
    let conn = tx.db()?;
    diesel::insert_into(interactions::table)
        .values(row)
        .execute(conn)?;
    count_tx(conn, row)?;
    tx.state.push_activity(row.activity());
    Ok(())
}

/// How many times interaction rule `rule_id` awarded the member at `partner` on `day`.
pub fn awards_tx(
    tx: &mut WriteTx<'_>,
    member_id: &str,
    partner: &str,
    rule_id: &str,
    day: i32,
) -> Result<i64, StoreError> {
    use interaction_awards as a;
    Ok(a::table
        .find((member_id, partner, rule_id, day))
        .select(a::awards)
        .first(tx.conn_unsynced())
        .optional()?
        .unwrap_or(0))
}

/// Counts one award of `rule_id` to the member on `day`.
pub fn add_award_tx(
    tx: &mut WriteTx<'_>,
    member_id: &str,
    partner: &str,
    rule_id: &str,
    day: i32,
) -> Result<(), StoreError> {
    insert_rows(
        tx.db()?,
        &[Award {
            member_id,
            partner,
            rule_id,
            day,
        }],
    )
}

/// A member's interactions per brand and kind from `from_day` on: a range of the primary key.
pub fn counts_since(
    conn: &mut DbConn,
    member_id: &str,
    from_day: i32,
) -> Result<Vec<(String, String, i64)>, StoreError> {
    use member_interaction_days as d;
    let rows: Vec<(String, String, i64)> = d::table
        .filter(d::member_id.eq(member_id))
        .filter(d::day.ge(from_day))
        .select((d::partner, d::kind, d::count))
        .load(conn)?;
    Ok(rows)
}

/// A member's interactions, newest first, at most `limit` (their export).
pub fn of_member(
    conn: &mut DbConn,
    member_id: &str,
    limit: i64,
) -> Result<Vec<InteractionRow>, StoreError> {
    Ok(interactions::table
        .filter(interactions::member_id.eq(member_id))
        .order((interactions::at_us.desc(), interactions::id.desc()))
        .limit(limit)
        .select(InteractionRow::as_select())
        .load(conn)?)
}

/// Removes everything about a member's interactions (erasure).
pub fn erase(tx: &mut WriteTx<'_>, member_id: &str) -> Result<(), StoreError> {
    let conn = tx.db()?;
    diesel::delete(interactions::table.filter(interactions::member_id.eq(member_id)))
        .execute(conn)?;
    diesel::delete(
        member_interaction_days::table.filter(member_interaction_days::member_id.eq(member_id)),
    )
    .execute(conn)?;
    diesel::delete(interaction_awards::table.filter(interaction_awards::member_id.eq(member_id)))
        .execute(conn)?;
    Ok(())
}

/// A rebuild's page of interactions after `after` (by id), in id order.
pub fn page_tx(
    tx: &mut WriteTx<'_>,
    after: &str,
    limit: i64,
) -> Result<Vec<InteractionRow>, StoreError> {
    Ok(interactions::table
        .filter(interactions::id.gt(after))
        .order(interactions::id)
        .limit(limit)
        .select(InteractionRow::as_select())
        .load(tx.db()?)?)
}

/// Empties the day counts before a rebuild counts the interactions again.
pub fn clear_counts(tx: &mut WriteTx<'_>) -> Result<(), StoreError> {
    diesel::delete(member_interaction_days::table).execute(tx.db()?)?;
    Ok(())
}

/// Counts a rebuild's page of interactions again (the profile's visits go with the entries').
pub fn recount_tx(tx: &mut WriteTx<'_>, rows: &[InteractionRow]) -> Result<(), StoreError> {
    let conn = tx.db()?;
    for row in rows {
        count_tx(conn, row)?;
    }
    Ok(())
}

/// A day count: member, partner, kind, day, count.
pub type DayCountRow = (String, String, String, i32, i64);

/// Every day count in key order (the rebuild test compares them; not for requests).
pub fn dump_counts(conn: &mut DbConn) -> Result<Vec<DayCountRow>, StoreError> {
    use member_interaction_days as d;
    Ok(d::table
        .order((d::member_id, d::partner, d::kind, d::day))
        .select((d::member_id, d::partner, d::kind, d::day, d::count))
        .load(conn)?)
}
