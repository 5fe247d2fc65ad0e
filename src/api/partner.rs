//! Routes for partners (signed with RFC 9421): members, redemptions and holds, reversals,
//! entries (earning is in `earn.rs`).

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::Signed;
use super::codes::ErrorCode;
use super::member_ref::{card_guarded, member_ref, parse_member, path_member, within_budget};
use super::problem::{ApiError, Problem};
use crate::clearing::input::{DEFAULT_PAGE, MAX_PAGE};
use crate::clearing::partner::RedeemInput;
use crate::clearing::reads::EntryQuery;
use crate::clearing::views::entry::{EntryView, MemberView};
use crate::clearing::write::{Idempotency, Reply};
use crate::clearing::{Clearing, time, views};
use crate::ledger::{EntryId, EntryKind, UnitCode};

/// An amount on the wire: a decimal string. A JSON number is kept aside to be refused with
/// `invalid_amount` (422) rather than a parse error.
#[derive(Debug, Clone)]
pub struct DecimalText(Result<String, String>);

impl DecimalText {
    pub(super) fn text(&self) -> Result<String, ApiError> {
        self.0.clone().map_err(|n| {
            ApiError::new(
                ErrorCode::InvalidAmount,
                format!("amounts are decimal strings, like \"{n}\", not JSON numbers"),
            )
        })
    }
}

impl<'de> Deserialize<'de> for DecimalText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = DecimalText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<DecimalText, E> {
                Ok(DecimalText(Ok(v.to_owned())))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<DecimalText, E> {
                Ok(DecimalText(Err(v.to_string())))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<DecimalText, E> {
                Ok(DecimalText(Err(v.to_string())))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<DecimalText, E> {
                Ok(DecimalText(Err(v.to_string())))
            }
        }
        d.deserialize_any(V)
    }
}

pub(super) fn parse_unit(text: &str) -> Result<UnitCode, ApiError> {
    text.parse()
        .map_err(|e: crate::ledger::IdError| ApiError::new(ErrorCode::UnknownUnit, e.to_string()))
}

pub(super) fn parse_entry_id(text: &str) -> Result<EntryId, ApiError> {
    text.parse().map_err(|_| {
        ApiError::new(
            ErrorCode::NotFound,
            format!("no entry {}", text.chars().take(40).collect::<String>()),
        )
    })
}

