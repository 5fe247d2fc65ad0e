//! `/console/health`: every ledger invariant (`verify`) and the trial balance per unit, for
//! network-wide finance users and operators.

use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;

use super::console::{Chrome, session};
use super::format::filters;
use super::{html, redirect, refused, unavailable};
use crate::api::AppState;
use crate::api::finance::{UnitTotals, unit_totals};
use crate::ledger::Check;

#[derive(Template)]
#[template(path = "pages/health.html")]
struct HealthPage {
    c: Chrome,
    csrf: String,
    checks: Vec<Check>,
    units: Vec<UnitTotals>,
}

/// `GET /console/health`.
#[get("/console/health")]
pub async fn health(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let Some((_, s)) = session(&state, &req) else {
        return redirect("/console/login");
    };
    if s.who.partner.is_some() {
        return refused(
            403,
            "the ledger's health is for the network's own finance users",
        );
    }
    let (Ok(checks), Ok(balances)) = (
        state.clearing.verify().await,
        state.clearing.balances_snapshot().await,
    ) else {
        return unavailable();
    };
    let Ok(units) = unit_totals(&balances, state.clearing.units()) else {
        return refused(
            500,
            "a stored balance names a unit the network does not have",
        );
    };
    let page = HealthPage {
        c: Chrome::new(s.lang, |t| t.health),
        csrf: s.csrf.clone(),
        checks,
        units,
    };
    html(200, page.render())
}
