//! `/console/settlements/{id}/statements/{party}`: a party's statement of a closed cycle — its
//! net, its signature, and downloads in JSON, CSV and ISO 20022 camt.053, each with its detached
//! signature. The same use case and the same signed bytes as the API's statement.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;

use super::console::{Chrome, session};
use super::format::filters;
use super::session::ConsoleSession;
use super::{html, redirect, refused, unavailable};
use crate::api::AppState;
use crate::api::settlements::send_statement;
use crate::clearing::ClearingError;
use crate::clearing::views::settlement::{PositionView, view};
use crate::clearing::views::statement::StatementFormat;

/// The formats a statement downloads in, as the page's links name them.
const FORMATS: [(&str, StatementFormat, &str); 3] = [
    ("json", StatementFormat::Json, "json"),
    ("csv", StatementFormat::Csv, "csv"),
    ("camt053", StatementFormat::Camt053, "xml"),
];

pub struct FormatRow {
    pub name: &'static str,
    pub label: &'static str,
}

#[derive(Template)]
#[template(path = "pages/statement.html")]
struct StatementPage {
    c: Chrome,
    csrf: String,
    settlement_id: String,
    party: String,
    currency: String,
    position: Option<PositionView>,
    signature: String,
    formats: Vec<FormatRow>,
}

/// Whether the session may read `party`'s statement: its own partner's, or any (and the
/// network's) for network-wide users.
fn may_read(s: &ConsoleSession, party: &str) -> bool {
    match &s.who.partner {
        Some(own) => own.as_str() == party,
        None => true,
    }
}

/// `GET /console/settlements/{id}/statements/{party}`: the statement's page.
#[get("/console/settlements/{id}/statements/{party}")]
pub async fn page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let Some((_, s)) = session(&state, &req) else {
        return redirect("/console/login");
    };
    let (id, party) = path.into_inner();
    if !may_read(&s, &party) {
        return refused(403, "a partner's finance user reads its own statement only");
    }
    // Signing is part of reading: the JSON statement is made and signed now, as a download
    // would be, and its signature shown.
    let read = async {
        let cycle = state.clearing.settlement(&id).await?;
        let signed = state
            .clearing
            .statement(&id, &party, StatementFormat::Json)
            .await?;
        Ok::<_, ClearingError>((cycle, signed))
    };
    let (cycle, signed) = match read.await {
        Ok(read) => read,
        Err(ClearingError::NotFound(_)) => return refused(404, "no such cycle or party"),
        Err(_) => return unavailable(),
    };
    let network = state.clearing.network();
    let settlement = view(&cycle, network.currency_scale, s.who.partner.as_ref());
    let t = s.lang.text();
    let page = StatementPage {
        c: Chrome::new(s.lang, |t| t.statement),
        csrf: s.csrf.clone(),
        settlement_id: id,
        position: settlement
            .positions
            .into_iter()
            .find(|p| p.partner == party),
        party,
        currency: settlement.currency,
        signature: signed.signature,
        formats: FORMATS
            .iter()
            .map(|(name, format, _)| FormatRow {
                name,
                label: match format {
                    StatementFormat::Json => t.format_json,
                    StatementFormat::Csv => t.format_csv,
                    StatementFormat::Camt053 => t.format_camt053,
                },
            })
            .collect(),
    };
    html(200, page.render())
}

/// `GET /console/settlements/{id}/statements/{party}/{format}`: the statement as a file
/// (`json`, `csv` or `camt053`), its signature in `Statement-Signature`; with `?signature` the
/// detached signature itself, as a `.jws` file.
#[get("/console/settlements/{id}/statements/{party}/{format}")]
pub async fn download(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> HttpResponse {
    let Some((_, s)) = session(&state, &req) else {
        return redirect("/console/login");
    };
    let (id, party, format) = path.into_inner();
    let Some((name, format, ext)) = FORMATS.iter().find(|(n, ..)| *n == format) else {
        return refused(404, "statements come as json, csv or camt053");
    };
    if !may_read(&s, &party) {
        return refused(403, "a partner's finance user reads its own statement only");
    }
    let st = match state.clearing.statement(&id, &party, *format).await {
        Ok(st) => st,
        Err(ClearingError::NotFound(_)) => return refused(404, "no such cycle or party"),
        Err(_) => return unavailable(),
    };
    // Ids and party names are the network's own tokens (letters, digits, `-`, `_`), so the
    // file name needs no quoting beyond the quotes.
    let file = format!("statement-{id}-{party}");
    let wants_signature = req.query_string().split('&').any(|kv| kv == "signature");
    if wants_signature {
        let mut response = HttpResponse::Ok()
            .content_type("application/jose; charset=utf-8")
            .body(st.signature);
        attach(&mut response, &format!("{file}.{name}.jws"));
        return response;
    }
    let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"{file}.{ext}\""))
    else {
        return refused(404, "no such cycle or party");
    };
    send_statement(st)
        .header(header::CONTENT_DISPOSITION, disposition)
        .header(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        )
        .finish_body()
}

fn attach(response: &mut HttpResponse, file: &str) {
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, v);
    }
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}
