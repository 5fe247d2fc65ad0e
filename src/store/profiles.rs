//! The behaviour profile's tables: reading a member's rows, erasing them, and the rebuild's
//! steps. What the writer adds with each entry is in `activity.rs`.

use diesel::prelude::*;

pub use super::activity::{Activity, EntryObserver, day_of};
use super::schema::{aggregate_builds, member_profile_days, member_profiles};
use super::tx::WriteTx;
use super::{DbConn, StoreError};

/// The name under which the profile's build is recorded in `aggregate_builds`.
const PROFILES: &str = "profiles";

/// One member's row at one brand, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = member_profiles)]
pub struct ProfileRow {
    pub member_id: String,
    pub partner: String,
    pub visits: i64,
    pub spend_minor: i64,
    pub earned_minor: i64,
    pub redeemed_minor: i64,
    pub first_seen_us: i64,
    pub last_seen_us: i64,
}

/// A member's rows, one per brand they were seen at: a range of the primary key, as long as
/// the network has brands, however many entries the member has.
pub fn of_member(conn: &mut DbConn, member_id: &str) -> Result<Vec<ProfileRow>, StoreError> {
    Ok(member_profiles::table
        .filter(member_profiles::member_id.eq(member_id))
        .order(member_profiles::partner)
        .select(ProfileRow::as_select())
        .load(conn)?)
}

/// Everything a profile is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRead {
    /// `None`: no such member, or erased.
    pub joined_at_us: Option<i64>,
    /// The reading partner's link to the member (when a partner reads).
    pub link: Option<super::members::LinkRow>,
    pub card: Option<String>,
    pub rows: Vec<ProfileRow>,
}

/// A member's profile as the member (`partner` `None`) or a partner reads it: four look-ups
/// by key (the member, the partner's link, the card in use, the member's rows), whatever the
/// number of entries (the plan test in `tests/api/profile_http.rs` checks both backends).
pub fn read(
    conn: &mut DbConn,
    member_id: &str,
    partner: Option<&str>,
) -> Result<ProfileRead, StoreError> {
    let joined_at_us = super::members::joined_at(conn, member_id)?;
    let link = match partner {
        Some(p) => super::members::link_to(conn, p, member_id)?,
        None => None,
    };
    Ok(ProfileRead {
        joined_at_us,
        link,
        card: super::cards::active_for(conn, member_id)?,
        rows: of_member(conn, member_id)?,
    })
}

/// One member's day bucket at one brand, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = member_profile_days)]
pub struct DayRow {
    pub member_id: String,
    pub partner: String,
    pub day: i32,
    pub visits: i64,
    pub spend_minor: i64,
    pub earned_minor: i64,
    pub redeemed_minor: i64,
}

/// Every row of both tables in key order (the rebuild test compares them; not for requests).
pub fn dump(conn: &mut DbConn) -> Result<(Vec<ProfileRow>, Vec<DayRow>), StoreError> {
    let rows = member_profiles::table
        .order((member_profiles::member_id, member_profiles::partner))
        .select(ProfileRow::as_select())
        .load(conn)?;
    let days = member_profile_days::table
        .order((
            member_profile_days::member_id,
            member_profile_days::partner,
            member_profile_days::day,
        ))
        .select(DayRow::as_select())
        .load(conn)?;
    Ok((rows, days))
}

/// Removes a member's aggregates (erasure).
pub fn erase(tx: &mut WriteTx<'_>, member_id: &str) -> Result<(), StoreError> {
    tx.state.forget_standings(Some(member_id));
    let conn = tx.db()?;
    diesel::delete(member_profiles::table.filter(member_profiles::member_id.eq(member_id)))
        .execute(conn)?;
    diesel::delete(member_profile_days::table.filter(member_profile_days::member_id.eq(member_id)))
        .execute(conn)?;
    Ok(())
}

/// Empties both tables and forgets the last build, before a rebuild refills them.
pub fn clear(tx: &mut WriteTx<'_>) -> Result<(), StoreError> {
    tx.state.forget_standings(None);
    let conn = tx.db()?;
    diesel::delete(member_profiles::table).execute(conn)?;
    diesel::delete(member_profile_days::table).execute(conn)?;
    diesel::delete(aggregate_builds::table.find(PROFILES)).execute(conn)?;
    Ok(())
}

/// Adds a page of a rebuild's activities.
pub fn add_tx(tx: &mut WriteTx<'_>, activities: &[Activity]) -> Result<(), StoreError> {
    tx.state.forget_standings(None);
    super::activity::add(tx.db()?, activities)
}

/// Drops the rows of erased members a rebuild wrote (the journal still names them), and
/// records the build: `entries` read from the journal.
pub fn finish_rebuild(tx: &mut WriteTx<'_>, entries: i64) -> Result<(), StoreError> {
    use super::schema::members;
    let now = tx.now_us();
    let conn = tx.db()?;
    let erased = members::table
        .filter(members::erased_at_us.is_not_null())
        .select(members::id);
    diesel::delete(member_profiles::table.filter(member_profiles::member_id.eq_any(erased)))
        .execute(conn)?;
    diesel::delete(
        member_profile_days::table.filter(member_profile_days::member_id.eq_any(erased)),
    )
    .execute(conn)?;
    diesel::insert_into(aggregate_builds::table)
        .values((
            aggregate_builds::name.eq(PROFILES),
            aggregate_builds::built_at_us.eq(now),
            aggregate_builds::entries.eq(entries),
        ))
        .execute(conn)?;
    Ok(())
}

/// Whether the profile has been built from the journal (a database from before it has not).
pub fn is_built(conn: &mut DbConn) -> Result<bool, StoreError> {
    Ok(aggregate_builds::table
        .find(PROFILES)
        .select(aggregate_builds::name)
        .first::<String>(conn)
        .optional()?
        .is_some())
}
