//! Segments: their definitions and sizes, the members in each (in the order they entered), the
//! aggregates a page of members is evaluated from (read by key, page by page), and targeted
//! campaigns' audiences.

use std::collections::{BTreeMap, HashSet};

use diesel::prelude::*;

use super::bulk::{BulkRow, Value, insert_rows};

use super::schema::{
    campaign_audiences, member_interaction_days, member_links, member_profile_days,
    member_profiles, member_tiers, members, segment_members, segments,
};
use super::tx::WriteTx;
use super::{DbConn, StoreError};

/// The most segments a network keeps (every member is evaluated against each).
pub const MAX_SEGMENTS: i64 = 200;
/// The most `(segment, member)` pairs one statement removes.
const LEAVES_PER_STATEMENT: usize = 200;
/// The most members one page of an evaluation reads and writes.
pub const EVALUATION_PAGE_MEMBERS: i64 = 500;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = segments)]
pub struct SegmentRow {
    pub id: String,
    pub owner: Option<String>,
    pub name: String,
    pub definition: String,
    pub size: i64,
    pub entered_total: i64,
    pub created_at_us: i64,
    pub evaluated_at_us: Option<i64>,
}

pub fn insert_tx(tx: &mut WriteTx<'_>, row: &SegmentRow) -> Result<(), StoreError> {
    diesel::insert_into(segments::table)
        .values(row)
        .execute(tx.db()?)?;
    Ok(())
}

pub fn get(conn: &mut DbConn, id: &str) -> Result<Option<SegmentRow>, StoreError> {
    Ok(segments::table
        .find(id)
        .select(SegmentRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn get_tx(tx: &mut WriteTx<'_>, id: &str) -> Result<Option<SegmentRow>, StoreError> {
    get(tx.conn_unsynced(), id)
}

/// Every segment (at most [`MAX_SEGMENTS`]), oldest first.
pub fn all(conn: &mut DbConn) -> Result<Vec<SegmentRow>, StoreError> {
    Ok(segments::table
        .order((segments::created_at_us, segments::id))
        .limit(MAX_SEGMENTS)
        .select(SegmentRow::as_select())
        .load(conn)?)
}

/// How many segments there are, inside a write (the limit is checked where they are made).
pub fn count_tx(tx: &mut WriteTx<'_>) -> Result<i64, StoreError> {
    Ok(segments::table.count().get_result(tx.conn_unsynced())?)
}

/// A page of a segment's members in the order they entered, after place `after_seq`:
/// `(seq, member_id, entered_at_us)`.
pub fn members_page(
    conn: &mut DbConn,
    segment_id: &str,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<(i64, String, i64)>, StoreError> {
    Ok(segment_members::table
        .filter(segment_members::segment_id.eq(segment_id))
        .filter(segment_members::seq.gt(after_seq))
        .order(segment_members::seq)
        .limit(limit)
        .select((
            segment_members::seq,
            segment_members::member_id,
            segment_members::entered_at_us,
        ))
        .load(conn)?)
}

/// A page of the members an evaluation looks at, after `after` by id: every member not erased
/// (a network-wide pass), by the primary key.
pub fn members_after(
    conn: &mut DbConn,
    after: &str,
    limit: i64,
) -> Result<Vec<String>, StoreError> {
    Ok(members::table
        .filter(members::id.gt(after))
        .filter(members::erased_at_us.is_null())
        .order(members::id)
        .limit(limit)
        .select(members::id)
        .load(conn)?)
}

/// What a page of members is evaluated from, read by key for those members only.
#[derive(Debug, Default)]
pub struct FactsRead {
    /// `(member, partner, visits, last_seen_us)` of each profile row.
    pub profiles: Vec<(String, String, i64, i64)>,
    /// `(member, partner, day, visits, spend_minor)` of each day bucket from the window on.
    pub days: Vec<(String, String, i32, i64, i64)>,
    /// `(member, partner, kind, count)` of interactions from the short window on.
    pub interactions: Vec<(String, String, String, i64)>,
    /// `(member, tier)` of members above the ladder's first level.
    pub tiers: Vec<(String, String)>,
    /// `(member, partner, share_profile, linked_at_us)` of each link.
    pub links: Vec<(String, String, i32, i64)>,
    /// `(member, joined_at_us)` of each member.
    pub joined: Vec<(String, i64)>,
    /// `(segment, member)`: the memberships the members hold now.
    pub memberships: Vec<(String, String)>,
}

/// Reads what `members` are evaluated from: day buckets from `from_day`, interactions from
/// `interactions_from_day`. Seven queries for the whole page, each a range of a key per member.
pub fn facts(
    conn: &mut DbConn,
    members: &[String],
    from_day: i32,
    interactions_from_day: i32,
) -> Result<FactsRead, StoreError> {
    use member_interaction_days as i;
    use member_profile_days as d;
    use member_profiles as p;
    Ok(FactsRead {
        profiles: p::table
            .filter(p::member_id.eq_any(members))
            .select((p::member_id, p::partner, p::visits, p::last_seen_us))
            .load(conn)?,
        days: d::table
            .filter(d::member_id.eq_any(members))
            .filter(d::day.ge(from_day))
            .select((d::member_id, d::partner, d::day, d::visits, d::spend_minor))
            .load(conn)?,
        interactions: i::table
            .filter(i::member_id.eq_any(members))
            .filter(i::day.ge(interactions_from_day))
            .select((i::member_id, i::partner, i::kind, i::count))
            .load(conn)?,
        tiers: member_tiers::table
            .filter(member_tiers::member_id.eq_any(members))
            .select((member_tiers::member_id, member_tiers::tier))
            .load(conn)?,
        links: member_links::table
            .filter(member_links::member_id.eq_any(members))
            .select((
                member_links::member_id,
                member_links::partner,
                member_links::share_profile,
                member_links::created_at_us,
            ))
            .load(conn)?,
        joined: members::table
            .filter(members::id.eq_any(members))
            .filter(members::erased_at_us.is_null())
            .select((members::id, members::created_at_us))
            .load(conn)?,
        memberships: segment_members::table
            .filter(segment_members::member_id.eq_any(members))
            .select((segment_members::segment_id, segment_members::member_id))
            .load(conn)?,
    })
}

/// A member entering a segment at its place.
struct Entering<'a> {
    segment_id: &'a str,
    member_id: &'a str,
    seq: i64,
    at_us: i64,
}

impl BulkRow for Entering<'_> {
    const TABLE: &'static str = "segment_members";
    const COLUMNS: &'static [&'static str] = &["segment_id", "member_id", "seq", "entered_at_us"];
    fn values<'b>(&'b self, out: &mut Vec<Value<'b>>) {
        out.extend([
            Value::Text(self.segment_id),
            Value::Text(self.member_id),
            Value::Int(self.seq),
            Value::Int(self.at_us),
        ]);
    }
}

