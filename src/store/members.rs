//! Members and their links to partners (a partner's own id for the member: `external_id`).

use diesel::prelude::*;

use super::schema::{link_codes, member_links, members};
use super::tx::WriteTx;
use super::{DbConn, StoreError};

/// A member as stored: id and whether other brands may see their balances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    pub id: String,
    pub share_balances: bool,
}

/// Finds the member a partner knows by `external_id`, or enrols a new one. Returns the member
/// and whether it was created now.
pub fn enrol(
    tx: &mut WriteTx<'_>,
    partner: &str,
    external_id: &str,
    new_id: &str,
    sharing: Sharing,
) -> Result<(String, bool), StoreError> {
    tx.touch(new_id);
    let existing: Option<String> = member_links::table
        .find((partner, external_id))
        .select(member_links::member_id)
        .first(tx.db()?)
        .optional()?;
    if let Some(id) = existing {
        return Ok((id, false));
    }
    let now = tx.now_us();
    diesel::insert_into(members::table)
        .values((
            members::id.eq(new_id),
            members::share_balances.eq(i32::from(sharing.balances)),
            members::share_profile.eq(i32::from(sharing.profile)),
            members::created_at_us.eq(now),
        ))
        .execute(tx.db()?)?;
    diesel::insert_into(member_links::table)
        .values((
            member_links::partner.eq(partner),
            member_links::external_id.eq(external_id),
            member_links::member_id.eq(new_id),
            member_links::created_at_us.eq(now),
            member_links::share_balances.eq(i32::from(sharing.balances)),
            member_links::share_profile.eq(i32::from(sharing.profile)),
        ))
        .execute(tx.db()?)?;
    Ok((new_id.to_owned(), true))
}

fn find(conn: &mut DbConn, id: &str) -> Result<Option<MemberRow>, StoreError> {
    let row: Option<(String, i32)> = members::table
        .find(id)
        .filter(members::erased_at_us.is_null())
        .select((members::id, members::share_balances))
        .first(conn)
        .optional()?;
    Ok(row.map(|(id, share)| MemberRow {
        id,
        share_balances: share == 1,
    }))
}

/// When a member joined the network; `None` for one that does not exist or was erased.
pub fn joined_at(conn: &mut DbConn, id: &str) -> Result<Option<i64>, StoreError> {
    Ok(members::table
        .find(id)
        .filter(members::erased_at_us.is_null())
        .select(members::created_at_us)
        .first(conn)
        .optional()?)
}

/// A member by id.
pub fn get(conn: &mut DbConn, id: &str) -> Result<Option<MemberRow>, StoreError> {
    find(conn, id)
}

/// A member by id, inside a write.
pub fn get_tx(tx: &mut WriteTx<'_>, id: &str) -> Result<Option<MemberRow>, StoreError> {
    find(tx.conn_unsynced(), id)
}

/// Whether a member exists, inside a write (members are never deleted, so the writer
/// remembers the ones it has seen).
pub fn exists_tx(tx: &mut WriteTx<'_>, id: &str) -> Result<bool, StoreError> {
    if tx.state.knows_member(id) {
        return Ok(true);
    }
    let found = find(tx.conn_unsynced(), id)?.is_some();
    if found {
        tx.state.remember_member(id);
    }
    Ok(found)
}

/// The partner's own id for the member, when the partner knows the member.
pub fn link(
    conn: &mut DbConn,
    partner: &str,
    member_id: &str,
) -> Result<Option<String>, StoreError> {
    Ok(member_links::table
        .filter(member_links::partner.eq(partner))
        .filter(member_links::member_id.eq(member_id))
        .select(member_links::external_id)
        .first(conn)
        .optional()?)
}

/// Sets the member's default sharing and every link's (each part when given); whether the
/// member exists.
pub fn set_consent(
    tx: &mut WriteTx<'_>,
    id: &str,
    balances: bool,
    profile: Option<bool>,
) -> Result<bool, StoreError> {
    tx.touch(id);
    let changed = diesel::update(members::table.find(id))
        .set(members::share_balances.eq(i32::from(balances)))
        .execute(tx.db()?)?;
    diesel::update(member_links::table.filter(member_links::member_id.eq(id)))
        .set(member_links::share_balances.eq(i32::from(balances)))
        .execute(tx.db()?)?;
    if let Some(p) = profile {
        diesel::update(members::table.find(id))
            .set(members::share_profile.eq(i32::from(p)))
            .execute(tx.db()?)?;
        diesel::update(member_links::table.filter(member_links::member_id.eq(id)))
            .set(member_links::share_profile.eq(i32::from(p)))
            .execute(tx.db()?)?;
    }
    Ok(changed == 1)
}

/// The writer's cache key of a link (member ids are UUIDs: the separator cannot occur in them).
fn link_key(partner: &str, member_id: &str) -> String {
    format!("{member_id}\u{1f}{partner}")
}

