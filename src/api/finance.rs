//! Routes for finance and operator staff (a finance JWT): the ledger's trial balance and checks.

use std::collections::BTreeMap;

use actix_web::{get, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::auth::Finance;
use super::problem::{ApiError, Problem};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UnitTotals {
    pub unit: String,
    /// Sum of debit balances.
    pub debits: String,
    /// Sum of credit balances (as a positive amount).
    pub credits: String,
    /// debits − credits: zero in a sound ledger.
    pub net: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountBalance {
    pub account: String,
    pub unit: String,
    /// Signed, debit positive.
    pub balance: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TrialBalance {
    pub units: Vec<UnitTotals>,
    pub accounts: Vec<AccountBalance>,
}

/// Every account's balance and, per unit, debits, credits and net (network-wide finance only).
#[utoipa::path(get, path = "/v1/ledger/trial-balance", tag = "finance",
    responses((status = 200, body = TrialBalance),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("finance_token" = [])))]
#[get("/v1/ledger/trial-balance")]
pub async fn trial_balance(
    state: web::Data<AppState>,
    who: Finance,
) -> Result<web::Json<TrialBalance>, ApiError> {
    who.network_wide()?;
    let balances = state.clearing.balances_snapshot().await?;
    let known = state.clearing.units();
    let scale_of = |unit: &str| {
        unit.parse()
            .ok()
            .and_then(|u| known.scale_of(&u))
            .ok_or_else(ApiError::internal)
    };
    let units = unit_totals(&balances, known)?;
    let mut accounts = Vec::with_capacity(balances.len());
    for b in balances {
        let shown = crate::ledger::Amount::from_minor(b.balance_minor, scale_of(&b.unit)?);
        accounts.push(AccountBalance {
            account: b.account,
            unit: b.unit,
            balance: shown.to_string(),
        });
    }
    Ok(web::Json(TrialBalance { units, accounts }))
}

/// Per unit: the sums of the debit and of the credit balances, and their difference.
pub(super) fn unit_totals(
    balances: &[crate::ledger::RawBalance],
    known: &crate::ledger::Units,
) -> Result<Vec<UnitTotals>, ApiError> {
    let mut totals: BTreeMap<&str, (i128, i128)> = BTreeMap::new();
    for b in balances {
        let t = totals.entry(b.unit.as_str()).or_default();
        if b.balance_minor > 0 {
            t.0 += i128::from(b.balance_minor);
        } else {
            t.1 -= i128::from(b.balance_minor);
        }
    }
    totals
        .into_iter()
        .map(|(unit, (d, c))| {
            let scale = unit
                .parse()
                .ok()
                .and_then(|u| known.scale_of(&u))
                .ok_or_else(ApiError::internal)?;
            let show = |v: i128| crate::ledger::format_minor(v, scale.places());
            Ok(UnitTotals {
                debits: show(d),
                credits: show(c),
                net: show(d - c),
                unit: unit.to_owned(),
            })
        })
        .collect()
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CheckView {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VerifyView {
    pub ok: bool,
    pub checks: Vec<CheckView>,
}

/// Every ledger invariant over one consistent snapshot (network-wide finance only).
#[utoipa::path(get, path = "/v1/ledger/verify", tag = "finance",
    responses((status = 200, body = VerifyView), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("finance_token" = [])))]
#[get("/v1/ledger/verify")]
pub async fn verify(
    state: web::Data<AppState>,
    who: Finance,
) -> Result<web::Json<VerifyView>, ApiError> {
    who.network_wide()?;
    let checks = state.clearing.verify().await?;
    Ok(web::Json(VerifyView {
        ok: checks.iter().all(|c| c.ok),
        checks: checks
            .into_iter()
            .map(|c| CheckView {
                name: c.name,
                ok: c.ok,
                detail: c.detail,
            })
            .collect(),
    }))
}
