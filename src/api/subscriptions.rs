//! Paid tiers at a partner's till (signed): `POST /v1/members/{id}/subscriptions` and
//! `POST /v1/subscriptions/{id}/cancel`.

use actix_web::{HttpResponse, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::AppState;
use super::auth::Signed;
use super::member_ref::path_member;
use super::partner::{parse_entry_id, respond};
use super::problem::{ApiError, Problem};
use crate::clearing::cards::MemberRef;
use crate::clearing::views::tier::SubscriptionView;
use crate::clearing::{Clearing, views};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscribeRequest {
    /// A paid level of the network's ladder (one with a `price`).
    #[schema(example = "Club+")]
    pub tier: String,
    /// The partner's own reference (its receipt), 1 to 128 characters.
    pub reference: String,
}

/// The member buys a paid tier at this partner's till: the price is an entry by which this
/// partner owes the network's fee income (cleared at settlement; not qualifying spend). The
/// member holds the tier until `ends_at` whatever their spend; bought again while it runs, the
/// new period starts where the current one ends.
#[utoipa::path(post, path = "/v1/members/{member_id}/subscriptions", tag = "partner",
    request_body = SubscribeRequest,
    params(
        ("member_id" = String, Path, description = "member id (UUID), or the member's card number (16 digits)"),
        ("Idempotency-Key" = String, Header, description = "1 to 255 printable ASCII characters"),
    ),
    responses(
        (status = 201, body = SubscriptionView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such member linked to this partner", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_request: no such tier, or it has no price", body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/v1/members/{member_id}/subscriptions")]
pub async fn subscribe(
    state: web::Data<AppState>,
    req: Signed,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let idem = req.idempotency()?;
    let body: SubscribeRequest = req.json()?;
    let member = path_member(&state, &req, &path).await?;
    let work = state.clearing.subscribe_work(
        &req.caller,
        MemberRef::Id(member),
        body.tier,
        body.reference,
    )?;
    let reply = state
        .clearing
        .once(&req.caller, idem, work, views::subscribed)
        .await?;
    Ok(respond(reply))
}

/// Cancels a paid tier this partner sold: within 14 days of the purchase, a full refund by a
/// reversing entry, and the member falls back at once to the tier their spend gives; later, the
/// tier runs to its end and nothing is posted.
#[utoipa::path(post, path = "/v1/subscriptions/{subscription_id}/cancel", tag = "partner",
    params(
        ("subscription_id" = String, Path, description = "the subscription's id"),
        ("Idempotency-Key" = String, Header, description = "1 to 255 printable ASCII characters"),
    ),
    responses(
        (status = 200, body = SubscriptionView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such subscription sold by this partner", body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/v1/subscriptions/{subscription_id}/cancel")]
pub async fn cancel(
    state: web::Data<AppState>,
    req: Signed,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let idem = req.idempotency()?;
    let id = parse_entry_id(&path)?;
    let work = Clearing::cancel_subscription_work(&req.caller, id);
    let reply = state
        .clearing
        .once(&req.caller, idem, work, views::subscription_cancelled)
        .await?;
    Ok(respond(reply))
}
