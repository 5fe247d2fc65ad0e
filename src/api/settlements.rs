//! Routes for finance staff: settlement cycles, signed statements (JSON, CSV, ISO 20022
//! camt.053), payments, reconciliation and the journal export.

use actix_web::http::header;
use actix_web::web::Bytes;
use futures_util::StreamExt as _;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::{Body, Finance, json_body, optional_idempotency, read_body};
use super::codes::ErrorCode;
use super::partner::respond;
use super::problem::{ApiError, Problem};
use crate::clearing::export::{Format, csv_field};
use crate::clearing::reconcile::Report;
use crate::clearing::settlement::Statement;
use crate::clearing::views::entry::EntryView;
use crate::clearing::views::settlement::{SettlementView, money, view};
use crate::clearing::{Clearing, time, views};
use crate::crypto::jws;
use crate::ledger::{NETWORK, PartnerId, Scale};

/// The largest reconciliation file, in bytes.
pub const MAX_RECONCILIATION_BYTES: usize = 8 * 1024 * 1024;

/// The most settlements one page lists.
pub const MAX_SETTLEMENTS_PER_PAGE: i64 = 100;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettleRequest {
    /// RFC 3339; not in the future, not before the last settlement's.
    #[schema(format = DateTime)]
    pub cutoff: String,
}

/// Close a settlement cycle at `cutoff` (the operator or the network's finance staff).
#[utoipa::path(post, path = "/v1/settlements", tag = "finance", request_body = SettleRequest,
    responses((status = 201, body = SettlementView), (status = 200, description = "that cutoff was settled before", body = SettlementView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("finance_token" = [])))]
#[post("/v1/settlements")]
pub async fn settle(
    state: web::Data<AppState>,
    who: Finance,
    req: HttpRequest,
    Body(body): Body,
) -> Result<HttpResponse, ApiError> {
    who.network_wide()?;
    let idem = optional_idempotency(&req, &body)?;
    let r: SettleRequest = json_body(&req, &body)?;
    let work = Clearing::settle_work(&r.cutoff)?;
    let reply = state
        .clearing
        .once_as("finance".into(), idem, work, views::settled)
        .await?;
    Ok(respond(reply))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// 1 to 100; 100 by default.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SettlementsPage {
    pub items: Vec<SettlementView>,
    pub next_cursor: Option<String>,
}

/// Settlements, oldest first.
#[utoipa::path(get, path = "/v1/settlements", tag = "finance", params(ListQuery),
    responses((status = 200, body = SettlementsPage)), security(("finance_token" = [])))]
#[get("/v1/settlements")]
pub async fn list(
    state: web::Data<AppState>,
    who: Finance,
    query: web::Query<ListQuery>,
) -> Result<web::Json<SettlementsPage>, ApiError> {
    let limit = query.limit.unwrap_or(MAX_SETTLEMENTS_PER_PAGE);
    if !(1..=MAX_SETTLEMENTS_PER_PAGE).contains(&limit) {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            format!("limit must be 1 to {MAX_SETTLEMENTS_PER_PAGE}"),
        ));
    }
    let after = match &query.cursor {
        Some(c) => c.parse::<i64>().map_err(|_| {
            ApiError::new(
                ErrorCode::InvalidCursor,
                "the cursor is not one this API gave out",
            )
        })?,
        None => i64::MIN,
    };
    let items = state.clearing.settlements(after, limit).await?;
    let scale = state.clearing.network().currency_scale;
    let next = (items.len() as i64 == limit)
        .then(|| items.last().map(|s| s.row.cutoff_us.to_string()))
        .flatten();
    Ok(web::Json(SettlementsPage {
        items: items
            .iter()
            .map(|s| view(s, scale, who.0.partner.as_ref()))
            .collect(),
        next_cursor: next,
    }))
}

/// One settlement.
#[utoipa::path(get, path = "/v1/settlements/{settlement_id}", tag = "finance", params(("settlement_id" = String, Path)),
    responses((status = 200, body = SettlementView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("finance_token" = [])))]
