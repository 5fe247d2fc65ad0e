//! `POST /v1/reversals`: a partner (signed) reverses part or all of one of its earns,
//! redemptions or captured holds, refunds a coupon redemption, or undoes an expiry of its unit's
//! points; the operator (bearer token) may undo an expiry of a network unit's points.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, HttpResponse, dev, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::AppState;
use super::auth::{Body, Finance, Signed, json_body, optional_idempotency};
use super::codes::ErrorCode;
use super::partner::{DecimalText, parse_entry_id, respond};
use super::problem::{ApiError, Problem};
use crate::clearing::reversal::ReverseInput;
use crate::clearing::tokens::Role;
use crate::clearing::views::entry::EntryView;
use crate::clearing::{Clearing, views};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReversalRequest {
    /// The earn, redemption (or captured hold) to reverse.
    pub entry_id: String,
    /// Points to reverse; all that is left when absent.
    #[schema(value_type = Option<String>)]
    pub points: Option<DecimalText>,
    /// 1 to 128 characters.
    #[schema(min_length = 1, max_length = 128)]
    pub reference: String,
    /// Why, 1 to 500 characters.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

impl ReversalRequest {
    fn input(self) -> Result<ReverseInput, ApiError> {
        Ok(ReverseInput {
            entry_id: parse_entry_id(&self.entry_id)?,
            points: self.points.map(|p| p.text()).transpose()?,
            reference: self.reference,
            reason: self.reason,
        })
    }
}

/// Who reverses: a partner signing its request, or the operator with a bearer token (an
/// expiry of a network unit's points only). A request with a signature is a partner's.
pub enum Reverser {
    Partner(Signed),
    Operator(HttpRequest, Body),
}

impl FromRequest for Reverser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut dev::Payload) -> Self::Future {
        if !super::auth::is_bearer(req) {
            let signed = Signed::from_request(req, payload);
            return Box::pin(async move { Ok(Reverser::Partner(signed.await?)) });
        }
        let who = Finance::from_request(req, payload).into_inner();
        let body = Body::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let who = who?;
            if who.0.role != Role::Operator || who.0.partner.is_some() {
                return Err(ApiError::new(
                    ErrorCode::Forbidden,
                    "the operator undoes a network unit's expiry; a partner signs its requests",
                ));
            }
            Ok(Reverser::Operator(req, body.await?))
        })
    }
}

/// Reverse part or all of an earn or a redemption this partner made, refund a coupon
/// redemption, or undo an expiry of this partner's unit within 90 days. The operator, with its
/// bearer token instead of a signature, may undo an expiry of a network unit's points (within
/// 90 days too).
#[utoipa::path(post, path = "/v1/reversals", tag = "partner", request_body = ReversalRequest,
    params(("Idempotency-Key" = String, Header)),
    responses(
        (status = 201, description = "receipt of the reversal", body = EntryView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "not_reversible, invalid_amount, insufficient_balance", body = Problem, content_type = "application/problem+json"),
    ),
    security(("partner_signature" = []), ("finance_token" = [])))]
#[post("/v1/reversals")]
pub async fn reverse(state: web::Data<AppState>, who: Reverser) -> Result<HttpResponse, ApiError> {
    match who {
        Reverser::Partner(req) => {
            let idem = req.idempotency()?;
            let body: ReversalRequest = req.json()?;
            let work = Clearing::reverse_work(&req.caller, body.input()?)?;
            Ok(respond(
                state
                    .clearing
                    .once(&req.caller, idem, work, views::entry_created)
                    .await?,
            ))
        }
        Reverser::Operator(req, body) => {
            let idem = optional_idempotency(&req, &body.0)?.ok_or_else(|| {
                ApiError::new(
                    ErrorCode::IdempotencyKeyMissing,
                    "every POST needs an Idempotency-Key header",
                )
            })?;
            let asked: ReversalRequest = json_body(&req, &body.0)?;
            let work = Clearing::reverse_network_expiry_work(asked.input()?)?;
            Ok(respond(
                state
                    .clearing
                    .once_as(
                        "operator:network".into(),
                        Some(idem),
                        work,
                        views::entry_created,
                    )
                    .await?,
            ))
        }
    }
}