/// Writes a page's changes, a few statements per segment whatever the page's size: members
/// entering a segment get the next places in its order (in the order given), members leaving
/// are removed; sizes follow. What the database already says (a member in a segment already,
/// or gone) is skipped, so a stale change is harmless. Returns the members that entered.
pub fn apply_tx(
    tx: &mut WriteTx<'_>,
    enters: &[(String, String)],
    leaves: &[(String, String)],
) -> Result<usize, StoreError> {
    let now = tx.now_us();
    let conn = tx.db()?;
    let entered = enter(conn, enters, now)?;
    leave(conn, leaves)?;
    Ok(entered)
}

/// The members entering each segment, at its next places; returns how many entered.
fn enter(conn: &mut DbConn, enters: &[(String, String)], now: i64) -> Result<usize, StoreError> {
    let mut entered = 0;
    let mut by_segment: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (segment, member) in enters {
        by_segment.entry(segment).or_default().push(member);
    }
    // Who is in which segment already, asked by member only: the same look-up as the read
    // (by `segment_members_by_member`), whatever PostgreSQL's statistics say of the segments.
    let entering: Vec<&str> = enters.iter().map(|(_, m)| m.as_str()).collect();
    let already: HashSet<(String, String)> = if entering.is_empty() {
        HashSet::new()
    } else {
        segment_members::table
            .filter(segment_members::member_id.eq_any(&entering))
            .select((segment_members::segment_id, segment_members::member_id))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect()
    };
    for (segment, members) in by_segment {
        let Some(total) = segments::table
            .find(segment)
            .select(segments::entered_total)
            .first::<i64>(conn)
            .optional()?
        else {
            continue;
        };
        let there = |m: &str| already.contains(&(segment.to_owned(), m.to_owned()));
        let mut seen = HashSet::new();
        let rows: Vec<Entering<'_>> = members
            .into_iter()
            .filter(|m| !there(m) && seen.insert(*m))
            .zip(1..)
            .map(|(member_id, i)| Entering {
                segment_id: segment,
                member_id,
                seq: total + i,
                at_us: now,
            })
            .collect();
        if rows.is_empty() {
            continue;
        }
        let n = i64::try_from(rows.len()).unwrap_or(i64::MAX);
        insert_rows(conn, &rows)?;
        diesel::update(segments::table.find(segment))
            .set((
                segments::entered_total.eq(total + n),
                segments::size.eq(segments::size + n),
            ))
            .execute(conn)?;
        entered += rows.len();
    }
    Ok(entered)
}