#[get("/v1/settlements/{settlement_id}")]
pub async fn one(
    state: web::Data<AppState>,
    who: Finance,
    path: web::Path<String>,
) -> Result<web::Json<SettlementView>, ApiError> {
    let s = state.clearing.settlement(&path).await?;
    Ok(web::Json(view(
        &s,
        state.clearing.network().currency_scale,
        who.0.partner.as_ref(),
    )))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatementLine {
    pub entry_id: String,
    pub seq: i64,
    pub created_at: String,
    pub kind: String,
    pub reference: Option<String>,
    pub member_id: Option<String>,
    pub account: String,
    /// From the partner's side: above zero the network owes the partner.
    pub amount: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatementView {
    pub settlement_id: String,
    pub partner: String,
    pub currency: String,
    pub cutoff: String,
    /// Each cycle nets from zero.
    pub opening_balance: String,
    /// The net: the sum of the lines.
    pub closing_balance: String,
    pub net: String,
    pub entries: Vec<StatementLine>,
}

fn statement_json(st: &Statement, scale: Scale) -> String {
    let v = StatementView {
        settlement_id: st.settlement.row.id.clone(),
        partner: st.party.clone(),
        currency: st.settlement.row.currency.clone(),
        cutoff: time::rfc3339(st.settlement.row.cutoff_us),
        opening_balance: money(0, scale),
        closing_balance: money(st.net_minor, scale),
        net: money(st.net_minor, scale),
        entries: st
            .lines
            .iter()
            .map(|l| StatementLine {
                entry_id: l.entry_id.clone(),
                seq: l.seq,
                created_at: time::rfc3339(l.created_at_us),
                kind: l.kind.clone(),
                reference: l.reference.clone(),
                member_id: l.member.clone(),
                account: l.account.clone(),
                amount: money(-l.amount_minor, scale),
            })
            .collect(),
    };
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

fn statement_csv(st: &Statement, scale: Scale) -> String {
    let mut out = String::from("entry_id,seq,created_at,kind,reference,member_id,account,amount\n");
    for l in &st.lines {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            l.entry_id,
            l.seq,
            time::rfc3339(l.created_at_us),
            l.kind,
            csv_field(l.reference.as_deref().unwrap_or("")),
            l.member.as_deref().unwrap_or(""),
            l.account,
            money(-l.amount_minor, scale)
        ));
    }
    out
}

fn xml_escape(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&apos;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// ISO 20022 camt.053.001.08 (bank to customer statement): the partner's position as an account
/// statement with opening and closing balances and one booked entry per line.
fn statement_camt053(st: &Statement, scale: Scale, network: &str) -> String {
    let ccy = xml_escape(&st.settlement.row.currency);
    let now = time::rfc3339(st.settlement.row.created_at_us);
    let date = time::rfc3339(st.settlement.row.cutoff_us)
        .get(..10)
        .unwrap_or("1970-01-01")
        .to_owned();
    let bal = |code: &str, minor: i64| {
        let (ind, amt) = if minor < 0 {
            ("DBIT", -minor)
        } else {
            ("CRDT", minor)
        };
        format!(
            "      <Bal>\n        <Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>\n        <Amt Ccy=\"{ccy}\">{}</Amt>\n        <CdtDbtInd>{ind}</CdtDbtInd>\n        <Dt><Dt>{date}</Dt></Dt>\n      </Bal>\n",
            money(amt, scale)
        )
    };
    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str(
        "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\">\n  <BkToCstmrStmt>\n",
    );
    x.push_str(&format!(
        "    <GrpHdr>\n      <MsgId>{}-{}</MsgId>\n      <CreDtTm>{now}</CreDtTm>\n    </GrpHdr>\n",
        xml_escape(&st.settlement.row.id),
        xml_escape(&st.party)
    ));
    x.push_str(&format!(
        "    <Stmt>\n      <Id>{}</Id>\n      <CreDtTm>{now}</CreDtTm>\n      <Acct>\n        <Id><Othr><Id>settlement:{}:{ccy}</Id></Othr></Id>\n        <Ccy>{ccy}</Ccy>\n        <Svcr><FinInstnId><Nm>{}</Nm></FinInstnId></Svcr>\n      </Acct>\n",
        xml_escape(&st.settlement.row.id),
        xml_escape(&st.party),
        xml_escape(network)
    ));
    x.push_str(&bal("OPBD", 0));
    x.push_str(&bal("CLBD", st.net_minor));
    for l in &st.lines {
        let amount = -l.amount_minor;
        let (ind, amt) = if amount < 0 {
            ("DBIT", -amount)
        } else {
            ("CRDT", amount)
        };
        let day = time::rfc3339(l.created_at_us)
            .get(..10)
            .unwrap_or("1970-01-01")
            .to_owned();
        x.push_str(&format!(
            "      <Ntry>\n        <NtryRef>{}</NtryRef>\n        <Amt Ccy=\"{ccy}\">{}</Amt>\n        <CdtDbtInd>{ind}</CdtDbtInd>\n        <Sts><Cd>BOOK</Cd></Sts>\n        <BookgDt><Dt>{day}</Dt></BookgDt>\n        <ValDt><Dt>{date}</Dt></ValDt>\n        <AcctSvcrRef>{}</AcctSvcrRef>\n        <BkTxCd><Prtry><Cd>{}</Cd></Prtry></BkTxCd>\n        <NtryDtls><TxDtls><Refs><EndToEndId>{}</EndToEndId></Refs><AddtlTxInf>{}</AddtlTxInf></TxDtls></NtryDtls>\n      </Ntry>\n",
            l.seq,
            money(amt, scale),
            xml_escape(&l.entry_id),
            xml_escape(&l.kind),
            xml_escape(l.reference.as_deref().unwrap_or("NOTPROVIDED")),
            xml_escape(&l.account)
        ));
    }
    x.push_str("    </Stmt>\n  </BkToCstmrStmt>\n</Document>\n");
    x
}

/// A partner's statement: every entry behind its net, signed (`Statement-Signature`: a detached
/// JWS over the exact body, RFC 7515 appendix F). `Accept`: application/json (default),
/// text/csv, or application/xml (ISO 20022 camt.053).
#[utoipa::path(get, path = "/v1/settlements/{settlement_id}/statements/{partner}", tag = "finance",
    params(("settlement_id" = String, Path), ("partner" = String, Path, description = "a partner id, or network")),
    responses(
        (status = 200, description = "the statement: JSON, CSV with one line per entry, or ISO 20022 camt.053.001.08, as `Accept` asks",
            content((StatementView = "application/json"), (String = "text/csv"), (String = "application/xml")),
            headers(("Statement-Signature" = String, description = "detached compact JWS over the body"))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("finance_token" = [])))]
#[get("/v1/settlements/{settlement_id}/statements/{partner}")]
pub async fn statement(
    state: web::Data<AppState>,
    who: Finance,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, party) = path.into_inner();
    if party == NETWORK {
        who.network_wide()?;
    } else {
        let p: PartnerId = party
            .parse()
            .map_err(|_| ApiError::new(ErrorCode::NotFound, "no such partner"))?;
        who.for_partner(&p)?;
    }
    let st = state.clearing.statement(&id, &party).await?;
    let scale = state.clearing.network().currency_scale;
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let (content_type, body) = if accept.contains("text/csv") {
        ("text/csv; charset=utf-8", statement_csv(&st, scale))
    } else if accept.contains("application/xml") || accept.contains("text/xml") {
        (
            "application/xml",
            statement_camt053(&st, scale, &state.clearing.network().name),
        )
    } else {
        ("application/json", statement_json(&st, scale))
    };
    let ctx = state.clearing.context();
    let signature = jws::sign_detached(&ctx.key, &ctx.kid, body.as_bytes());
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Statement-Signature", signature))
        .body(body))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentRequest {
    pub partner: String,
    /// Decimal string, at most what is left on the partner's position.
    pub amount: String,
    /// 1 to 128 characters.
    #[schema(min_length = 1, max_length = 128)]
    pub bank_reference: String,
}

