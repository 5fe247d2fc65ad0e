//! `/console/settlements`: the cycles, closing one (after a confirmation step), and a cycle's
//! positions and obligations. The same use cases as the API; a partner's finance user sees its
//! own position only and cannot close a cycle.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use super::console::posted_form;
use super::console::{Chrome, session};
use super::format::filters;
use super::i18n::refusal;
use super::{html, redirect, refused, unavailable};
use crate::api::AppState;
use crate::clearing::views::settlement::{SettlementView, view};
use crate::clearing::{Clearing, time, views};

/// Cycles listed per page.
const CYCLES_PER_PAGE: i64 = 50;

pub struct CycleRow {
    pub id: String,
    pub cutoff: String,
    pub status: String,
}

#[derive(Template)]
#[template(path = "pages/settlements.html")]
struct ListPage {
    c: Chrome,
    csrf: String,
    cycles: Vec<CycleRow>,
    next: Option<i64>,
    may_close: bool,
    now: String,
}

#[derive(Template)]
#[template(path = "pages/confirm_close.html")]
struct ConfirmPage {
    c: Chrome,
    csrf: String,
    cutoff: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/settlement.html")]
struct CyclePage {
    c: Chrome,
    csrf: String,
    s: SettlementView,
    may_pay: bool,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    after: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct PaymentForm {
    csrf: String,
    partner: String,
    amount: String,
    bank_reference: String,
}

#[derive(Debug, Deserialize)]
pub struct CloseForm {
    csrf: String,
    cutoff: String,
    confirm: Option<String>,
}

/// `GET /console/settlements`: the cycles, oldest first, and the form that closes one.
#[get("/console/settlements")]
pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    let Some((_, s)) = session(&state, &req) else {
        return redirect("/console/login");
    };
    let Ok(cycles) = state
        .clearing
        .settlements(query.after.unwrap_or(i64::MIN), CYCLES_PER_PAGE)
        .await
    else {
        return unavailable();
    };
    let next = (cycles.len() as i64 == CYCLES_PER_PAGE)
        .then(|| cycles.last().map(|c| c.row.cutoff_us))
        .flatten();
    let page = ListPage {
        c: Chrome::new(s.lang, |t| t.settlements),
        csrf: s.csrf.clone(),
        cycles: cycles
            .iter()
            .map(|c| CycleRow {
                id: c.row.id.clone(),
                cutoff: time::rfc3339(c.row.cutoff_us),
                status: c.row.status.as_str().to_owned(),
            })
            .collect(),
        next,
        may_close: s.who.partner.is_none(),
        now: time::rfc3339(state.clearing.clock().now_us() / 1_000_000 * 1_000_000),
    };
    html(200, page.render())
}

/// `POST /console/settlements/close`: first the confirmation page, then (with `confirm=yes`)
/// the cycle is closed and its page shown.
#[post("/console/settlements/close")]
pub async fn close(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<CloseForm>,
) -> HttpResponse {
    let s = match posted_form(&state, &req, &form.csrf) {
        Ok(s) => s,
        Err(refusal) => return *refusal,
    };
    if s.who.partner.is_some() {
        return refused(403, "a partner's finance user cannot close a cycle");
    }
    let confirm = |error: Option<String>| {
        let page = ConfirmPage {
            c: Chrome::new(s.lang, |t| t.close_cycle).answering("/console/settlements".into()),
            csrf: s.csrf.clone(),
            cutoff: form.cutoff.clone(),
            error,
        };
        html(if page.error.is_some() { 422 } else { 200 }, page.render())
    };
    if form.confirm.as_deref() != Some("yes") {
        return confirm(None);
    }
    let closed = match Clearing::settle_work(&form.cutoff) {
        Ok(work) => {
            state
                .clearing
                .once_as("finance".into(), None, work, views::settled)
                .await
        }
        Err(e) => Err(e),
    };
    match closed {
        Ok(reply) => {
            let id = serde_json::from_str::<serde_json::Value>(&reply.body)
                .ok()
                .and_then(|v| v["settlement_id"].as_str().map(str::to_owned));
            match id {
                Some(id) => redirect(&format!("/console/settlements/{id}")),
                None => refused(500, "the cycle was closed but its page could not be found"),
            }
        }
        Err(e) => confirm(Some(refusal(s.lang, &e))),
    }
}

/// A cycle's page, with `error` (a refused payment) shown on it.
async fn cycle_page(
    state: &AppState,
    s: &super::session::ConsoleSession,
    id: &str,
    error: Option<String>,
) -> HttpResponse {
    let Ok(cycle) = state.clearing.settlement(id).await else {
        return refused(404, "no such settlement cycle");
    };
    let page = CyclePage {
        c: Chrome::new(s.lang, |t| t.cycle).answering(format!("/console/settlements/{id}")),
        csrf: s.csrf.clone(),
        s: view(
            &cycle,
            state.clearing.network().currency_scale,
            s.who.partner.as_ref(),
        ),
        may_pay: s.who.partner.is_none(),
        error,
    };
    html(if page.error.is_some() { 422 } else { 200 }, page.render())
}

/// `GET /console/settlements/{id}`: a cycle's positions and obligations, and (network-wide)
/// the form that records a payment.
#[get("/console/settlements/{id}")]
pub async fn one(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let Some((_, s)) = session(&state, &req) else {
        return redirect("/console/login");
    };
    cycle_page(&state, &s, &path, None).await
}

/// `POST /console/settlements/{id}/payments`: records money moved for a party's position; the
/// cycle's page shows it, or why it was refused.
#[post("/console/settlements/{id}/payments")]
pub async fn pay(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<PaymentForm>,
) -> HttpResponse {
    let s = match posted_form(&state, &req, &form.csrf) {
        Ok(s) => s,
        Err(refusal) => return *refusal,
    };
    if s.who.partner.is_some() {
        return refused(403, "a partner's finance user cannot record payments");
    }
    let form = form.into_inner();
    let work = Clearing::pay_work(
        path.to_string(),
        form.partner,
        form.amount,
        form.bank_reference,
    );
    let paid = state
        .clearing
        .once_as("finance".into(), None, work, views::entry_created)
        .await;
    match paid {
        Ok(_) => redirect(&format!("/console/settlements/{path}")),
        Err(e) => cycle_page(&state, &s, &path, Some(refusal(s.lang, &e))).await,
    }
}
