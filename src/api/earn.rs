//! `POST /v1/earn` and `POST /v1/earn/quote` (signed partners): a purchase, with its basket, or
//! points, and the receipt that explains every point.

use actix_web::{HttpResponse, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::auth::Signed;
use super::codes::ErrorCode;
use super::member_ref::{card_guarded, member_ref};
use super::partner::{DecimalText, parse_unit, respond};
use super::problem::{ApiError, Problem};
use crate::clearing::earn::{Computed, EarnAmount, EarnInput, LineInput};
use crate::clearing::views;
use crate::clearing::views::entry::{EntryView, RulePoints};
use crate::clearing::write::Idempotency;

/// One line of a basket.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BasketLine {
    /// The partner's product code (informational), up to 64 characters.
    pub sku: Option<String>,
    /// What earn rules match on (`categories` in the manifest), up to 64 characters.
    pub category: Option<String>,
    /// The line's total in the settlement currency (not a unit price).
    #[schema(value_type = String, example = "18.00")]
    pub amount: DecimalText,
    /// Informational: `amount` is already the line's total.
    #[schema(value_type = Option<String>, example = "2")]
    pub quantity: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Purchase {
    #[schema(value_type = String, example = "120.00")]
    pub amount: DecimalText,
    /// The settlement currency, e.g. ILS.
    pub currency: String,
    /// The basket: its lines must add up to `amount` (else `422 invalid_basket`), at most 200.
    #[serde(default)]
    pub lines: Vec<BasketLine>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EarnRequest {
    /// The member's id; or give `card_number` instead.
    pub member_id: Option<String>,
    /// The card the member presents (16 digits): stands for `member_id`, and links your brand
    /// to the member if it was not.
    pub card_number: Option<String>,
    /// Defaults to the partner's own unit.
    pub unit: Option<String>,
    /// Points to award, a decimal string; or give `purchase` instead (points get the tier bonus
    /// but no rules).
    #[schema(value_type = Option<String>, example = "50")]
    pub points: Option<DecimalText>,
    /// A purchase the partner's earn rate and rules turn into points (each rule's rounded down
    /// to the unit's scale).
    pub purchase: Option<Purchase>,
    /// The partner's own reference (receipt or order number), 1 to 128 characters.
    #[schema(min_length = 1, max_length = 128)]
    pub reference: String,
    /// When the purchase happened (RFC 3339), from 2000-01-01 to a day ahead of the service's
    /// clock. Rules see the posting time, not this.
    #[schema(format = DateTime)]
    pub occurred_at: Option<String>,
}

/// The same body as an earn's, without `reference`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteRequest {
    pub member_id: Option<String>,
    pub card_number: Option<String>,
    pub unit: Option<String>,
    #[schema(value_type = Option<String>, example = "50")]
    pub points: Option<DecimalText>,
    pub purchase: Option<Purchase>,
    #[schema(format = DateTime)]
    pub occurred_at: Option<String>,
}

/// What an earn would give now.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct QuoteView {
    pub unit: String,
    /// Everything the member would get: the rules' points and the tier bonus.
    pub points: String,
    /// Each rule's points, rounded down to the unit's scale; the base rate is `base`.
    pub rules: Vec<RulePoints>,
    /// The member's tier now (the network's ladder), and the bonus it adds.
    pub tier: Option<String>,
    pub tier_bonus: String,
}

impl From<Computed> for QuoteView {
    fn from(c: Computed) -> Self {
        Self {
            unit: c.unit.to_string(),
            points: c.points.to_string(),
            rules: c
                .rules
                .into_iter()
                .map(|a| RulePoints {
                    id: a.rule,
                    points: a.points.to_string(),
                })
                .collect(),
            tier: c.tier,
            tier_bonus: c.tier_bonus.to_string(),
        }
    }
}

fn amount(points: Option<DecimalText>, purchase: Option<Purchase>) -> Result<EarnAmount, ApiError> {
    match (points, purchase) {
        (Some(p), None) => Ok(EarnAmount::Points(p.text()?)),
        (None, Some(p)) => {
            let mut lines = Vec::with_capacity(p.lines.len());
            for l in p.lines {
                lines.push(LineInput {
                    sku: l.sku,
                    category: l.category,
                    amount: l.amount.text()?,
                });
            }
            Ok(EarnAmount::Purchase {
                amount: p.amount.text()?,
                currency: p.currency,
                lines,
            })
        }
        _ => Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "give either points or purchase",
        )),
    }
}

/// Award points to a member, or a purchase's worth of them: the base rate, the partner's earn
/// rules and the tier bonus, each listed on the receipt.
#[utoipa::path(post, path = "/v1/earn", tag = "partner", request_body = EarnRequest,
    params(("Idempotency-Key" = String, Header, description = "1 to 255 printable ASCII characters")),
    responses(
        (status = 201, description = "receipt", body = EntryView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_basket, invalid_amount, …", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown_card (a card nobody holds), or not_found", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "card_revoked: the card was replaced", body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/v1/earn")]
pub async fn earn(state: web::Data<AppState>, req: Signed) -> Result<HttpResponse, ApiError> {
    let idem = req.idempotency()?;
    let body: EarnRequest = req.json()?;
    let card = body.card_number.is_some();
    card_guarded(&state, &req, card, earn_with(&state, &req, idem, body)).await
}

async fn earn_with(
    state: &AppState,
    req: &Signed,
    idem: Idempotency,
    body: EarnRequest,
) -> Result<HttpResponse, ApiError> {
    let input = EarnInput {
        member: member_ref(body.member_id.as_deref(), body.card_number.as_deref())?,
        unit: body.unit.as_deref().map(parse_unit).transpose()?,
        amount: amount(body.points, body.purchase)?,
        reference: body.reference,
        occurred_at: body.occurred_at,
    };
    let work = state.clearing.earn_work(&req.caller, input)?;
    Ok(respond(
        state
            .clearing
            .once(&req.caller, idem, work, views::entry_created)
            .await?,
    ))
}

/// What the same earn would give now, without posting anything (no `Idempotency-Key`: it
/// changes nothing). Equal to the earn posted at the same moment.
#[utoipa::path(post, path = "/v1/earn/quote", tag = "partner", request_body = QuoteRequest,
    responses(
        (status = 200, description = "the points, rule by rule", body = QuoteView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_basket, invalid_amount, …", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown_card, or not_found (a member not linked to you)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "card_revoked", body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/v1/earn/quote")]
pub async fn quote(state: web::Data<AppState>, req: Signed) -> Result<HttpResponse, ApiError> {
    let body: QuoteRequest = req.json()?;
    let card = body.card_number.is_some();
    let quoted = async {
        let input = EarnInput {
            member: member_ref(body.member_id.as_deref(), body.card_number.as_deref())?,
            unit: body.unit.as_deref().map(parse_unit).transpose()?,
            amount: amount(body.points, body.purchase)?,
            reference: String::new(),
            occurred_at: body.occurred_at,
        };
        let c = state.clearing.earn_quote(&req.caller, input).await?;
        Ok(HttpResponse::Ok().json(QuoteView::from(c)))
    };
    card_guarded(&state, &req, card, quoted).await
}