/// Record money moved for a partner's position, against the network's bank account.
#[utoipa::path(post, path = "/v1/settlements/{settlement_id}/payments", tag = "finance", request_body = PaymentRequest,
    params(("settlement_id" = String, Path)),
    responses((status = 201, description = "receipt; status is the settlement's", body = EntryView),
        (status = 422, description = "overpayment, invalid_amount", body = Problem, content_type = "application/problem+json")),
    security(("finance_token" = [])))]
#[post("/v1/settlements/{settlement_id}/payments")]
pub async fn pay(
    state: web::Data<AppState>,
    who: Finance,
    req: HttpRequest,
    path: web::Path<String>,
    Body(body): Body,
) -> Result<HttpResponse, ApiError> {
    who.network_wide()?;
    let idem = optional_idempotency(&req, &body)?;
    let p: PaymentRequest = json_body(&req, &body)?;
    let work = Clearing::pay_work(path.into_inner(), p.partner, p.amount, p.bank_reference);
    let reply = state
        .clearing
        .once_as("finance".into(), idem, work, views::entry_created)
        .await?;
    Ok(respond(reply))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReconcileQuery {
    pub partner: String,
    /// RFC 3339: the period the partner's file covers.
    #[param(format = DateTime)]
    pub from: String,
    #[param(format = DateTime)]
    pub to: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReconciliationLine {
    pub reference: String,
    pub kind: String,
    pub amount: String,
    pub unit: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReconciliationMismatch {
    pub reference: String,
    pub kind: String,
    pub unit: String,
    pub partner_amount: String,
    pub network_amount: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReconciliationView {
    pub matched: usize,
    pub missing_in_network: Vec<ReconciliationLine>,
    pub missing_in_partner: Vec<ReconciliationLine>,
    pub mismatched: Vec<ReconciliationMismatch>,
}

/// Compare a partner's own records (CSV: `reference,kind,amount,unit,occurred_at`) with the
/// network's entries for it in the period, by reference, kind and unit.
#[utoipa::path(post, path = "/v1/reconciliations", tag = "finance", params(ReconcileQuery),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ReconciliationView),
        (status = 422, description = "invalid_csv, naming the line", body = Problem, content_type = "application/problem+json")),
    security(("finance_token" = [])))]
#[post("/v1/reconciliations")]
pub async fn reconcile(
    state: web::Data<AppState>,
    who: Finance,
    query: web::Query<ReconcileQuery>,
    payload: web::Payload,
) -> Result<web::Json<ReconciliationView>, ApiError> {
    // Partners' files are larger than API bodies: read this one with its own limit.
    let body = read_body(payload, MAX_RECONCILIATION_BYTES).await?;
    let partner: PartnerId = query
        .partner
        .parse()
        .map_err(|_| ApiError::new(ErrorCode::InvalidRequest, "unknown partner"))?;
    who.for_partner(&partner)?;
    if state.clearing.network().partner(&partner).is_none() {
        return Err(ApiError::new(ErrorCode::InvalidRequest, "unknown partner"));
    }
    let from = time::parse_rfc3339(&query.from)
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidQuery, "from must be an RFC 3339 time"))?;
    let to = time::parse_rfc3339(&query.to)
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidQuery, "to must be an RFC 3339 time"))?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::new(ErrorCode::InvalidCsv, "the file is not UTF-8"))?;
    let r: Report = state.clearing.reconcile(&partner, from, to, text).await?;
    let line = |l: crate::clearing::reconcile::Line| ReconciliationLine {
        reference: l.reference,
        kind: l.kind,
        amount: l.amount,
        unit: l.unit,
    };
    Ok(web::Json(ReconciliationView {
        matched: r.matched,
        missing_in_network: r.missing_in_network.into_iter().map(line).collect(),
        missing_in_partner: r.missing_in_partner.into_iter().map(line).collect(),
        mismatched: r
            .mismatched
            .into_iter()
            .map(|m| ReconciliationMismatch {
                reference: m.reference,
                kind: m.kind,
                unit: m.unit,
                partner_amount: m.partner_amount,
                network_amount: m.network_amount,
            })
            .collect(),
    }))
}

