//! Routes for a member's links to brands (a member token with the `links` scope) and their card.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::AppState;
use super::auth::{Body, Member, json_body, optional_idempotency};
use super::partner::respond;
use super::problem::{ApiError, Problem};
use crate::clearing::views::links::{CardView, LinkCodeView, LinkView, LinksView};
use crate::clearing::{Clearing, views};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkCodeRequest {
    /// The brand the member wants to join as the member they already are.
    pub partner: String,
}

/// A single-use code (10 minutes) the member gives another brand, which enrols them with it as
/// the same member (`POST /v1/members {external_id, link_code}`).
#[utoipa::path(post, path = "/v1/me/links", tag = "member", request_body = LinkCodeRequest,
    responses((status = 201, body = LinkCodeView),
        (status = 403, description = "the token lacks the `links` scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("member_token" = [])))]
#[post("/v1/me/links")]
pub async fn create(
    state: web::Data<AppState>,
    me: Member,
    req: HttpRequest,
    Body(body): Body,
) -> Result<HttpResponse, ApiError> {
    let member = me.require("links")?;
    let idem = optional_idempotency(&req, &body)?;
    let asked: LinkCodeRequest = json_body(&req, &body)?;
    let work = state.clearing.link_code_work(member, &asked.partner)?;
    let reply = state
        .clearing
        .once_as(
            format!("member:{member}"),
            idem,
            work,
            views::links::link_code,
        )
        .await?;
    Ok(respond(reply))
}

/// The brands the member is linked to, with each brand's own id for them.
#[utoipa::path(get, path = "/v1/me/links", tag = "member",
    responses((status = 200, body = LinksView),
        (status = 403, description = "the token lacks the `links` scope", body = Problem, content_type = "application/problem+json")),
    security(("member_token" = [])))]
#[get("/v1/me/links")]
pub async fn list(
    state: web::Data<AppState>,
    me: Member,
) -> Result<web::Json<LinksView>, ApiError> {
    let member = me.require("links")?;
    Ok(web::Json(views::links::links(
        state.clearing.links(member).await?,
    )))
}

/// Leave a brand: it can no longer act for the member. The points stay where they are.
#[utoipa::path(delete, path = "/v1/me/links/{partner}", tag = "member",
    params(("partner" = String, Path, description = "the brand to leave")),
    responses((status = 204, description = "the link is gone"),
        (status = 403, description = "the token lacks the `links` scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("member_token" = [])))]
#[delete("/v1/me/links/{partner}")]
pub async fn leave(
    state: web::Data<AppState>,
    me: Member,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let member = me.require("links")?;
    let work = Clearing::leave_work(member, path.into_inner());
    state
        .clearing
        .once_as(format!("member:{member}"), None, work, views::links::left)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Replace a lost card: a new number, the old one revoked.
#[utoipa::path(post, path = "/v1/me/card/replace", tag = "member",
    responses((status = 201, body = CardView),
        (status = 403, description = "the token lacks the `card` scope", body = Problem, content_type = "application/problem+json")),
    security(("member_token" = [])))]
#[post("/v1/me/card/replace")]
pub async fn replace_card(
    state: web::Data<AppState>,
    me: Member,
    req: HttpRequest,
    Body(body): Body,
) -> Result<HttpResponse, ApiError> {
    let member = me.require("card")?;
    let idem = optional_idempotency(&req, &body)?;
    let work = Clearing::replace_card_work(member);
    let reply = state
        .clearing
        .once_as(format!("member:{member}"), idem, work, views::links::card)
        .await?;
    Ok(respond(reply))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkConsentRequest {
    /// Whether this brand may see the member's balances at the other brands.
    pub share_balances: Option<bool>,
    /// Whether this brand may see the member's profile rows at the other brands.
    pub share_profile: Option<bool>,
}

/// What one brand may see of the member's other brands. A token never widens what its own brand
/// sees (`403`).
#[utoipa::path(put, path = "/v1/me/links/{partner}", tag = "member", request_body = LinkConsentRequest,
    params(("partner" = String, Path, description = "the brand")),
    responses((status = 200, body = LinkView),
        (status = 403, description = "the token lacks the `consent` scope, or would widen its own brand's view", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("member_token" = [])))]
#[put("/v1/me/links/{partner}")]
pub async fn consent(
    state: web::Data<AppState>,
    me: Member,
    req: HttpRequest,
    path: web::Path<String>,
    Body(body): Body,
) -> Result<HttpResponse, ApiError> {
    let member = me.require("consent")?;
    let asked: LinkConsentRequest = json_body(&req, &body)?;
    let work = Clearing::link_consent_work(
        member,
        me.0.azp.clone(),
        path.into_inner(),
        asked.share_balances,
        asked.share_profile,
    );
    let reply = state
        .clearing
        .once_as(format!("member:{member}"), None, work, views::links::link)
        .await?;
    Ok(respond(reply))
}
