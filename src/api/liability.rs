//! `GET /v1/ledger/liability`: points outstanding per issuer and unit, their value, and the
//! trailing year's earned, redeemed and expired points with the breakage rate (finance).

use actix_web::{get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::AppState;
use super::auth::Finance;
use super::codes::ErrorCode;
use super::problem::{ApiError, Problem};
use crate::clearing::liability::LiabilityReport;
use crate::clearing::time;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LiabilityQuery {
    /// RFC 3339 at a UTC midnight (month end: the first of the next month, 00:00Z): the
    /// report as at that moment. Now when omitted.
    pub at: Option<String>,
}

/// The liability report. The network's finance staff and the operator see every issuer; a
/// partner's finance user sees its own unit. `outstanding` equals the issuer account's balance
/// in the trial balance (at `at`: the balance as of then).
#[utoipa::path(get, path = "/v1/ledger/liability", tag = "finance", params(LiabilityQuery),
    responses((status = 200, body = LiabilityReport),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("finance_token" = [])))]
#[get("/v1/ledger/liability")]
pub async fn liability(
    state: web::Data<AppState>,
    who: Finance,
    query: web::Query<LiabilityQuery>,
) -> Result<web::Json<LiabilityReport>, ApiError> {
    let at = match query.into_inner().at {
        Some(text) => Some(time::parse_rfc3339(&text).ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidQuery, "`at` must be an RFC 3339 time")
        })?),
        None => None,
    };
    let issuer = who.0.partner.clone();
    Ok(web::Json(state.clearing.liability(at, issuer).await?))
}