/// Whether the partner knows the member, inside a write. The writer remembers the links it has
/// seen (with the members), and forgets one when it is removed.
pub fn linked_tx(tx: &mut WriteTx<'_>, partner: &str, member_id: &str) -> Result<bool, StoreError> {
    let key = link_key(partner, member_id);
    if tx.state.knows_member(&key) {
        return Ok(true);
    }
    let found = link(tx.conn_unsynced(), partner, member_id)?.is_some();
    if found {
        tx.state.remember_member(&key);
    }
    Ok(found)
}

/// Stores a link code the member asked for.
pub fn create_link_code(
    tx: &mut WriteTx<'_>,
    code: &str,
    member_id: &str,
    partner: &str,
    expires_at_us: i64,
) -> Result<(), StoreError> {
    let now = tx.now_us();
    diesel::insert_into(link_codes::table)
        .values((
            link_codes::code.eq(code),
            link_codes::member_id.eq(member_id),
            link_codes::partner.eq(partner),
            link_codes::expires_at_us.eq(expires_at_us),
            link_codes::created_at_us.eq(now),
        ))
        .execute(tx.db()?)?;
    Ok(())
}

/// Uses a link code for `partner`: the member it names, when it is `partner`'s, unused and
/// unexpired. Used once: a second use finds nothing.
pub fn take_link_code(
    tx: &mut WriteTx<'_>,
    code: &str,
    partner: &str,
) -> Result<Option<String>, StoreError> {
    let now = tx.now_us();
    let taken = diesel::update(
        link_codes::table
            .filter(link_codes::code.eq(code))
            .filter(link_codes::partner.eq(partner))
            .filter(link_codes::used_at_us.is_null())
            .filter(link_codes::expires_at_us.gt(now)),
    )
    .set(link_codes::used_at_us.eq(now))
    .execute(tx.db()?)?;
    if taken != 1 {
        return Ok(None);
    }
    Ok(link_codes::table
        .find(code)
        .select(link_codes::member_id)
        .first(tx.db()?)
        .optional()?)
}

/// What linking a member to a partner under an `external_id` came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Linked {
    /// Linked now.
    New,
    /// The partner already knew this member (under the external id it holds).
    Already(String),
    /// The partner uses `external_id` for another member.
    ExternalIdTaken,
}

/// Links an existing member to a partner under the partner's own id for them.
pub fn link_member(
    tx: &mut WriteTx<'_>,
    partner: &str,
    external_id: &str,
    member_id: &str,
    sharing: Sharing,
) -> Result<Linked, StoreError> {
    tx.touch(member_id);
    let holder: Option<String> = member_links::table
        .find((partner, external_id))
        .select(member_links::member_id)
        .first(tx.db()?)
        .optional()?;
    match holder {
        Some(m) if m == member_id => return Ok(Linked::Already(external_id.to_owned())),
        Some(_) => return Ok(Linked::ExternalIdTaken),
        None => {}
    }
    if let Some(existing) = link(tx.db()?, partner, member_id)? {
        return Ok(Linked::Already(existing));
    }
    let now = tx.now_us();
    diesel::insert_into(member_links::table)
        .values((
            member_links::partner.eq(partner),
            member_links::external_id.eq(external_id),
            member_links::member_id.eq(member_id),
            member_links::created_at_us.eq(now),
            member_links::share_balances.eq(i32::from(sharing.balances)),
            member_links::share_profile.eq(i32::from(sharing.profile)),
        ))
        .execute(tx.db()?)?;
    Ok(Linked::New)
}

/// A member's link to a partner as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRow {
    pub partner: String,
    pub external_id: String,
    pub linked_at_us: i64,
    pub sharing: Sharing,
}

/// What a brand may see of the member's other brands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sharing {
    pub balances: bool,
    pub profile: bool,
}

type LinkColumns = (String, String, i64, i32, i32);

fn link_row((partner, external_id, linked_at_us, b, p): LinkColumns) -> LinkRow {
    LinkRow {
        partner,
        external_id,
        linked_at_us,
        sharing: Sharing {
            balances: b == 1,
            profile: p == 1,
        },
    }
}

const LINK_COLUMNS: (
    member_links::partner,
    member_links::external_id,
    member_links::created_at_us,
    member_links::share_balances,
    member_links::share_profile,
) = (
    member_links::partner,
    member_links::external_id,
    member_links::created_at_us,
    member_links::share_balances,
    member_links::share_profile,
);

/// A member's links, by partner.
pub fn links_of(conn: &mut DbConn, member_id: &str) -> Result<Vec<LinkRow>, StoreError> {
    let rows: Vec<LinkColumns> = member_links::table
        .filter(member_links::member_id.eq(member_id))
        .order(member_links::partner)
        .select(LINK_COLUMNS)
        .load(conn)?;
    Ok(rows.into_iter().map(link_row).collect())
}

