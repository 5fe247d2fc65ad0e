//! `/console/health`: every ledger invariant (`verify`) and the trial balance per unit, for
//! network-wide finance users and operators.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;

use super::console::{Chrome, session};
use super::{html, redirect, refused};
use crate::api::AppState;
use crate::ledger::{Check, format_minor};

#[derive(Template)]
#[template(path = "pages/health.html")]
struct HealthPage {
    c: Chrome,
    csrf: String,
    checks: Vec<Check>,
    /// Per unit: debits, credits, net.
    units: Vec<(String, String, String, String)>,
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
        return refused(503, "the database is unavailable: try again");
    };
    let mut totals: BTreeMap<String, (i128, i128)> = BTreeMap::new();
    for b in balances {
        let t = totals.entry(b.unit).or_default();
        if b.balance_minor > 0 {
            t.0 += i128::from(b.balance_minor);
        } else {
            t.1 -= i128::from(b.balance_minor);
        }
    }
    let units_known = state.clearing.units();
    let units = totals
        .into_iter()
        .map(|(unit, (d, c))| {
            let places = unit
                .parse()
                .ok()
                .and_then(|u| units_known.scale_of(&u))
                .map_or(0, |s| s.places());
            let show = |v: i128| format_minor(v, places);
            (unit, show(d), show(c), show(d - c))
        })
        .collect();
    let page = HealthPage {
        c: Chrome::new(s.lang, |t| t.health),
        csrf: s.csrf.clone(),
        checks,
        units,
    };
    html(200, page.render())
}