/// The members leaving segments, and the segments' sizes.
fn leave(conn: &mut DbConn, leaves: &[(String, String)]) -> Result<(), StoreError> {
    // Each leaving pair by its primary key (OR-ed in one statement), so that the plan is a
    // look-up per pair on both databases, never a range over a whole segment.
    for chunk in leaves.chunks(LEAVES_PER_STATEMENT) {
        let mut gone_by_segment: BTreeMap<&str, i64> = BTreeMap::new();
        let Some(((s0, m0), rest)) = chunk.split_first() else {
            continue;
        };
        let mut pairs = segment_members::table
            .filter(
                segment_members::segment_id
                    .eq(s0)
                    .and(segment_members::member_id.eq(m0)),
            )
            .into_boxed();
        for (sid, mid) in rest {
            pairs = pairs.or_filter(
                segment_members::segment_id
                    .eq(sid)
                    .and(segment_members::member_id.eq(mid)),
            );
        }
        let removed: Vec<String> = pairs.select(segment_members::segment_id).load(conn)?;
        for sid in &removed {
            *gone_by_segment.entry(sid.as_str()).or_default() += 1;
        }
        let mut delete = diesel::delete(segment_members::table)
            .filter(
                segment_members::segment_id
                    .eq(s0)
                    .and(segment_members::member_id.eq(m0)),
            )
            .into_boxed();
        for (sid, mid) in rest {
            delete = delete.or_filter(
                segment_members::segment_id
                    .eq(sid)
                    .and(segment_members::member_id.eq(mid)),
            );
        }
        delete.execute(conn)?;
        for (segment, gone) in gone_by_segment {
            diesel::update(segments::table.find(segment))
                .set(segments::size.eq(segments::size - gone))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Marks segments evaluated (a full pass over every member ended).
pub fn evaluated_tx(tx: &mut WriteTx<'_>, ids: &[String]) -> Result<(), StoreError> {
    let now = tx.now_us();
    diesel::update(segments::table.filter(segments::id.eq_any(ids)))
        .set(segments::evaluated_at_us.eq(now))
        .execute(tx.db()?)?;
    Ok(())
}

/// Removes a member from every segment (erasure).
pub fn erase(tx: &mut WriteTx<'_>, member_id: &str) -> Result<(), StoreError> {
    let held: Vec<String> = segment_members::table
        .filter(segment_members::member_id.eq(member_id))
        .select(segment_members::segment_id)
        .load(tx.db()?)?;
    let leaves: Vec<(String, String)> = held
        .into_iter()
        .map(|s| (s, member_id.to_owned()))
        .collect();
    apply_tx(tx, &[], &leaves).map(|_| ())
}

/// A targeted campaign's audience.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = campaign_audiences)]
pub struct AudienceRow {
    pub campaign_id: String,
    pub segment_id: String,
    pub auto_issue: i32,
    pub issued_through_seq: i64,
    pub exhausted_at_us: Option<i64>,
}

pub fn insert_audience_tx(tx: &mut WriteTx<'_>, row: &AudienceRow) -> Result<(), StoreError> {
    diesel::insert_into(campaign_audiences::table)
        .values(row)
        .execute(tx.db()?)?;
    Ok(())
}

pub fn audience(conn: &mut DbConn, campaign_id: &str) -> Result<Option<AudienceRow>, StoreError> {
    Ok(campaign_audiences::table
        .find(campaign_id)
        .select(AudienceRow::as_select())
        .first(conn)
        .optional()?)
}

/// Audiences still issuing: automatic, budget not exhausted (the caller checks the campaign's
/// dates).
pub fn issuing(conn: &mut DbConn) -> Result<Vec<AudienceRow>, StoreError> {
    Ok(campaign_audiences::table
        .filter(campaign_audiences::auto_issue.eq(1))
        .filter(campaign_audiences::exhausted_at_us.is_null())
        .order(campaign_audiences::campaign_id)
        .limit(MAX_SEGMENTS)
        .select(AudienceRow::as_select())
        .load(conn)?)
}

/// Records how far issuance got, and when the budget ran out (if it did).
pub fn issued_tx(
    tx: &mut WriteTx<'_>,
    campaign_id: &str,
    through_seq: i64,
    exhausted_at_us: Option<i64>,
) -> Result<(), StoreError> {
    diesel::update(campaign_audiences::table.find(campaign_id))
        .set((
            campaign_audiences::issued_through_seq.eq(through_seq),
            campaign_audiences::exhausted_at_us.eq(exhausted_at_us),
        ))
        .execute(tx.db()?)?;
    Ok(())
}
