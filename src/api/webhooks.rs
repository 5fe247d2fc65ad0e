//! Webhooks (signed partners): `PUT/GET/DELETE /v1/webhooks` for the partner's endpoint,
//! `GET /v1/webhooks/deliveries` for what was sent and how it went, and
//! `POST /v1/webhooks/deliveries/{id}/retry` to send one again. `docs/webhooks.md` tells the
//! receiving side.

use actix_web::{HttpResponse, delete, get, post, put, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::Signed;
use super::partner::{encode_cursor, page, respond};
use super::problem::{ApiError, Problem};
use crate::clearing::Clearing;
use crate::clearing::webhooks::{self, DeliveryView, EndpointRequest, EndpointView};

/// Register (or replace) this partner's endpoint; a `PUT` also enables one that answered
/// `410 Gone`. The URL is refused if its host resolves to a loopback, private, link-local or
/// other internal address (checked again at every delivery).
#[utoipa::path(put, path = "/v1/webhooks", tag = "webhooks", request_body = EndpointRequest,
    responses(
        (status = 200, body = EndpointView),
        (status = 422, description = "webhook_url_refused; invalid_request: an unknown event type", body = Problem, content_type = "application/problem+json"),
    ))]
#[put("/v1/webhooks")]
pub async fn put_endpoint(
    state: web::Data<AppState>,
    req: Signed,
) -> Result<web::Json<EndpointView>, ApiError> {
    let body: EndpointRequest = req.json()?;
    Ok(web::Json(
        state
            .clearing
            .put_webhook(&req.caller.partner, body)
            .await?,
    ))
}

/// This partner's endpoint, with how deliveries are signed.
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks",
    responses((status = 200, body = EndpointView),
        (status = 404, description = "not_found: no endpoint registered", body = Problem, content_type = "application/problem+json")))]
#[get("/v1/webhooks")]
pub async fn get_endpoint(
    state: web::Data<AppState>,
    req: Signed,
) -> Result<web::Json<EndpointView>, ApiError> {
    Ok(web::Json(
        state.clearing.webhook(&req.caller.partner).await?,
    ))
}

/// Remove this partner's endpoint: no more events are queued for it.
#[utoipa::path(delete, path = "/v1/webhooks", tag = "webhooks",
    responses((status = 204),
        (status = 404, description = "not_found: no endpoint registered", body = Problem, content_type = "application/problem+json")))]
#[delete("/v1/webhooks")]
pub async fn delete_endpoint(
    state: web::Data<AppState>,
    req: Signed,
) -> Result<HttpResponse, ApiError> {
    state.clearing.delete_webhook(&req.caller.partner).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    /// Only deliveries in this state: `pending`, `delivered` or `failed`.
    pub state: Option<String>,
    /// Page size: 100 by default, at most 200.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// A page of deliveries, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeliveriesPage {
    pub items: Vec<DeliveryView>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// This partner's deliveries, newest first: each event's state, attempts, statuses and timing
/// (never the receiver's response bodies).
#[utoipa::path(get, path = "/v1/webhooks/deliveries", tag = "webhooks", params(DeliveriesQuery),
    responses((status = 200, body = DeliveriesPage),
        (status = 400, description = "invalid_query, invalid_cursor", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_request: an unknown state", body = Problem, content_type = "application/problem+json")))]
#[get("/v1/webhooks/deliveries")]
pub async fn deliveries(
    state: web::Data<AppState>,
    req: Signed,
    query: web::Query<DeliveriesQuery>,
) -> Result<web::Json<DeliveriesPage>, ApiError> {
    let q = query.into_inner();
    if q.limit
        .is_some_and(|l| !(1..=webhooks::MAX_DELIVERIES_PAGE).contains(&l))
    {
        return Err(ApiError::new(
            super::codes::ErrorCode::InvalidQuery,
            format!("limit must be 1 to {}", webhooks::MAX_DELIVERIES_PAGE),
        ));
    }
    let (limit, before) = page(q.limit, q.cursor.as_deref())?;
    let (items, next) = state
        .clearing
        .webhook_deliveries(&req.caller.partner, q.state.as_deref(), limit, before)
        .await?;
    Ok(web::Json(DeliveriesPage {
        items,
        next_cursor: next.map(encode_cursor),
    }))
}

/// Send one event again, at once and ahead of this partner's newer events (a failed one, or
/// a delivered one the receiver lost). The same `webhook-id` is sent.
#[utoipa::path(post, path = "/v1/webhooks/deliveries/{delivery_id}/retry", tag = "webhooks",
    params(("delivery_id" = String, Path, description = "The event's `webhook-id`"),
        ("Idempotency-Key" = String, Header, description = "1 to 255 printable ASCII characters")),
    responses((status = 202, body = DeliveryView),
        (status = 404, description = "not_found: no such delivery of this partner", body = Problem, content_type = "application/problem+json")))]
#[post("/v1/webhooks/deliveries/{delivery_id}/retry")]
pub async fn retry(
    state: web::Data<AppState>,
    req: Signed,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let idem = req.idempotency()?;
    let id: String = path.into_inner().chars().take(64).collect();
    let work = Clearing::retry_delivery_work(&req.caller.partner, id);
    let reply = state
        .clearing
        .once(&req.caller, idem, work, webhooks::queued)
        .await?;
    state.clearing.webhooks().wake(req.caller.partner.as_str());
    Ok(respond(reply))
}
