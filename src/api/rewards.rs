//! Rewards: the catalogue (`POST /v1/rewards` by a signed partner, `GET /v1/rewards` for
//! anyone), a member's claims (`POST /v1/me/rewards/{id}/claims`, `GET /v1/me/rewards`) and the
//! partner's fulfilment or cancellation of a claim.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::{Body, Member, Signed, optional_idempotency};
use super::codes::ErrorCode;
use super::partner::{DecimalText, respond};
use super::problem::{ApiError, Problem};
use crate::clearing::rewards::{ClaimView, Claimed, RewardInput, RewardView};
use crate::clearing::write::Work;
use crate::clearing::{Clearing, views};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RewardRequest {
    /// 1 to 100 characters, e.g. "Latte art workshop".
    pub name: String,
    /// 1 to 2 000 characters.
    pub description: String,
    /// The point unit the price is in: your own, or another brand's (a claim then clears as a
    /// redemption of that brand's points at your brand).
    pub unit: String,
    #[schema(value_type = String, example = "400")]
    pub points: DecimalText,
    /// Places: 1 to 1 000 000. Never oversold.
    pub capacity: i64,
    /// RFC 3339: claims open then (now when left out)...
    pub starts_at: Option<String>,
    /// ...and close then (never when left out).
    pub ends_at: Option<String>,
}

/// Offer a reward — a workshop, an event, a product — for points, with a number of places.
#[utoipa::path(post, path = "/v1/rewards", tag = "partner", request_body = RewardRequest,
    params(("Idempotency-Key" = String, Header, description = "1 to 255 printable ASCII characters")),
    responses(
        (status = 201, body = RewardView),
        (status = 422, description = "invalid_request, invalid_amount, unknown_unit", body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/v1/rewards")]
pub async fn create(state: web::Data<AppState>, req: Signed) -> Result<HttpResponse, ApiError> {
    let idem = req.idempotency()?;
    let body: RewardRequest = req.json()?;
    let input = RewardInput {
        name: body.name,
        description: body.description,
        unit: body.unit,
        points: body.points.text()?,
        capacity: body.capacity,
        starts_at: body.starts_at,
        ends_at: body.ends_at,
    };
    let work = state.clearing.create_reward_work(&req.caller, input)?;
    let reply = state
        .clearing
        .once(&req.caller, idem, work, views::reward_created)
        .await?;
    Ok(respond(reply))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RewardsQuery {
    /// 1 to 200 (default 100).
    pub limit: Option<i64>,
    /// The last `reward_id` of the previous page (another is `400 invalid_cursor`).
    pub after: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RewardsPage {
    pub items: Vec<RewardView>,
}

/// The rewards on offer (not over yet), oldest first: name, price and places left.
#[utoipa::path(get, path = "/v1/rewards", tag = "public", params(RewardsQuery),
    responses((status = 200, body = RewardsPage), (status = 400, body = Problem, content_type = "application/problem+json")))]
#[get("/v1/rewards")]
pub async fn list(
    state: web::Data<AppState>,
    query: web::Query<RewardsQuery>,
) -> Result<web::Json<RewardsPage>, ApiError> {
    let q = query.into_inner();
    let limit = q.limit.unwrap_or(100);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            "limit must be 1 to 200",
        ));
    }
    let after = match q.after {
        Some(id) => match state.clearing.reward(&id).await {
            Ok((_, at)) => Some((at, id)),
            Err(crate::clearing::ClearingError::NotFound(_)) => {
                return Err(ApiError::new(
                    ErrorCode::InvalidCursor,
                    "after must be the reward_id of a reward listed",
                ));
            }
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let items = state.clearing.rewards(after, limit).await?;
    Ok(web::Json(RewardsPage { items }))
}

/// Claim a place: the price is spent from the member's balance (as a redemption at the
/// reward's partner) and a place taken in the same write. The token's partner must be the
/// issuer of the unit paid in. `409`-free: the last place goes to exactly one claim, the
/// others get `422 sold_out`.
#[utoipa::path(post, path = "/v1/me/rewards/{reward_id}/claims", tag = "member",
    params(("reward_id" = String, Path)),
    responses(
        (status = 201, body = ClaimView),
        (status = 403, description = "forbidden: the token's partner does not issue the unit paid in", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "sold_out, reward_unavailable, insufficient_balance", body = Problem, content_type = "application/problem+json"),
    ),
    security(("member_token" = [])))]
