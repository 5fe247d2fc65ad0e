//! `GET /v1/insights`: a partner's (signed, or its finance user's bearer token), or the
//! network's (the operator's or the network's finance staff; `?partner=` for one partner's).

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev, get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::AppState;
use super::auth::{Finance, Signed};
use super::codes::ErrorCode;
use super::problem::{ApiError, Problem};
use crate::clearing::insights::InsightsView;
use crate::ledger::PartnerId;

/// Who reads: a signed partner, or a finance or operator token.
pub enum Reader {
    Partner(Signed),
    Finance(Finance),
}

impl FromRequest for Reader {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut dev::Payload) -> Self::Future {
        let bearer = super::auth::is_bearer(req);
        if bearer {
            let who = Finance::from_request(req, payload).into_inner();
            return Box::pin(async move { Ok(Reader::Finance(who?)) });
        }
        let signed = Signed::from_request(req, payload);
        Box::pin(async move { Ok(Reader::Partner(signed.await?)) })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InsightsQuery {
    /// For the operator and the network's finance staff: one partner's insights.
    pub partner: Option<String>,
}

/// Active and new members, visits, the tier mix, the overlap with each other brand (members
/// who share their profile with you; under 10 reads `"<10"`), and each campaign's issuance and
/// redemption. Counted once a day (`computed_at`) from the behaviour aggregates.
#[utoipa::path(get, path = "/v1/insights", tag = "partner", params(InsightsQuery),
    responses(
        (status = 200, body = InsightsView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "a partner's finance user asking for another partner", body = Problem, content_type = "application/problem+json"),
    ),
    security(("partner_signature" = []), ("finance_token" = [])))]
#[get("/v1/insights")]
pub async fn insights(
    state: web::Data<AppState>,
    who: Reader,
    query: web::Query<InsightsQuery>,
) -> Result<web::Json<InsightsView>, ApiError> {
    let asked: Option<PartnerId> = match query.into_inner().partner {
        Some(p) => Some(
            p.parse()
                .ok()
                .filter(|p| state.clearing.network().partner(p).is_some())
                .ok_or_else(|| ApiError::new(ErrorCode::InvalidQuery, format!("no partner {p}")))?,
        ),
        None => None,
    };
    let partner = match &who {
        Reader::Partner(s) => {
            if asked.as_ref().is_some_and(|a| *a != s.caller.partner) {
                return Err(ApiError::new(
                    ErrorCode::Forbidden,
                    "a partner reads its own insights",
                ));
            }
            Some(s.caller.partner.clone())
        }
        Reader::Finance(f) => match (&f.0.partner, asked) {
            (Some(own), asked) => {
                f.for_partner(asked.as_ref().unwrap_or(own))?;
                Some(own.clone())
            }
            (None, asked) => asked,
        },
    };
    Ok(web::Json(state.clearing.insights(partner.as_ref()).await?))
}