/// Sends a stored or fresh reply as it was first given.
pub(super) fn respond(reply: Reply) -> HttpResponse {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    let mut response = HttpResponse::build(status);
    response.content_type("application/json");
    if reply.replayed {
        response.insert_header(("Idempotent-Replayed", "true"));
    }
    response.body(reply.body)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Consent {
    /// Whether other brands may see this member's balances.
    pub share_balances: bool,
    /// Whether brands may see the member's behaviour at the others (profile rows, segments'
    /// cross-brand metrics); false when left out.
    #[serde(default)]
    pub share_profile: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolRequest {
    /// The partner's own id for the member (1 to 128 characters).
    #[schema(min_length = 1, max_length = 128)]
    pub external_id: String,
    /// The member's choice on the brand's sign-up form; not read with `link_code`.
    pub consent: Option<Consent>,
    /// A code the member made in their wallet (`POST /v1/me/links`): enrols the member they
    /// already are at another brand (201, `linked: true`) instead of a new one.
    pub link_code: Option<String>,
}

/// Enrol a member, or find the one this partner already knows by `external_id` (200).
#[utoipa::path(post, path = "/v1/members", tag = "partner", request_body = EnrolRequest,
    params(("Idempotency-Key" = String, Header, description = "1 to 255 printable ASCII characters")),
    responses(
        (status = 201, description = "enrolled", body = MemberView),
        (status = 200, description = "already enrolled with this partner", body = MemberView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/v1/members")]
pub async fn enrol(state: web::Data<AppState>, req: Signed) -> Result<HttpResponse, ApiError> {
    let idem = req.idempotency()?;
    let body: EnrolRequest = req.json()?;
    let reply = match &body.link_code {
        Some(code) => {
            // Guessing link codes meets 429 early, as guessing card numbers does.
            let linked = async {
                let work = Clearing::enrol_linked_work(&req.caller, body.external_id, code)?;
                let render = views::links::linked_member;
                Ok::<_, ApiError>(state.clearing.once(&req.caller, idem, work, render).await?)
            };
            let partner = req.caller.partner.as_str();
            let failures = [ErrorCode::InvalidLinkCode];
            within_budget(
                &state.link_failures,
                partner,
                "link codes",
                &failures,
                linked,
            )
            .await
            .0?
        }
        None => {
            let sharing = crate::clearing::links::Sharing {
                balances: body.consent.as_ref().is_some_and(|c| c.share_balances),
                profile: body.consent.as_ref().is_some_and(|c| c.share_profile),
            };
            let work = Clearing::enrol_work(&req.caller, body.external_id, sharing)?;
            state
                .clearing
                .once(&req.caller, idem, work, views::member)
                .await?
        }
    };
    Ok(respond(reply))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BalanceView {
    pub unit: String,
    /// Points held, a decimal string at the unit's scale.
    pub balance: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BalancesView {
    pub member_id: String,
    pub balances: Vec<BalanceView>,
}

/// A member's balances: the partner's own unit always, other units only with the member's consent.
#[utoipa::path(get, path = "/v1/members/{member_id}/balances", tag = "partner",
    params(("member_id" = String, Path, description = "member id (UUID), or the member's card number (16 digits)")),
    responses(
        (status = 200, body = BalancesView),
        (status = 410, description = "the card was replaced", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "16 digits that are no card number (Luhn)", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/v1/members/{member_id}/balances")]
pub async fn balances(
    state: web::Data<AppState>,
    req: Signed,
    path: web::Path<String>,
) -> Result<web::Json<BalancesView>, ApiError> {
    let member = path_member(&state, &req, &path).await?;
    let list = state
        .clearing
        .balances_for(&req.caller.partner, member)
        .await?;
    Ok(web::Json(BalancesView {
        member_id: member.to_string(),
        balances: list
            .into_iter()
            .map(|(unit, b)| BalanceView {
                unit: unit.to_string(),
                balance: b.to_string(),
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemRequest {
    /// The member's id; or give `card_number` instead.
    pub member_id: Option<String>,
    /// The card the member presents (16 digits).
    pub card_number: Option<String>,
    pub unit: String,
    #[schema(value_type = String, example = "50")]
    pub points: DecimalText,
    /// 1 to 128 characters.
    #[schema(min_length = 1, max_length = 128)]
    pub reference: String,
    /// The member's authorization code, needed to spend a unit another brand issues.
    pub authorization: Option<String>,
    /// false: only hold the points, to capture or void later.
    #[serde(default = "yes")]
    pub capture: bool,
}

fn yes() -> bool {
    true
}

/// Spend a member's points: captured at once, or held (`capture: false`).
#[utoipa::path(post, path = "/v1/redemptions", tag = "partner", request_body = RedeemRequest,
    params(("Idempotency-Key" = String, Header, description = "1 to 255 printable ASCII characters")),
    responses(
        (status = 201, description = "receipt: status captured, or pending for a hold", body = EntryView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "authorization_required", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "insufficient_balance, invalid_amount, ...", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown_card (a card nobody holds), or not_found", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "card_revoked: the card was replaced", body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/v1/redemptions")]
pub async fn redeem(state: web::Data<AppState>, req: Signed) -> Result<HttpResponse, ApiError> {
    let idem = req.idempotency()?;
    let body: RedeemRequest = req.json()?;
    let card = body.card_number.is_some();
    card_guarded(&state, &req, card, redeem_with(&state, &req, idem, body)).await
}

async fn redeem_with(
    state: &AppState,
    req: &Signed,
    idem: Idempotency,
    body: RedeemRequest,
) -> Result<HttpResponse, ApiError> {
    let input = RedeemInput {
        member: member_ref(body.member_id.as_deref(), body.card_number.as_deref())?,
        unit: parse_unit(&body.unit)?,
        points: body.points.text()?,
        reference: body.reference,
        authorization: body.authorization,
        capture: body.capture,
    };
    let work = state.clearing.redeem_work(&req.caller, input)?;
    Ok(respond(
        state
            .clearing
            .once(&req.caller, idem, work, views::entry_created)
            .await?,
    ))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaptureRequest {
    /// At most the points held; the rest goes back to the member. All when absent.
    #[schema(value_type = Option<String>)]
    pub points: Option<DecimalText>,
}

pub(super) fn empty_or<T: serde::de::DeserializeOwned + Default>(
    req: &Signed,
) -> Result<T, ApiError> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        req.json()
    }
}

/// Capture a hold, wholly or in part.
#[utoipa::path(post, path = "/v1/redemptions/{entry_id}/capture", tag = "partner", request_body = CaptureRequest,
    params(("entry_id" = String, Path, description = "the hold's entry id"), ("Idempotency-Key" = String, Header)),
    responses(
        (status = 200, description = "receipt of the capture", body = EntryView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "hold_not_pending, invalid_amount", body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/v1/redemptions/{entry_id}/capture")]
pub async fn capture(
    state: web::Data<AppState>,
    req: Signed,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let idem = req.idempotency()?;
    let hold = parse_entry_id(&path)?;
    let body: CaptureRequest = empty_or(&req)?;
    let points = body.points.map(|p| p.text()).transpose()?;
    let work = Clearing::capture_work(&req.caller, hold, points);
    Ok(respond(
        state
            .clearing
            .once(&req.caller, idem, work, views::entry_closing)
            .await?,
    ))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidRequest {}

/// Void a hold: every point goes back to the member.
#[utoipa::path(post, path = "/v1/redemptions/{entry_id}/void", tag = "partner", request_body = VoidRequest,
    params(("entry_id" = String, Path, description = "the hold's entry id"), ("Idempotency-Key" = String, Header)),
    responses(
        (status = 200, description = "receipt of the void", body = EntryView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/v1/redemptions/{entry_id}/void")]
pub async fn void(
    state: web::Data<AppState>,
    req: Signed,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let idem = req.idempotency()?;
    let hold = parse_entry_id(&path)?;
    let _: VoidRequest = empty_or(&req)?;
    let work = Clearing::void_work(&req.caller, hold);
    Ok(respond(
        state
            .clearing
            .once(&req.caller, idem, work, views::entry_closing)
            .await?,
    ))
}

/// One of this partner's entries.
#[utoipa::path(get, path = "/v1/entries/{entry_id}", tag = "partner",
    params(("entry_id" = String, Path)),
    responses((status = 200, body = EntryView), (status = 404, body = Problem, content_type = "application/problem+json")))]
#[get("/v1/entries/{entry_id}")]
pub async fn entry(
    state: web::Data<AppState>,
    req: Signed,
    path: web::Path<String>,
) -> Result<web::Json<EntryView>, ApiError> {
    let id = parse_entry_id(&path)?;
    let posted = state.clearing.entry_for(&req.caller.partner, id).await?;
    Ok(web::Json(EntryView::new(state.clearing.context(), &posted)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EntriesQuery {
    /// Only entries created at or after this time (RFC 3339).
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// Only entries of this kind.
    pub kind: Option<String>,
    pub member_id: Option<String>,
    /// Page size: 100 by default, at most 1000.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct EntriesPage {
    pub items: Vec<EntryView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

pub(super) fn decode_cursor(cursor: &str) -> Result<i64, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("seq:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidCursor,
                "the cursor is not one this API gave out",
            )
        })
}

/// A listing's `limit` (1 to [`MAX_PAGE`], [`DEFAULT_PAGE`] when left out) and where its
/// `cursor` says to go on (0: from the start).
pub(super) fn page(limit: Option<i64>, cursor: Option<&str>) -> Result<(i64, i64), ApiError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            format!("limit must be 1 to {MAX_PAGE}"),
        ));
    }
    let after = cursor.map(decode_cursor).transpose()?.unwrap_or(0);
    Ok((limit, after))
}

pub(super) fn encode_cursor(seq: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("seq:{seq}"))
}

/// This partner's entries, oldest first, paginated.
#[utoipa::path(get, path = "/v1/entries", tag = "partner", params(EntriesQuery),
    responses((status = 200, body = EntriesPage), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`member_id` is not a member id", body = Problem, content_type = "application/problem+json")))]
#[get("/v1/entries")]
pub async fn entries(
    state: web::Data<AppState>,
    req: Signed,
    query: web::Query<EntriesQuery>,
) -> Result<web::Json<EntriesPage>, ApiError> {
    let q = query.into_inner();
    let (limit, after) = page(q.limit, q.cursor.as_deref())?;
    let since_us = match q.since.as_deref() {
        Some(s) => Some(time::parse_rfc3339(s).ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidQuery, "since must be an RFC 3339 time")
        })?),
        None => None,
    };
    let member = q.member_id.as_deref().map(parse_member).transpose()?;
    let kind = match q.kind.as_deref().map(str::parse::<EntryKind>) {
        // No entry has a kind the ledger does not know: the page is empty.
        Some(Err(_)) => return Ok(web::Json(EntriesPage::default())),
        kind => kind.transpose().ok().flatten(),
    };
    let query = EntryQuery {
        partner: Some(req.caller.partner.clone()),
        kind,
        member,
        since_us,
        ..EntryQuery::default()
    };
    let (items, next) = state.clearing.entries_for(query, after, limit).await?;
    let ctx = state.clearing.context();
    Ok(web::Json(EntriesPage {
        items: items.iter().map(|p| EntryView::new(ctx, p)).collect(),
        next_cursor: next.map(encode_cursor),
    }))
}
