//! The issuers' days (earned, redeemed, expired, net per issuer account and UTC day) the writer
//! adds to with every entry, and the reads the liability report and `verify` make of them.

use std::collections::BTreeMap;

use diesel::prelude::*;

use super::StoreError;
use super::bulk::{BulkRow, Value};
use super::conn::DbConn;
use super::schema::{accounts, issuer_days};
use crate::ledger::flows::Flow;

/// One issuer account's flows on one day, as the writer adds them (summed per key per flush).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct IssuerDay {
    pub account: String,
    pub unit: String,
    pub day: i32,
    pub flow: Flow,
}

impl BulkRow for IssuerDay {
    const TABLE: &'static str = "issuer_days";
    const COLUMNS: &'static [&'static str] = &[
        "account",
        "unit",
        "day",
        "earned_minor",
        "redeemed_minor",
        "expired_minor",
        "net_minor",
    ];
    const ON_CONFLICT: &'static str = " ON CONFLICT (account, day) DO UPDATE SET \
        earned_minor = issuer_days.earned_minor + excluded.earned_minor, \
        redeemed_minor = issuer_days.redeemed_minor + excluded.redeemed_minor, \
        expired_minor = issuer_days.expired_minor + excluded.expired_minor, \
        net_minor = issuer_days.net_minor + excluded.net_minor";
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            Value::Text(&self.account),
            Value::Text(&self.unit),
            Value::Int32(self.day),
            Value::Int(self.flow.earned_minor),
            Value::Int(self.flow.redeemed_minor),
            Value::Int(self.flow.expired_minor),
            Value::Int(self.flow.net_minor),
        ]);
    }
}

/// The batch's days summed per `(account, day)`: one row per key, as one `INSERT … ON
/// CONFLICT` needs.
pub(super) fn summed(days: &[IssuerDay]) -> Vec<IssuerDay> {
    let mut by_key: BTreeMap<(&str, i32), IssuerDay> = BTreeMap::new();
    for d in days {
        by_key
            .entry((&d.account, d.day))
            .and_modify(|s| s.flow.add(d.flow))
            .or_insert_with(|| d.clone());
    }
    by_key.into_values().collect()
}

/// One issuer account in the liability report: its balance now and its flows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerLiability {
    pub account: String,
    pub unit: String,
    /// What is outstanding at the report's time (the balance now, when it is now).
    pub outstanding_minor: i64,
    /// Earned, redeemed and expired in the trailing window.
    pub window: Flow,
}

/// Per issuer account named (each read by key): what was outstanding before day `until_day`
/// (every day before it; `None`: now, from the balance), and the flows of days
/// `from_day..until_day`.
pub fn report(
    conn: &mut DbConn,
    names: &[(String, String)],
    from_day: i32,
    until_day: Option<i32>,
) -> Result<Vec<IssuerLiability>, StoreError> {
    let mut balances: Vec<(String, String, i64)> = Vec::with_capacity(names.len());
    for (account, unit) in names {
        let balance: Option<i64> = accounts::table
            .find(account)
            .select(accounts::balance_minor)
            .first(conn)
            .optional()?;
        balances.push((account.clone(), unit.clone(), balance.unwrap_or(0)));
    }
    let mut out = Vec::with_capacity(balances.len());
    for (account, unit, balance_minor) in balances {
        let mut query = issuer_days::table
            .filter(issuer_days::account.eq(&account))
            .select((
                issuer_days::day,
                issuer_days::earned_minor,
                issuer_days::redeemed_minor,
                issuer_days::expired_minor,
                issuer_days::net_minor,
            ))
            .into_boxed();
        if let Some(until) = until_day {
            query = query.filter(issuer_days::day.lt(until));
        } else {
            query = query.filter(issuer_days::day.ge(from_day));
        }
        let days: Vec<(i32, i64, i64, i64, i64)> = query.load(conn)?;
        let mut window = Flow::default();
        let mut before = 0;
        for (day, earned_minor, redeemed_minor, expired_minor, net_minor) in days {
            before += net_minor;
            if day >= from_day {
                window.add(Flow {
                    earned_minor,
                    redeemed_minor,
                    expired_minor,
                    net_minor,
                });
            }
        }
        let outstanding_minor = if until_day.is_some() {
            before
        } else {
            balance_minor
        };
        out.push(IssuerLiability {
            account,
            unit,
            outstanding_minor,
            window,
        });
    }
    Ok(out)
}

/// Every kept day, for `verify`.
pub fn all_days(conn: &mut DbConn) -> Result<BTreeMap<(String, i32), Flow>, StoreError> {
    let rows: Vec<(String, i32, i64, i64, i64, i64)> = issuer_days::table
        .select((
            issuer_days::account,
            issuer_days::day,
            issuer_days::earned_minor,
            issuer_days::redeemed_minor,
            issuer_days::expired_minor,
            issuer_days::net_minor,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(a, day, earned_minor, redeemed_minor, expired_minor, net_minor)| {
                (
                    (a, day),
                    Flow {
                        earned_minor,
                        redeemed_minor,
                        expired_minor,
                        net_minor,
                    },
                )
            },
        )
        .collect())
}
