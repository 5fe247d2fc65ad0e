//! Routes for cross-partner coupons: campaigns (the caller sponsors them), codes, redemptions.

use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::auth::Signed;
use super::codes::ErrorCode;
use super::member_ref::{card_guarded, member_ref};
use super::partner::{DecimalText, empty_or, respond};
use super::problem::{ApiError, Problem};
use crate::clearing::campaigns::{BenefitInput, CampaignInput};
use crate::clearing::cards::MemberRef;
use crate::clearing::codes::display_code;
use crate::clearing::coupons::Coupon;
use crate::clearing::views::coupons::{
    BenefitView, CampaignView, CouponIssued, CouponRedemptionView, benefit_view, campaign_view,
};
use crate::clearing::views::entry::EntryView;
use crate::clearing::{Clearing, time, views};
use crate::ledger::CampaignId;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BenefitBody {
    /// `amount` (a fixed discount) or `percent` (of the purchase).
    pub kind: String,
    /// The discount, or the percent (e.g. "10" for 10 %), as a decimal string.
    #[schema(value_type = String, example = "15.00")]
    pub value: DecimalText,
    /// The most a percent discount may be; required for percent benefits.
    #[schema(value_type = Option<String>)]
    pub max_discount: Option<DecimalText>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerBody {
    /// A purchase at this partner issues a coupon to the member...
    pub partner: String,
    /// ...when it is at least this much (settlement currency).
    #[schema(value_type = String, example = "100.00")]
    pub min_purchase: DecimalText,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignRequest {
    /// 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Partners where the coupons can be used.
    pub redeemable_at: Vec<String>,
    pub benefit: BenefitBody,
    /// The settlement currency.
    pub currency: String,
    /// The most the sponsor will pay for the campaign's discounts.
    #[schema(value_type = String, example = "1000.00")]
    pub budget: DecimalText,
    /// RFC 3339.
    pub valid_from: String,
    /// RFC 3339; coupons expire then.
    pub valid_until: String,
    /// The most coupons one member may hold, and redeem, of this campaign.
    pub per_member_limit: Option<u32>,
    pub trigger: Option<TriggerBody>,
    /// A targeted offer: one of your segments (`POST /v1/segments`).
    pub audience: Option<AudienceBody>,
    /// With `audience`: a coupon to every member of the segment now and to each who enters it
    /// later while the campaign runs, in the order they enter, once per member, until the
    /// budget cannot reserve one more (`status: budget_exhausted`).
    #[serde(default)]
    pub auto_issue: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AudienceBody {
    pub segment_id: String,
}

fn parse_campaign(text: &str) -> Result<CampaignId, ApiError> {
    text.parse()
        .map_err(|_| ApiError::new(ErrorCode::NotFound, "no such campaign"))
}

/// Start a campaign; the caller is its sponsor and pays for its discounts, never more than the budget.
#[utoipa::path(post, path = "/v1/campaigns", tag = "coupons", request_body = CampaignRequest,
    params(("Idempotency-Key" = String, Header)),
    responses(
        (status = 201, body = CampaignView),
        (status = 422, description = "invalid_request, invalid_amount, budget_exhausted", body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/v1/campaigns")]
pub async fn create_campaign(
    state: web::Data<AppState>,
    req: Signed,
) -> Result<HttpResponse, ApiError> {
    let idem = req.idempotency()?;
    let body: CampaignRequest = req.json()?;
    let input = CampaignInput {
        name: body.name,
        redeemable_at: body.redeemable_at,
        benefit: BenefitInput {
            kind: body.benefit.kind,
            value: body.benefit.value.text()?,
            max_discount: body.benefit.max_discount.map(|d| d.text()).transpose()?,
        },
        currency: body.currency,
        budget: body.budget.text()?,
        valid_from: body.valid_from,
        valid_until: body.valid_until,
        per_member_limit: body.per_member_limit,
        trigger: body
            .trigger
            .map(|t| Ok::<_, ApiError>((t.partner, t.min_purchase.text()?)))
            .transpose()?,
        audience: match (body.audience, body.auto_issue) {
            (Some(a), auto_issue) => Some((a.segment_id, auto_issue)),
            (None, false) => None,
            (None, true) => {
                return Err(ApiError::new(
                    ErrorCode::InvalidRequest,
                    "auto_issue needs an audience",
                ));
            }
        },
    };
    let work = state.clearing.create_campaign_work(&req.caller, input)?;
    let reply = state
        .clearing
        .once(&req.caller, idem, work, views::campaign_created)
        .await?;
    Ok(respond(reply))
}

/// A campaign's budget, reserved, used and remaining amounts and its counts (sponsor only).
#[utoipa::path(get, path = "/v1/campaigns/{campaign_id}", tag = "coupons", params(("campaign_id" = String, Path)),
    responses((status = 200, body = CampaignView), (status = 404, body = Problem, content_type = "application/problem+json")))]
#[get("/v1/campaigns/{campaign_id}")]
pub async fn campaign(
    state: web::Data<AppState>,
    req: Signed,
    path: web::Path<String>,
) -> Result<web::Json<CampaignView>, ApiError> {
    let c = state
        .clearing
        .campaign_for(&req.caller.partner, parse_campaign(&path)?)
        .await?;
    Ok(web::Json(campaign_view(state.clearing.context(), &c)))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    /// Only this member may use the coupon (when the redeeming partner names a member).
    pub member_id: Option<String>,
    /// The member by the card they show, instead of `member_id`.
    pub card_number: Option<String>,
}

/// Issue a coupon of the caller's campaign; its largest possible discount is reserved from the budget.
#[utoipa::path(post, path = "/v1/campaigns/{campaign_id}/coupons", tag = "coupons", request_body = IssueRequest,
    params(("campaign_id" = String, Path), ("Idempotency-Key" = String, Header)),
    responses(
        (status = 201, body = CouponIssued),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "budget_exhausted, per_member_limit, campaign_ended", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "card_revoked: the card was replaced", body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/v1/campaigns/{campaign_id}/coupons")]
pub async fn issue_coupon(
    state: web::Data<AppState>,
    req: Signed,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let idem = req.idempotency()?;
    let campaign_id = parse_campaign(&path)?;
    let body: IssueRequest = empty_or(&req)?;
    let card = body.card_number.is_some();
    let issue = async {
        let member = named(body.member_id.as_deref(), body.card_number.as_deref())?;
        let work = Clearing::issue_coupon_work(&req.caller, campaign_id, member);
        let reply = state
            .clearing
            .once(&req.caller, idem, work, views::coupon_issued)
            .await?;
        Ok(respond(reply))
    };
    card_guarded(&state, &req, card, issue).await
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CouponView {
    pub code: String,
    pub campaign_id: String,
    /// issued, redeemed, expired or voided.
    pub status: String,
    pub benefit: BenefitView,
    pub member_id: Option<String>,
    pub redeemable_at: Vec<String>,
    pub valid_from: String,
    pub expires_at: String,
}

/// A coupon, for its sponsor and the partners it can be redeemed at.
#[utoipa::path(get, path = "/v1/coupons/{code}", tag = "coupons", params(("code" = String, Path)),
    responses((status = 200, body = CouponView), (status = 404, body = Problem, content_type = "application/problem+json")))]
#[get("/v1/coupons/{code}")]
pub async fn coupon(
    state: web::Data<AppState>,
    req: Signed,
    path: web::Path<String>,
) -> Result<web::Json<CouponView>, ApiError> {
    let c: Coupon = state
        .clearing
        .coupon_for(&req.caller.partner, &path)
        .await?;
    Ok(web::Json(CouponView {
        code: display_code(&c.row.code),
        campaign_id: c.row.campaign_id.clone(),
        status: c.status(state.clearing.clock().now_us()).to_string(),
        benefit: benefit_view(&c.campaign.terms.benefit),
        member_id: c.row.member_id.clone(),
        redeemable_at: c.campaign.terms.redeemable_at.clone(),
        valid_from: time::rfc3339(c.campaign.row.valid_from_us),
        expires_at: time::rfc3339(c.row.expires_at_us),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CouponRedemptionRequest {
    /// What the member is paying before the discount (settlement currency).
    #[schema(value_type = String, example = "80.00")]
    pub purchase_amount: DecimalText,
    /// 1 to 128 characters.
    #[schema(min_length = 1, max_length = 128)]
    pub reference: String,
    /// The member using the coupon; must be its holder when the coupon names one.
    pub member_id: Option<String>,
    /// The member by the card they show, instead of `member_id`.
    pub card_number: Option<String>,
}

/// Use a coupon at the caller: the discount on the purchase, paid by the sponsor.
#[utoipa::path(post, path = "/v1/coupons/{code}/redemptions", tag = "coupons", request_body = CouponRedemptionRequest,
    params(("code" = String, Path), ("Idempotency-Key" = String, Header)),
    responses(
        (status = 201, body = CouponRedemptionView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "coupon_not_redeemable, invalid_amount, per_member_limit", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "card_revoked: the card was replaced", body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/v1/coupons/{code}/redemptions")]
pub async fn redeem_coupon(
    state: web::Data<AppState>,
    req: Signed,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let idem = req.idempotency()?;
    let body: CouponRedemptionRequest = req.json()?;
    let card = body.card_number.is_some();
    let redeem = async {
        let member = named(body.member_id.as_deref(), body.card_number.as_deref())?;
        let work = Clearing::redeem_coupon_work(
            &req.caller,
            path.into_inner(),
            body.purchase_amount.text()?,
            body.reference,
            member,
        );
        let reply = state
            .clearing
            .once(&req.caller, idem, work, views::coupon_redeemed)
            .await?;
        Ok(respond(reply))
    };
    card_guarded(&state, &req, card, redeem).await
}

/// Void an unused coupon (sponsor only): its reservation goes back to the budget.
#[utoipa::path(post, path = "/v1/coupons/{code}/void", tag = "coupons", params(("code" = String, Path), ("Idempotency-Key" = String, Header)),
    responses((status = 200, body = EntryView), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
#[post("/v1/coupons/{code}/void")]
pub async fn void_coupon(
    state: web::Data<AppState>,
    req: Signed,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let idem = req.idempotency()?;
    let work = Clearing::void_coupon_work(&req.caller, path.into_inner());
    let reply = state
        .clearing
        .once(&req.caller, idem, work, views::entry_closing)
        .await?;
    Ok(respond(reply))
}

/// The member a coupon call names, if any: by `member_id` or by `card_number`, not both.
fn named(id: Option<&str>, card: Option<&str>) -> Result<Option<MemberRef>, ApiError> {
    match (id, card) {
        (None, None) => Ok(None),
        (id, card) => member_ref(id, card).map(Some),
    }
}
