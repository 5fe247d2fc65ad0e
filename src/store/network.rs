//! The network's reference data in the database: units (whose scale and issuer never change
//! once entries may count in them) and partners.

use std::str::FromStr;

use diesel::prelude::*;
use rust_decimal::Decimal;

use super::StoreError;
use super::conn::DbConn;
use super::schema::{partners, units};
use super::tx::WriteTx;
use crate::ledger::{Scale, Unit, UnitKind, Units};

#[derive(Queryable, Selectable, Insertable, PartialEq, Debug)]
#[diesel(table_name = units)]
struct UnitRow {
    code: String,
    scale: i32,
    kind: String,
    issuer: Option<String>,
    value: Option<String>,
    created_at_us: i64,
}

fn to_row(u: &Unit, now_us: i64) -> UnitRow {
    let (kind, issuer, value) = match &u.kind {
        UnitKind::Points { issuer, value } => {
            ("points", Some(issuer.to_string()), Some(value.to_string()))
        }
        UnitKind::Currency => ("currency", None, None),
    };
    UnitRow {
        code: u.code.to_string(),
        scale: i32::try_from(u.scale.places()).unwrap_or(i32::MAX),
        kind: kind.to_owned(),
        issuer,
        value,
        created_at_us: now_us,
    }
}

fn from_row(r: UnitRow) -> Result<Unit, StoreError> {
    let corrupt = |why: String| StoreError::Corrupt(format!("unit row {}: {why}", r.code));
    let code = r.code.parse().map_err(|e| corrupt(format!("{e}")))?;
    let scale = u32::try_from(r.scale)
        .ok()
        .and_then(|s| Scale::new(s).ok())
        .ok_or_else(|| corrupt(format!("scale {}", r.scale)))?;
    let kind = match (r.kind.as_str(), &r.issuer, &r.value) {
        ("currency", None, None) => UnitKind::Currency,
        ("points", Some(issuer), Some(value)) => UnitKind::Points {
            issuer: issuer.parse().map_err(|e| corrupt(format!("{e}")))?,
            value: Decimal::from_str(value).map_err(|e| corrupt(format!("value: {e}")))?,
        },
        _ => {
            return Err(corrupt(format!(
                "kind {} with issuer {:?}",
                r.kind, r.issuer
            )));
        }
    };
    Ok(Unit { code, scale, kind })
}

/// Every unit the database knows.
pub fn load_units(conn: &mut DbConn) -> Result<Units, StoreError> {
    let rows: Vec<UnitRow> = units::table
        .order(units::code)
        .select(UnitRow::as_select())
        .load(conn)?;
    let units = rows
        .into_iter()
        .map(from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Units::new(units))
}

/// Records the configured units and partners. A unit's scale, kind and issuer are fixed once
/// stored (entries count in them); its clearing value may change. Returns every stored unit,
/// including ones the manifests no longer list, so old entries still read back.
pub fn sync(
    tx: &mut WriteTx<'_>,
    configured: &Units,
    partners_list: &[(String, String)],
) -> Result<Units, StoreError> {
    for unit in configured.iter() {
        let wanted = to_row(unit, tx.now_us());
        let stored: Option<UnitRow> = units::table
            .find(&wanted.code)
            .select(UnitRow::as_select())
            .first(tx.db()?)
            .optional()?;
        match stored {
            None => {
                diesel::insert_into(units::table)
                    .values(&wanted)
                    .execute(tx.db()?)?;
            }
            Some(s)
                if (s.scale, &s.kind, &s.issuer)
                    != (wanted.scale, &wanted.kind, &wanted.issuer) =>
            {
                return Err(StoreError::UnitConflict {
                    code: wanted.code,
                    stored: format!(
                        "scale {}, {}, issuer {}",
                        s.scale,
                        s.kind,
                        s.issuer.as_deref().unwrap_or("-")
                    ),
                    configured: format!(
                        "scale {}, {}, issuer {}",
                        wanted.scale,
                        wanted.kind,
                        wanted.issuer.as_deref().unwrap_or("-")
                    ),
                });
            }
            Some(s) if s.value != wanted.value => {
                diesel::update(units::table.find(&wanted.code))
                    .set(units::value.eq(&wanted.value))
                    .execute(tx.db()?)?;
            }
            Some(_) => {}
        }
    }
    for (id, name) in partners_list {
        let exists: Option<String> = partners::table
            .find(id)
            .select(partners::name)
            .first(tx.db()?)
            .optional()?;
        match exists {
            None => {
                diesel::insert_into(partners::table)
                    .values((
                        partners::id.eq(id),
                        partners::name.eq(name),
                        partners::created_at_us.eq(tx.now_us()),
                    ))
                    .execute(tx.db()?)?;
            }
            Some(stored) if &stored != name => {
                diesel::update(partners::table.find(id))
                    .set(partners::name.eq(name))
                    .execute(tx.db()?)?;
            }
            Some(_) => {}
        }
    }
    load_units(tx.db()?)
}