// The export formats, as the document names them (the handler reads the text and answers 422
// for any other, as it did before the document listed them).
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
#[expect(dead_code, reason = "named in the document only; never built")]
enum ExportFormatName {
    Csv,
    Ledger,
    Beancount,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// csv, ledger (ledger-cli and hledger) or beancount.
    #[param(inline, value_type = ExportFormatName)]
    pub format: String,
    /// Only entries created at or after this time (RFC 3339).
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// Only entries created before this time (RFC 3339).
    #[param(format = DateTime)]
    pub to: Option<String>,
}

/// The journal as CSV, a ledger-cli/hledger journal or a beancount file.
#[utoipa::path(get, path = "/v1/ledger/export", tag = "finance", params(ExportQuery),
    responses((status = 200, description = "the journal: CSV, or a ledger-cli/hledger or beancount text",
            content((String = "text/csv"), (String = "text/plain"))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "an unknown format", body = Problem, content_type = "application/problem+json")),
    security(("finance_token" = [])))]
#[get("/v1/ledger/export")]
pub async fn export(
    state: web::Data<AppState>,
    who: Finance,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    who.network_wide()?;
    let format: Format = query.format.parse()?;
    let at = |t: &Option<String>| {
        t.as_deref()
            .map(|s| {
                time::parse_rfc3339(s).ok_or_else(|| {
                    ApiError::new(ErrorCode::InvalidQuery, "from and to are RFC 3339 times")
                })
            })
            .transpose()
    };
    let clearing = state.clearing.clone();
    let mut export = clearing.export(format, at(&query.from)?, at(&query.to)?);
    // The first page is read before answering: a database that fails now is still a 503.
    let first = clearing.export_next(&mut export).await?.unwrap_or_default();
    let rest = futures_util::stream::unfold(
        (clearing, export),
        |(clearing, mut export)| async move {
            match clearing.export_next(&mut export).await {
                Ok(Some(page)) => Some((Ok(Bytes::from(page)), (clearing, export))),
                Ok(None) => None,
                Err(e) => {
                    // The status line is gone: the client sees the body cut short.
                    tracing::error!(error = %e, "export failed while streaming; connection cut");
                    Some((Err(ApiError::from(e)), (clearing, export)))
                }
            }
        },
    );
    let body = futures_util::stream::once(std::future::ready(Ok(Bytes::from(first)))).chain(rest);
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .streaming(body))
}
