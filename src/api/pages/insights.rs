//! `/console/insights`: a partner's insights (or the network's, for the operator and the
//! network's finance staff, with a choice of partner) as tables and SVG bar charts — what
//! `GET /v1/insights` serves, for people.

use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;
use serde::Deserialize;

use super::console::{Chrome, session, visible_partners};
use super::{html, redirect, unavailable};
use crate::api::AppState;
use crate::clearing::insights::InsightsView;
use crate::ledger::PartnerId;

/// One bar of a chart: its label, its value as shown, its length (percent of the largest) and
/// its place.
pub struct Bar {
    pub label: String,
    pub value: String,
    pub percent: u32,
    pub y: u32,
}

/// Height of one bar and the gap below it, in the chart's units.
const BAR_STEP: u32 = 20;

/// Bars for `(label, value)` pairs: a withheld count (`"<10"`) is drawn as 9.
fn bars(items: impl IntoIterator<Item = (String, serde_json::Value)>) -> Vec<Bar> {
    let items: Vec<(String, String, i64)> = items
        .into_iter()
        .map(|(label, v)| {
            let n = v.as_i64().unwrap_or(9);
            let shown = v.as_str().map_or_else(|| n.to_string(), str::to_owned);
            (label, shown, n)
        })
        .collect();
    let largest = items.iter().map(|i| i.2).max().unwrap_or(1).max(1);
    items
        .into_iter()
        .zip(0u32..)
        .map(|((label, value, n), i)| Bar {
            label,
            value,
            percent: u32::try_from(n.max(0) * 100 / largest).unwrap_or(100),
            y: i * BAR_STEP,
        })
        .collect()
}

#[derive(Debug, Deserialize)]
pub struct Choice {
    #[serde(default)]
    partner: String,
}

#[derive(Template)]
#[template(path = "pages/insights.html")]
struct InsightsPage {
    c: Chrome,
    csrf: String,
    /// The partners the session may choose from (the operator's: every one); empty for a
    /// partner's user, who sees its own.
    partners: Vec<String>,
    chosen: String,
    v: InsightsView,
    tiers: Vec<Bar>,
    overlap: Vec<Bar>,
    tiers_height: u32,
    overlap_height: u32,
}

/// `GET /console/insights`.
#[get("/console/insights")]
pub async fn page(
    state: web::Data<AppState>,
    req: HttpRequest,
    choice: web::Query<Choice>,
) -> HttpResponse {
    let Some((_, s)) = session(&state, &req) else {
        return redirect("/console/login");
    };
    let own = s.who.partner.clone();
    let chosen: Option<PartnerId> = match &own {
        Some(p) => Some(p.clone()),
        None => choice
            .partner
            .parse()
            .ok()
            .filter(|p| state.clearing.network().partner(p).is_some()),
    };
    let Ok(v) = state.clearing.insights(chosen.as_ref()).await else {
        return unavailable();
    };
    let tiers = bars(
        v.tiers
            .iter()
            .map(|t| (t.tier.clone(), serde_json::json!(t.members))),
    );
    let overlap = bars(
        v.cross_brand
            .iter()
            .map(|o| (o.partner.clone(), o.shared_members.clone())),
    );
    let page = InsightsPage {
        c: Chrome::new(s.lang, |t| t.insights),
        csrf: s.csrf.clone(),
        partners: if own.is_some() {
            Vec::new()
        } else {
            visible_partners(&state, &s)
        },
        chosen: chosen.map(|p| p.to_string()).unwrap_or_default(),
        tiers_height: u32::try_from(tiers.len()).unwrap_or(0) * BAR_STEP,
        overlap_height: u32::try_from(overlap.len()).unwrap_or(0) * BAR_STEP,
        tiers,
        overlap,
        v,
    };
    html(200, page.render())
}
