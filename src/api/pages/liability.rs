//! `/console/liability`: the liability report (`GET /v1/ledger/liability`) for people — points
//! outstanding per issuer with their value as bars, and the trailing year's earned, redeemed
//! and expired points with the breakage rate; as at today or at a month end chosen by date.

use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;
use serde::Deserialize;

use super::console::{Chrome, session};
use super::format::filters;
use super::{html, redirect, unavailable};
use crate::api::AppState;
use crate::clearing::liability::LiabilityReport;

/// Height of one bar and the gap below it, in the chart's units.
const BAR_STEP: u32 = 20;

#[derive(Debug, Deserialize)]
pub struct AsAt {
    /// `YYYY-MM-DD`: the report as at that day's start (UTC); empty: now.
    #[serde(default)]
    date: String,
}

#[derive(Template)]
#[template(path = "pages/liability.html")]
struct LiabilityPage {
    c: Chrome,
    csrf: String,
    date: String,
    /// The date could not be used: what to say instead of the report.
    refused: bool,
    r: LiabilityReport,
    /// Per line: bar length (percent of the largest value) and place.
    bars: Vec<(u32, u32)>,
    chart_height: u32,
}

/// `GET /console/liability`.
#[get("/console/liability")]
pub async fn page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<AsAt>,
) -> HttpResponse {
    let Some((_, s)) = session(&state, &req) else {
        return redirect("/console/login");
    };
    let date = q.date.trim().to_owned();
    let at = if date.is_empty() {
        None
    } else {
        match crate::clearing::time::parse_rfc3339(&format!("{date}T00:00:00Z")) {
            Some(at) => Some(at),
            None => return render(&s, date, true, empty()),
        }
    };
    match state.clearing.liability(at, s.who.partner.clone()).await {
        Ok(r) => render(&s, date, false, r),
        Err(crate::clearing::ClearingError::BadReportTime(_)) => render(&s, date, true, empty()),
        Err(_) => unavailable(),
    }
}

fn empty() -> LiabilityReport {
    LiabilityReport {
        at: String::new(),
        window_from: String::new(),
        issuers: Vec::new(),
    }
}

fn render(
    s: &super::session::ConsoleSession,
    date: String,
    refused: bool,
    r: LiabilityReport,
) -> HttpResponse {
    let minor = |v: &str| -> i64 { v.replace('.', "").parse().unwrap_or(0) };
    let largest = r
        .issuers
        .iter()
        .map(|l| minor(&l.value))
        .max()
        .unwrap_or(0)
        .max(1);
    let bars: Vec<(u32, u32)> = r
        .issuers
        .iter()
        .zip(0u32..)
        .map(|(l, i)| {
            let percent = u32::try_from(minor(&l.value).max(0) * 100 / largest).unwrap_or(100);
            (percent, i * BAR_STEP)
        })
        .collect();
    let body = LiabilityPage {
        c: Chrome::new(s.lang, |t| t.liability),
        csrf: s.csrf.clone(),
        date,
        refused,
        chart_height: u32::try_from(bars.len()).unwrap_or(0) * BAR_STEP,
        bars,
        r,
    };
    html(200, body.render())
}
