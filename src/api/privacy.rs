//! Routes for a member's privacy rights: their export (a token with the `export` scope) and
//! erasure (the `erase` scope). Both scopes are given only when asked for by name.

use actix_web::{HttpRequest, HttpResponse, delete, get, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::AppState;
use super::auth::{Body, Member, json_body, optional_idempotency};
use super::codes::ErrorCode;
use super::partner::{encode_cursor, respond};
use super::problem::{ApiError, Problem};
use crate::clearing::views::privacy::{ErasedView, ExportView};
use crate::clearing::{Clearing, views};

/// What `DELETE /v1/me` must say: the member knows their points are forfeited.
const CONFIRMATION: &str = "forfeit-balances";

/// Everything the network holds about the member: cards, links (each brand's id for them),
/// balances, profile, coupons, authorisations and entries.
#[utoipa::path(get, path = "/v1/me/export", tag = "member",
    responses((status = 200, body = ExportView),
        (status = 403, description = "the token lacks the `export` scope", body = Problem, content_type = "application/problem+json")),
    security(("member_token" = [])))]
#[get("/v1/me/export")]
pub async fn export(
    state: web::Data<AppState>,
    me: Member,
) -> Result<web::Json<ExportView>, ApiError> {
    let member = me.require("export")?;
    let (mut view, next) = state.clearing.export_member(member).await?;
    view.entries_next_cursor = next.map(encode_cursor);
    Ok(web::Json(view))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseBody {
    /// Must be `forfeit-balances`: every point still held goes back to its issuer (missing or
    /// anything else: `422 confirmation_required`).
    #[serde(default)]
    pub confirm: String,
}

/// Erases the member: open holds voided, authorisation and link codes revoked, coupons
/// cancelled (reservations back to their sponsors), points forfeited to their issuers, then the
/// card, links, external ids, profile and the idempotency records naming them removed. The
/// journal keeps the member's UUID and the partners' references. Afterwards the member's tokens
/// and card are refused.
#[utoipa::path(delete, path = "/v1/me", tag = "member", request_body = EraseBody,
    responses((status = 200, body = ErasedView),
        (status = 403, description = "the token lacks the `erase` scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "the body does not confirm the forfeiture", body = Problem, content_type = "application/problem+json")),
    security(("member_token" = [])))]
#[delete("/v1/me")]
pub async fn erase(
    state: web::Data<AppState>,
    me: Member,
    req: HttpRequest,
    Body(body): Body,
) -> Result<HttpResponse, ApiError> {
    let member = me.require("erase")?;
    let idem = optional_idempotency(&req, &body)?;
    let asked: EraseBody = json_body(&req, &body)?;
    if asked.confirm != CONFIRMATION {
        return Err(ApiError::new(
            ErrorCode::ConfirmationRequired,
            format!("erasure forfeits every point: send {{\"confirm\": \"{CONFIRMATION}\"}}"),
        ));
    }
    let reply = state
        .clearing
        .once_as(
            format!("member:{member}"),
            idem,
            Clearing::erase_work(member),
            views::privacy::erased,
        )
        .await?;
    Ok(respond(reply))
}
