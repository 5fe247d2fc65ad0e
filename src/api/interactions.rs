//! `POST /v1/interactions` (signed partners): a touch point — a visit, an app opened, a
//! workshop, a review — counted in the member's profile, and points when an `interaction` earn
//! rule of the partner's applies (each rule at most `max_per_day` times per member and day).

use actix_web::{HttpResponse, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::AppState;
use super::auth::Signed;
use super::member_ref::{card_guarded, member_ref};
use super::partner::respond;
use super::problem::{ApiError, Problem};
use crate::clearing::interactions::InteractionInput;
use crate::clearing::views;
use crate::clearing::views::interaction::InteractionView;
use crate::clearing::write::Idempotency;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InteractionRequest {
    /// The member's id; or give `card_number` instead.
    pub member_id: Option<String>,
    /// The card the member presents (16 digits): stands for `member_id`, and links your brand
    /// to the member if it was not.
    pub card_number: Option<String>,
    /// `visit`, `app_open`, `workshop`, `review`, `referral`, `survey`, or `custom:<name>`
    /// (the name 1 to 40 of a-z, 0-9, `-` and `_`).
    #[schema(example = "review")]
    pub kind: String,
    /// The partner's own reference (the review's id, the workshop's booking), 1 to 128
    /// characters.
    pub reference: String,
    /// When it happened (RFC 3339), from 2000-01-01 to a day ahead of the service's clock.
    /// Informational: the profile, the rules and the caps count by the time it is recorded.
    #[schema(format = DateTime)]
    pub occurred_at: Option<String>,
}

/// Reports a touch point of a member at your brand. It counts as a visit in the member's
/// profile (and in segments' `visits_*` and `interactions_30d:{kind}`); when one of your
/// `interaction` earn rules applies and its daily cap allows, the member earns its points and
/// the answer carries the earn's receipt.
#[utoipa::path(post, path = "/v1/interactions", tag = "partner", request_body = InteractionRequest,
    params(("Idempotency-Key" = String, Header, description = "1 to 255 printable ASCII characters")),
    responses(
        (status = 201, description = "recorded, with the points its rules gave", body = InteractionView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown_card, or not_found (a member not linked to you)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "card_revoked", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_request: an unknown kind, a bad reference or occurred_at", body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/v1/interactions")]
pub async fn record(state: web::Data<AppState>, req: Signed) -> Result<HttpResponse, ApiError> {
    let idem = req.idempotency()?;
    let body: InteractionRequest = req.json()?;
    let card = body.card_number.is_some();
    card_guarded(&state, &req, card, record_with(&state, &req, idem, body)).await
}

async fn record_with(
    state: &AppState,
    req: &Signed,
    idem: Idempotency,
    body: InteractionRequest,
) -> Result<HttpResponse, ApiError> {
    let input = InteractionInput {
        member: member_ref(body.member_id.as_deref(), body.card_number.as_deref())?,
        kind: body.kind,
        reference: body.reference,
        occurred_at: body.occurred_at,
    };
    let work = state.clearing.interaction_work(&req.caller, input)?;
    Ok(respond(
        state
            .clearing
            .once(&req.caller, idem, work, views::interaction_recorded)
            .await?,
    ))
}