#[post("/v1/me/rewards/{reward_id}/claims")]
pub async fn claim_place(
    state: web::Data<AppState>,
    me: Member,
    req: HttpRequest,
    Body(body): Body,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let member = me.require("rewards")?;
    let idem = optional_idempotency(&req, &body)?;
    let work = state
        .clearing
        .claim_reward_work(member, &me.0.azp, path.into_inner());
    let reply = state
        .clearing
        .once_as(format!("member:{member}"), idem, work, views::claim_created)
        .await?;
    Ok(respond(reply))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MyClaim {
    pub claim: ClaimView,
    pub reward: RewardView,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MyClaims {
    pub items: Vec<MyClaim>,
}

/// The member's claims, newest first (at most 200), with their rewards.
#[utoipa::path(get, path = "/v1/me/rewards", tag = "member",
    responses((status = 200, body = MyClaims), (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("member_token" = [])))]
#[get("/v1/me/rewards")]
pub async fn mine(state: web::Data<AppState>, me: Member) -> Result<web::Json<MyClaims>, ApiError> {
    let member = me.require("rewards")?;
    let items = state
        .clearing
        .member_claims(member)
        .await?
        .into_iter()
        .map(|(claim, reward)| MyClaim { claim, reward })
        .collect();
    Ok(web::Json(MyClaims { items }))
}

/// The member came: the claim is fulfilled (again: the same answer).
#[utoipa::path(post, path = "/v1/rewards/{reward_id}/claims/{claim_code}/fulfil", tag = "partner",
    params(("reward_id" = String, Path), ("claim_code" = String, Path),
        ("Idempotency-Key" = String, Header, description = "1 to 255 printable ASCII characters")),
    responses(
        (status = 200, body = ClaimView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "claim_closed: it was cancelled", body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/v1/rewards/{reward_id}/claims/{claim_code}/fulfil")]
pub async fn fulfil(
    state: web::Data<AppState>,
    req: Signed,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (reward, code) = path.into_inner();
    close(
        &state,
        &req,
        Clearing::fulfil_claim_work(&req.caller, reward, code),
    )
    .await
}

/// A claim fulfilled or cancelled by its reward's partner, under the request's key.
async fn close(
    state: &AppState,
    req: &Signed,
    work: impl Work<Claimed>,
) -> Result<HttpResponse, ApiError> {
    let idem = req.idempotency()?;
    let reply = state
        .clearing
        .once(&req.caller, idem, work, views::claim_closed)
        .await?;
    Ok(respond(reply))
}

/// The claim is cancelled: the points go back by a reversal and the place is free again (again:
/// the same answer, nothing posted).
#[utoipa::path(post, path = "/v1/rewards/{reward_id}/claims/{claim_code}/cancel", tag = "partner",
    params(("reward_id" = String, Path), ("claim_code" = String, Path),
        ("Idempotency-Key" = String, Header, description = "1 to 255 printable ASCII characters")),
    responses(
        (status = 200, body = ClaimView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "claim_closed: it was fulfilled", body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/v1/rewards/{reward_id}/claims/{claim_code}/cancel")]
pub async fn cancel(
    state: web::Data<AppState>,
    req: Signed,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (reward, code) = path.into_inner();
    close(
        &state,
        &req,
        Clearing::cancel_claim_work(&req.caller, reward, code),
    )
    .await
}

/// The member's usable offers: their open coupons (targeted ones included) and the rewards open
/// to them.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OffersView {
    pub coupons: Vec<super::members::WalletCoupon>,
    pub rewards: Vec<RewardView>,
}

/// The most rewards `GET /v1/me/offers` lists.
const OFFERED_REWARDS: i64 = 100;

/// The member's usable coupons and the rewards on offer (scope `offers`).
#[utoipa::path(get, path = "/v1/me/offers", tag = "member",
    responses((status = 200, body = OffersView), (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("member_token" = [])))]
#[get("/v1/me/offers")]
pub async fn offers(
    state: web::Data<AppState>,
    me: Member,
) -> Result<web::Json<OffersView>, ApiError> {
    let member = me.require("offers")?;
    let w = state.clearing.wallet(member).await?;
    let rewards = state.clearing.rewards(None, OFFERED_REWARDS).await?;
    Ok(web::Json(OffersView {
        coupons: super::members::wallet_coupons(&w),
        rewards,
    }))
}
