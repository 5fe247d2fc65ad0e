//! `/console/reconciliation`: a partner's own file (CSV, uploaded) compared with the network's
//! entries for it over a period — matched, missing on either side, mismatched, with the lines.
//! The same use case as `POST /v1/reconciliations`; a partner's user reconciles its own.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;

use super::console::{Chrome, session, visible_partners};
use super::format::filters;
use super::i18n::refusal;
use super::multipart::{self, Part};
use super::session::ConsoleSession;
use super::{html, redirect, refused};
use crate::api::AppState;
use crate::api::auth::read_body;
use crate::api::settlements::MAX_RECONCILIATION_BYTES;
use crate::clearing::reconcile::{HEADER, Report};
use crate::clearing::time;
use crate::ledger::PartnerId;

/// What the form's fields other than the file may add to the upload, in bytes.
const MAX_FORM_OVERHEAD_BYTES: usize = 16 * 1024;
/// The period the form proposes: the last thirty days.
const DEFAULT_PERIOD_SECS: i64 = 30 * 24 * 60 * 60;

#[derive(Template)]
#[template(path = "pages/reconcile.html")]
struct ReconcilePage {
    c: Chrome,
    csrf: String,
    partners: Vec<String>,
    chosen: String,
    from: String,
    to: String,
    header: &'static str,
    max_mib: usize,
    error: Option<String>,
    report: Option<Report>,
}

fn page(state: &AppState, s: &ConsoleSession, fields: [String; 3]) -> ReconcilePage {
    let [chosen, from, to] = fields;
    ReconcilePage {
        c: Chrome::new(s.lang, |t| t.reconciliation),
        csrf: s.csrf.clone(),
        partners: visible_partners(state, s),
        chosen,
        from,
        to,
        header: HEADER,
        max_mib: MAX_RECONCILIATION_BYTES / (1024 * 1024),
        error: None,
        report: None,
    }
}

/// `GET /console/reconciliation`: the upload form.
#[get("/console/reconciliation")]
pub async fn form(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let Some((_, s)) = session(&state, &req) else {
        return redirect("/console/login");
    };
    let now_us = state.clearing.clock().now_us() / 1_000_000 * 1_000_000;
    let first = visible_partners(&state, &s)
        .into_iter()
        .next()
        .unwrap_or_default();
    let fields = [
        first,
        time::rfc3339(now_us - DEFAULT_PERIOD_SECS * 1_000_000),
        time::rfc3339(now_us),
    ];
    html(200, page(&state, &s, fields).render())
}

/// The text of the form's field `name` (empty when absent or not UTF-8).
fn text(parts: &[Part<'_>], name: &str) -> String {
    parts
        .iter()
        .find(|p| p.name == name)
        .and_then(|p| std::str::from_utf8(p.body).ok())
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// `POST /console/reconciliation`: the report, on the same page as the form.
#[post("/console/reconciliation")]
pub async fn upload(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let Some((_, s)) = session(&state, &req) else {
        return redirect("/console/login");
    };
    let boundary = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(multipart::boundary);
    let Some(boundary) = boundary else {
        return refused(415, "the form is sent as multipart/form-data");
    };
    let Ok(body) = read_body(payload, MAX_RECONCILIATION_BYTES + MAX_FORM_OVERHEAD_BYTES).await
    else {
        return refused(413, "the file is larger than a reconciliation may be");
    };
    let Some(parts) = multipart::parse(&boundary, &body) else {
        return refused(400, "the form could not be read");
    };
    // The CSRF token is checked before anything in the form is looked at.
    if text(&parts, "csrf") != s.csrf {
        return refused(403, "the form was not this session's");
    }
    let fields = [
        text(&parts, "partner"),
        text(&parts, "from"),
        text(&parts, "to"),
    ];
    let mut shown = page(&state, &s, fields);
    let t = s.lang.text();
    let partner = shown.chosen.parse::<PartnerId>().ok().filter(|p| {
        state.clearing.network().partner(p).is_some()
            && s.who.partner.as_ref().is_none_or(|own| own == p)
    });
    let file = parts.iter().find(|p| p.name == "file").map(|p| p.body);
    let checked = match (
        partner,
        time::parse_rfc3339(&shown.from),
        time::parse_rfc3339(&shown.to),
        file.map(std::str::from_utf8),
    ) {
        (None, ..) => Err(t.reconcile_no_partner.to_owned()),
        (_, None, ..) | (_, _, None, _) => Err(t.reconcile_bad_period.to_owned()),
        (.., None) => Err(t.reconcile_no_file.to_owned()),
        (.., Some(Err(_))) => Err(t.reconcile_not_utf8.to_owned()),
        (Some(p), Some(from), Some(to), Some(Ok(csv))) => state
            .clearing
            .reconcile(&p, from, to, csv)
            .await
            .map_err(|e| refusal(s.lang, &e)),
    };
    match checked {
        Ok(report) => shown.report = Some(report),
        Err(e) => shown.error = Some(e),
    }
    let status = if shown.error.is_some() { 422 } else { 200 };
    html(status, shown.render())
}
