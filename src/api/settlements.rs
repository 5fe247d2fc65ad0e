//! Routes for finance staff: settlement cycles, signed statements (JSON, CSV, ISO 20022
//! camt.053), payments, reconciliation and the journal export.

use actix_web::body::SizedStream;
use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::{Body, Finance, json_body, optional_idempotency, read_body};
use super::codes::ErrorCode;
use super::partner::respond;
use super::problem::{ApiError, Problem};
use crate::clearing::export::Format;
use crate::clearing::reconcile::Report;
use crate::clearing::statement::SignedStatement;
use crate::clearing::views::entry::EntryView;
use crate::clearing::views::settlement::{SettlementView, view};
use crate::clearing::views::statement::{StatementFormat, StatementView};
use crate::clearing::{Clearing, time, views};
use crate::ledger::{NETWORK, PartnerId};

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

/// How much of a spooled statement is read and sent at a time.
const STATEMENT_CHUNK_BYTES: usize = 64 * 1024;

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
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let format = StatementFormat::from_accept(accept);
    let st = state.clearing.statement(&id, &party, format).await?;
    Ok(send_statement(st).finish_body())
}

/// A statement's body, a chunk at a time.
type StatementChunks = std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<Bytes, ApiError>>>>;

/// A signed statement's response, streamed from its spool: the body, its content type and its
/// `Statement-Signature`. The caller may add headers (a download's file name) before
/// [`StatementResponse::finish_body`].
pub struct StatementResponse {
    builder: actix_web::HttpResponseBuilder,
    body: SizedStream<StatementChunks>,
}

impl StatementResponse {
    /// Adds a header.
    pub fn header(mut self, name: header::HeaderName, value: header::HeaderValue) -> Self {
        self.builder.insert_header((name, value));
        self
    }

    /// The response, body and all.
    pub fn finish_body(mut self) -> HttpResponse {
        self.builder.body(self.body)
    }
}

/// Streams `st` a chunk at a time from its spool (read on the blocking pool).
pub fn send_statement(st: SignedStatement) -> StatementResponse {
    let chunks = futures_util::stream::unfold(Some(st.body), |file| async move {
        let mut file = file?;
        let read = tokio::task::spawn_blocking(move || {
            let mut chunk = vec![0u8; STATEMENT_CHUNK_BYTES];
            let n = std::io::Read::read(&mut file, &mut chunk)?;
            chunk.truncate(n);
            Ok::<_, std::io::Error>((file, chunk))
        })
        .await
        .map_err(std::io::Error::other)
        .and_then(|r| r);
        match read {
            Ok((_, chunk)) if chunk.is_empty() => None,
            Ok((file, chunk)) => Some((Ok(Bytes::from(chunk)), Some(file))),
            Err(e) => {
                tracing::error!(error = %e, "statement spool unreadable while sending; connection cut");
                Some((Err(ApiError::internal()), None))
            }
        }
    });
    let mut builder = HttpResponse::Ok();
    builder
        .content_type(st.format.content_type())
        .insert_header(("Statement-Signature", st.signature));
    StatementResponse {
        builder,
        body: SizedStream::new(st.len_bytes, Box::pin(chunks)),
    }
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
    let rest =
        futures_util::stream::unfold((clearing, export), |(clearing, mut export)| async move {
            match clearing.export_next(&mut export).await {
                Ok(Some(page)) => Some((Ok(Bytes::from(page)), (clearing, export))),
                Ok(None) => None,
                Err(e) => {
                    // The status line is gone: the client sees the body cut short.
                    tracing::error!(error = %e, "export failed while streaming; connection cut");
                    Some((Err(ApiError::from(e)), (clearing, export)))
                }
            }
        });
    let body = futures_util::stream::once(std::future::ready(Ok(Bytes::from(first)))).chain(rest);
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .streaming(body))
}