/// [`links_of`] inside a write (links are written directly, never held back by the writer).
pub fn links_of_tx(tx: &mut WriteTx<'_>, member_id: &str) -> Result<Vec<LinkRow>, StoreError> {
    links_of(tx.conn_unsynced(), member_id)
}

/// The member's link to `partner` (with what that brand may see), when there is one.
pub fn link_to(
    conn: &mut DbConn,
    partner: &str,
    member_id: &str,
) -> Result<Option<LinkRow>, StoreError> {
    let row: Option<LinkColumns> = member_links::table
        .filter(member_links::partner.eq(partner))
        .filter(member_links::member_id.eq(member_id))
        .select(LINK_COLUMNS)
        .first(conn)
        .optional()?;
    Ok(row.map(link_row))
}

/// [`link_to`] inside a write.
pub fn link_to_tx(
    tx: &mut WriteTx<'_>,
    partner: &str,
    member_id: &str,
) -> Result<Option<LinkRow>, StoreError> {
    link_to(tx.conn_unsynced(), partner, member_id)
}

/// The member's default sharing: what a link made from now on starts with.
pub fn default_sharing(tx: &mut WriteTx<'_>, member_id: &str) -> Result<Sharing, StoreError> {
    let row: Option<(i32, i32)> = members::table
        .find(member_id)
        .select((members::share_balances, members::share_profile))
        .first(tx.db()?)
        .optional()?;
    Ok(row.map_or_else(Sharing::default, |(b, p)| Sharing {
        balances: b == 1,
        profile: p == 1,
    }))
}

/// Sets what `partner` may see of the member (each part when given).
pub fn set_link_sharing(
    tx: &mut WriteTx<'_>,
    partner: &str,
    member_id: &str,
    balances: Option<bool>,
    profile: Option<bool>,
) -> Result<(), StoreError> {
    tx.touch(member_id);
    let target = member_links::table
        .filter(member_links::partner.eq(partner))
        .filter(member_links::member_id.eq(member_id));
    if let Some(b) = balances {
        diesel::update(target)
            .set(member_links::share_balances.eq(i32::from(b)))
            .execute(tx.db()?)?;
    }
    if let Some(p) = profile {
        diesel::update(target)
            .set(member_links::share_profile.eq(i32::from(p)))
            .execute(tx.db()?)?;
    }
    Ok(())
}

/// Removes the member's link to `partner`; whether there was one.
pub fn unlink(tx: &mut WriteTx<'_>, partner: &str, member_id: &str) -> Result<bool, StoreError> {
    tx.touch(member_id);
    let removed = diesel::delete(
        member_links::table
            .filter(member_links::partner.eq(partner))
            .filter(member_links::member_id.eq(member_id)),
    )
    .execute(tx.db()?)?;
    tx.state.forget_member(&link_key(partner, member_id));
    Ok(removed == 1)
}

/// Removes every link code of a member (erasure). Returns how many were still open (unused and
/// unexpired): the ones revoked.
pub fn revoke_link_codes(tx: &mut WriteTx<'_>, member_id: &str) -> Result<usize, StoreError> {
    let now = tx.now_us();
    let open = diesel::delete(
        link_codes::table
            .filter(link_codes::member_id.eq(member_id))
            .filter(link_codes::used_at_us.is_null())
            .filter(link_codes::expires_at_us.gt(now)),
    )
    .execute(tx.db()?)?;
    diesel::delete(link_codes::table.filter(link_codes::member_id.eq(member_id)))
        .execute(tx.db()?)?;
    Ok(open)
}

/// The member's own choice of what brands may see, the default of new links.
pub fn sharing_default(conn: &mut DbConn, member_id: &str) -> Result<Sharing, StoreError> {
    let row: Option<(i32, i32)> = members::table
        .find(member_id)
        .select((members::share_balances, members::share_profile))
        .first(conn)
        .optional()?;
    Ok(row.map_or_else(Sharing::default, |(b, p)| Sharing {
        balances: b == 1,
        profile: p == 1,
    }))
}

/// Erases the person behind `member_id`: every link (the partners' ids for them) goes, and the
/// member's row stays, marked erased, with nothing personal (the journal still
/// names its UUID). Returns the partners the member was linked to.
pub fn erase(tx: &mut WriteTx<'_>, member_id: &str) -> Result<Vec<String>, StoreError> {
    let now = tx.now_us();
    let partners: Vec<String> = member_links::table
        .filter(member_links::member_id.eq(member_id))
        .select(member_links::partner)
        .load(tx.db()?)?;
    diesel::delete(member_links::table.filter(member_links::member_id.eq(member_id)))
        .execute(tx.db()?)?;
    diesel::update(members::table.find(member_id))
        .set((
            members::erased_at_us.eq(now),
            members::share_balances.eq(0),
            members::share_profile.eq(0),
        ))
        .execute(tx.db()?)?;
    for partner in &partners {
        tx.state.forget_member(&link_key(partner, member_id));
    }
    tx.state.forget_member(member_id);
    Ok(partners)
}
