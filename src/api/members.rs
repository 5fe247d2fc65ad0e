//! Routes for members (a member token) and the partner route that mints those tokens.

use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::auth::{Body, Member, Signed, json_body, optional_idempotency};
use super::codes::ErrorCode;
use super::partner::{DecimalText, EntriesPage, respond};
use super::problem::{ApiError, Problem};
use crate::clearing::cards::MemberRef;
use crate::clearing::codes::display_code;
use crate::clearing::reasons::reason;
use crate::clearing::views::entry::EntryView;
use crate::clearing::views::members::{AuthorizationView, ConsentView, TokenView};
use crate::clearing::{Clearing, time, views};
use crate::ledger::CardNumber;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// What the token may do: wallet, entries, consent, authorizations, conversions, donations (all by default).
    pub scope: Option<Vec<String>>,
    /// At most 3600; 900 by default.
    pub ttl_seconds: Option<u64>,
}

/// Mint a member token for the partner's app; only a partner the member is enrolled with may.
#[utoipa::path(post, path = "/v1/members/{member_id}/tokens", tag = "partner", request_body = TokenRequest,
    params(("member_id" = String, Path, description = "member id (UUID), or the member's card number (16 digits)"), ("Idempotency-Key" = String, Header)),
    responses((status = 201, body = TokenView),
        (status = 410, description = "the card was replaced", body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
#[post("/v1/members/{member_id}/tokens")]
pub async fn mint_token(
    state: web::Data<AppState>,
    req: Signed,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let idem = req.idempotency()?;
    let body: TokenRequest = super::partner::empty_or(&req)?;
    let card = CardNumber::looks_like(&path);
    let mint = async {
        let member = if card {
            MemberRef::Card(super::member_ref::parse_card(&path)?)
        } else {
            MemberRef::Id(
                path.parse()
                    .map_err(|_| ApiError::new(ErrorCode::NotFound, "no such member"))?,
            )
        };
        let work = Clearing::member_token_work(&req.caller, member, body.scope, body.ttl_seconds)?;
        let reply = state
            .clearing
            .once(&req.caller, idem, work, views::token)
            .await?;
        Ok(respond(reply))
    };
    super::member_ref::card_guarded(&state, &req, card, mint).await
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WalletBalance {
    pub unit: String,
    pub balance: String,
    /// Partner id of the issuer, or `network`.
    pub issuer: String,
    /// Clearing value of one point in the settlement currency.
    pub value: String,
    /// What of the balance expires when, soonest first: empty when the unit's points do not
    /// expire (at most twelve dates; lots expiring the same day are one line).
    pub expiring: Vec<WalletExpiring>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WalletExpiring {
    /// Points, an exact decimal string at the unit's scale.
    pub points: String,
    /// RFC 3339, UTC.
    pub at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WalletCoupon {
    pub code: String,
    pub campaign_id: String,
    pub expires_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WalletView {
    pub member_id: String,
    /// The member's card: 16 digits, shown at the till instead of the member id.
    pub card_number: Option<String>,
    pub balances: Vec<WalletBalance>,
    pub coupons: Vec<WalletCoupon>,
}

/// The member's wallet: every unit held across brands, and open coupons.
#[utoipa::path(get, path = "/v1/me/wallet", tag = "member", responses((status = 200, body = WalletView),
    (status = 401, body = Problem, content_type = "application/problem+json")), security(("member_token" = [])))]
#[get("/v1/me/wallet")]
pub async fn wallet(
    state: web::Data<AppState>,
    me: Member,
) -> Result<web::Json<WalletView>, ApiError> {
    let member = me.require("wallet")?;
    let w = state.clearing.wallet(member).await?;
    let coupons = wallet_coupons(&w);
    Ok(web::Json(WalletView {
        member_id: member.to_string(),
        card_number: w.card_number,
        balances: w
            .lines
            .into_iter()
            .map(|l| WalletBalance {
                unit: l.unit.to_string(),
                balance: l.balance.to_string(),
                issuer: l.issuer.to_string(),
                value: l.value.to_string(),
                expiring: l
                    .expiring
                    .iter()
                    .map(|e| WalletExpiring {
                        points: e.points.to_string(),
                        at: time::rfc3339(e.at_us),
                    })
                    .collect(),
            })
            .collect(),
        coupons,
    }))
}

/// A member's open coupons as the API shows them (the wallet, the offers).
pub(super) fn wallet_coupons(w: &crate::clearing::members::Wallet) -> Vec<WalletCoupon> {
    w.coupons
        .iter()
        .map(|c| WalletCoupon {
            code: display_code(&c.code),
            campaign_id: c.campaign_id.clone(),
            expires_at: time::rfc3339(c.expires_at_us),
        })
        .collect()
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size: 100 by default, at most 1000.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// The member's entries at every partner, oldest first, each with a readable `reason`.
#[utoipa::path(get, path = "/v1/me/entries", tag = "member", params(PageQuery),
    responses((status = 200, body = EntriesPage), (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("member_token" = [])))]
#[get("/v1/me/entries")]
pub async fn my_entries(
    state: web::Data<AppState>,
    me: Member,
    query: web::Query<PageQuery>,
) -> Result<web::Json<EntriesPage>, ApiError> {
    let member = me.require("entries")?;
    let (limit, after) = super::partner::page(query.limit, query.cursor.as_deref())?;
    let (items, next) = state.clearing.member_entries(member, after, limit).await?;
    let ctx = state.clearing.context();
    Ok(web::Json(EntriesPage {
        items: items
            .iter()
            .map(|p| {
                let mut v = EntryView::new(ctx, p);
                v.reason = Some(reason(ctx, &p.entry));
                v
            })
            .collect(),
        next_cursor: next.map(super::partner::encode_cursor),
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentBody {
    /// Whether each brand may see the member's balances at the other brands: the default for
    /// links made from now on, and every existing link.
    pub share_balances: bool,
    /// Likewise for the member's profile rows at the other brands.
    pub share_profile: Option<bool>,
}

/// Share, or stop sharing, with every brand at once. A token never widens what its own brand
/// sees (`403`): that is asked in another brand's app, or per brand with `PUT /v1/me/links/{partner}`.
#[utoipa::path(put, path = "/v1/me/consent", tag = "member", request_body = ConsentBody,
    responses((status = 200, body = ConsentView), (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("member_token" = [])))]
#[put("/v1/me/consent")]
pub async fn consent(
    state: web::Data<AppState>,
    me: Member,
    req: HttpRequest,
    Body(body): Body,
) -> Result<HttpResponse, ApiError> {
    let member = me.require("consent")?;
    let c: ConsentBody = json_body(&req, &body)?;
    let work = Clearing::consent_work(member, me.0.azp.clone(), c.share_balances, c.share_profile);
    let reply = state
        .clearing
        .once_as(format!("member:{member}"), None, work, views::consent)
        .await?;
    Ok(respond(reply))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorizationRequest {
    /// The partner allowed to spend.
    pub partner: String,
    pub unit: String,
    /// The most it may spend in total, across redemptions.
    #[schema(value_type = String, example = "200")]
    pub max_points: DecimalText,
    /// At most a day; 10 minutes by default.
    pub ttl_seconds: Option<u64>,
}

/// Let one partner spend up to `max_points` of one of the member's units, until it expires.
#[utoipa::path(post, path = "/v1/me/authorizations", tag = "member", request_body = AuthorizationRequest,
    responses((status = 201, body = AuthorizationView), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("member_token" = [])))]
#[post("/v1/me/authorizations")]
pub async fn authorize(
    state: web::Data<AppState>,
    me: Member,
    req: HttpRequest,
    Body(body): Body,
) -> Result<HttpResponse, ApiError> {
    let member = me.require("authorizations")?;
    let idem = optional_idempotency(&req, &body)?;
    let a: AuthorizationRequest = json_body(&req, &body)?;
    let max = a.max_points.text()?;
    let work = state.clearing.authorize_work(
        member,
        &me.0.azp,
        &a.partner,
        &a.unit,
        &max,
        a.ttl_seconds,
    )?;
    let reply = state
        .clearing
        .once_as(format!("member:{member}"), idem, work, views::authorization)
        .await?;
    Ok(respond(reply))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversionRequest {
    pub from_unit: String,
    pub to_unit: String,
    /// Points of `from_unit` offered; only what converts into whole steps of `to_unit` is taken.
    #[schema(value_type = String, example = "50")]
    pub points: DecimalText,
}

/// Convert points between units at clearing values.
#[utoipa::path(post, path = "/v1/me/conversions", tag = "member", request_body = ConversionRequest,
    responses((status = 201, description = "receipt", body = EntryView), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("member_token" = [])))]
#[post("/v1/me/conversions")]
pub async fn convert(
    state: web::Data<AppState>,
    me: Member,
    req: HttpRequest,
    Body(body): Body,
) -> Result<HttpResponse, ApiError> {
    let member = me.require("conversions")?;
    let idem = optional_idempotency(&req, &body)?;
    let c: ConversionRequest = json_body(&req, &body)?;
    let work = state.clearing.convert_work(
        member,
        &me.0.azp,
        &c.from_unit,
        &c.to_unit,
        &c.points.text()?,
    )?;
    let reply = state
        .clearing
        .once_as(format!("member:{member}"), idem, work, views::entry_created)
        .await?;
    Ok(respond(reply))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DonationRequest {
    pub unit: String,
    #[schema(value_type = String, example = "100")]
    pub points: DecimalText,
    /// A partner marked `charity = true`.
    pub charity: String,
}

/// Give points to a charity of the network; their issuer owes the charity their value.
#[utoipa::path(post, path = "/v1/me/donations", tag = "member", request_body = DonationRequest,
    responses((status = 201, description = "receipt", body = EntryView), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("member_token" = [])))]
#[post("/v1/me/donations")]
pub async fn donate(
    state: web::Data<AppState>,
    me: Member,
    req: HttpRequest,
    Body(body): Body,
) -> Result<HttpResponse, ApiError> {
    let member = me.require("donations")?;
    let idem = optional_idempotency(&req, &body)?;
    let d: DonationRequest = json_body(&req, &body)?;
    let work =
        state
            .clearing
            .donate_work(member, &me.0.azp, &d.unit, &d.points.text()?, &d.charity)?;
    let reply = state
        .clearing
        .once_as(format!("member:{member}"), idem, work, views::entry_created)
        .await?;
    Ok(respond(reply))
}
