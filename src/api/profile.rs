//! Routes for the behaviour profile and the tier: the member's own (a member token with the
//! `profile` scope) and a linked brand's view (a signed partner call, by member id or card).

use actix_web::{get, web};

use super::AppState;
use super::auth::{Member, Signed};
use super::member_ref::path_member;
use super::problem::{ApiError, Problem};
use crate::clearing::views::profile::ProfileView;
use crate::clearing::views::tier::TierView;

/// The member's profile at every brand: visits, spend, the value of points earned and redeemed
/// (at the value in force when each was posted), first and last seen, and the totals.
#[utoipa::path(get, path = "/v1/me/profile", tag = "member",
    responses((status = 200, body = ProfileView),
        (status = 403, description = "the token lacks the `profile` scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "the member was erased", body = Problem, content_type = "application/problem+json")),
    security(("member_token" = [])))]
#[get("/v1/me/profile")]
pub async fn mine(
    state: web::Data<AppState>,
    me: Member,
) -> Result<web::Json<ProfileView>, ApiError> {
    let member = me.require("profile")?;
    Ok(web::Json(state.clearing.my_profile(member).await?))
}

/// A member's profile as this brand may see it: its own row always; the other brands' rows and
/// the totals only when the member shares their profile with this brand. A member not linked to
/// this brand is `404`, as one that does not exist.
#[utoipa::path(get, path = "/v1/members/{member_id}/profile", tag = "partner",
    params(("member_id" = String, Path, description = "member id (UUID), or the member's card number (16 digits)")),
    responses(
        (status = 200, body = ProfileView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "the card was replaced", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "16 digits that are no card number (Luhn)", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/v1/members/{member_id}/profile")]
pub async fn of_member(
    state: web::Data<AppState>,
    req: Signed,
    path: web::Path<String>,
) -> Result<web::Json<ProfileView>, ApiError> {
    let member = path_member(&state, &req, &path).await?;
    Ok(web::Json(
        state
            .clearing
            .profile_for(&req.caller.partner, member)
            .await?,
    ))
}

/// The member's tier: the qualifying spend over the rolling window, since when, when it ends
/// without more spend, what the next tier needs, and every change with its reason.
#[utoipa::path(get, path = "/v1/me/tier", tag = "member",
    responses((status = 200, body = TierView),
        (status = 403, description = "the token lacks the `profile` scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "the member was erased", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "the network has no tiers", body = Problem, content_type = "application/problem+json")),
    security(("member_token" = [])))]
#[get("/v1/me/tier")]
pub async fn my_tier(
    state: web::Data<AppState>,
    me: Member,
) -> Result<web::Json<TierView>, ApiError> {
    let member = me.require("profile")?;
    Ok(web::Json(state.clearing.tier_of(member, None).await?))
}

/// A member's tier as this brand may see it: `tier` and `since` always; the qualifying spend,
/// what comes next and the history only when the member shares their profile with this brand.
/// A member not linked to this brand is `404`.
#[utoipa::path(get, path = "/v1/members/{member_id}/tier", tag = "partner",
    params(("member_id" = String, Path, description = "member id (UUID), or the member's card number (16 digits)")),
    responses(
        (status = 200, body = TierView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "the card was replaced", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "no card number (Luhn), or the network has no tiers", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/v1/members/{member_id}/tier")]
pub async fn member_tier(
    state: web::Data<AppState>,
    req: Signed,
    path: web::Path<String>,
) -> Result<web::Json<TierView>, ApiError> {
    let member = path_member(&state, &req, &path).await?;
    Ok(web::Json(
        state
            .clearing
            .tier_of(member, Some(&req.caller.partner))
            .await?,
    ))
}
