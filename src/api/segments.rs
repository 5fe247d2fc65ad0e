//! Segments: `POST /v1/segments` (a signed partner, or the operator's bearer token for a
//! network-wide segment), `GET /v1/segments/{id}` and `GET /v1/segments/{id}/members`.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, HttpResponse, dev, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::{Body, Finance, Signed, body_json};
use super::codes::ErrorCode;
use super::partner::{encode_cursor, page, respond};
use super::problem::{ApiError, Problem};
use crate::clearing::segments::{
    ConditionInput, Owner, SegmentInput, SegmentMemberView, SegmentView,
};
use crate::clearing::tokens::Role;
use crate::clearing::views;
use crate::ledger::SegmentId;

/// Who calls: a partner signing its request, or the operator with a bearer token (network-wide
/// segments). A request with a signature is a partner's.
pub enum Marketer {
    Partner(Signed),
    Operator(Body),
}

impl Marketer {
    fn owner(&self) -> Owner {
        match self {
            Marketer::Partner(s) => Owner::Partner(s.caller.partner.clone()),
            Marketer::Operator(_) => Owner::Network,
        }
    }
}

impl FromRequest for Marketer {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut dev::Payload) -> Self::Future {
        let bearer = super::auth::is_bearer(req);
        if !bearer {
            let signed = Signed::from_request(req, payload);
            return Box::pin(async move { Ok(Marketer::Partner(signed.await?)) });
        }
        let who = Finance::from_request(req, payload).into_inner();
        let body = Body::from_request(req, payload);
        Box::pin(async move {
            let who = who?;
            if who.0.role != Role::Operator || who.0.partner.is_some() {
                return Err(ApiError::new(
                    ErrorCode::Forbidden,
                    "network-wide segments are the operator's; a partner signs its requests",
                ));
            }
            Ok(Marketer::Operator(body.await?))
        })
    }
}

/// One condition: `metric`, `op` and a `value` of the metric's type.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConditionBody {
    /// `visits_30d`, `visits_90d`, `spend_365d`, `days_since_last_visit`, `brands_used`,
    /// `tier`, `visited:{partner}` or `interactions_30d:{kind}`.
    #[schema(example = "visited:books")]
    pub metric: String,
    /// `lt`, `le`, `eq`, `ge`, `gt` or `ne` (`visited:*` takes eq and ne).
    #[schema(example = "eq")]
    pub op: String,
    /// A whole number (counts, days); a decimal string (`spend_365d`); a tier's name; true or
    /// false (`visited:*`).
    #[schema(value_type = Object, example = json!(false))]
    pub value: serde_json::Value,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentRequest {
    /// 1 to 100 characters.
    pub name: String,
    /// 1 to 20 conditions, all of which a member meets.
    pub all: Vec<ConditionBody>,
}

fn input(body: SegmentRequest) -> SegmentInput {
    SegmentInput {
        name: body.name,
        all: body
            .all
            .into_iter()
            .map(|c| ConditionInput {
                metric: c.metric,
                op: c.op,
                value: c.value,
            })
            .collect(),
    }
}

/// Define a segment. A partner's holds its linked members; metrics measure your own brand
/// (`visits_*`, `spend_365d`, `days_since_last_visit`, `interactions_30d:*`) and, only for
/// members who share their profile with you, other brands (`brands_used`, `visited:{other}`):
/// for the others those metrics are unknown and the member is not in the segment. The
/// operator's (bearer token) are network-wide. Membership is computed by the segment worker
/// within seconds, and kept as behaviour and time change it.
#[utoipa::path(post, path = "/v1/segments", tag = "partner", request_body = SegmentRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "required of partners")),
    responses(
        (status = 201, body = SegmentView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "a bearer token that is not the operator's", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_request: an unknown metric, op, or a value of the wrong type", body = Problem, content_type = "application/problem+json"),
    ),
    security(("partner_signature" = []), ("finance_token" = [])))]
#[post("/v1/segments")]
pub async fn create(state: web::Data<AppState>, who: Marketer) -> Result<HttpResponse, ApiError> {
    let reply = match &who {
        Marketer::Partner(req) => {
            let idem = req.idempotency()?;
            let body: SegmentRequest = req.json()?;
            let work = state
                .clearing
                .create_segment_work(&req.caller, input(body))?;
            respond(
                state
                    .clearing
                    .once(&req.caller, idem, work, views::segment_created)
                    .await?,
            )
        }
        Marketer::Operator(body) => {
            let body: SegmentRequest = body_json(&body.0)?;
            let view = state.clearing.create_network_segment(input(body)).await?;
            HttpResponse::Created().json(view)
        }
    };
    state.clearing.segments_changed();
    Ok(reply)
}

fn parse_segment(text: &str) -> Result<SegmentId, ApiError> {
    text.parse()
        .map_err(|_| ApiError::new(ErrorCode::NotFound, "no such segment"))
}

/// A segment and its size (a partner's under 10 reads `"<10"`).
#[utoipa::path(get, path = "/v1/segments/{segment_id}", tag = "partner",
    params(("segment_id" = String, Path)),
    responses((status = 200, body = SegmentView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("partner_signature" = []), ("finance_token" = [])))]
#[get("/v1/segments/{segment_id}")]
pub async fn one(
    state: web::Data<AppState>,
    who: Marketer,
    path: web::Path<String>,
) -> Result<web::Json<SegmentView>, ApiError> {
    let view = state
        .clearing
        .segment(&who.owner(), parse_segment(&path)?)
        .await?;
    Ok(web::Json(view))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MembersQuery {
    /// 1 to 1000 (default 100).
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SegmentMembersPage {
    pub items: Vec<SegmentMemberView>,
    pub next_cursor: Option<String>,
}

/// The segment's members, in the order they entered it, paginated.
#[utoipa::path(get, path = "/v1/segments/{segment_id}/members", tag = "partner",
    params(("segment_id" = String, Path), MembersQuery),
    responses((status = 200, body = SegmentMembersPage), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("partner_signature" = []), ("finance_token" = [])))]
#[get("/v1/segments/{segment_id}/members")]
pub async fn members(
    state: web::Data<AppState>,
    who: Marketer,
    path: web::Path<String>,
    query: web::Query<MembersQuery>,
) -> Result<web::Json<SegmentMembersPage>, ApiError> {
    let q = query.into_inner();
    let (limit, after) = page(q.limit, q.cursor.as_deref())?;
    let (items, next) = state
        .clearing
        .segment_members(&who.owner(), parse_segment(&path)?, after, limit)
        .await?;
    Ok(web::Json(SegmentMembersPage {
        items,
        next_cursor: next.map(encode_cursor),
    }))
}
