//! Routes anyone may call: health, readiness, the network's shape and its public keys.

use actix_web::{HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::problem::{ApiError, Problem};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// Always `ok` while the process answers.
    pub status: String,
}

/// The process answers; says nothing of the database (see `/readyz`).
#[utoipa::path(get, path = "/healthz", tag = "public", responses((status = 200, body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> web::Json<Health> {
    web::Json(Health {
        status: "ok".into(),
    })
}

/// The service can take traffic: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "public", responses(
    (status = 200, body = Health),
    (status = 503, description = "the database does not answer", body = Problem, content_type = "application/problem+json"),
))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<web::Json<Health>, ApiError> {
    state.clearing.ready().await?;
    Ok(web::Json(Health {
        status: "ok".into(),
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UnitView {
    /// Unit code, e.g. `AROMA`.
    pub code: String,
    /// Decimal places the unit counts in.
    pub scale: u32,
    /// Partner id of the issuer, or `network` for a coalition currency.
    pub issuer: String,
    /// Clearing value of one point in the settlement currency (decimal string).
    #[schema(example = "0.04")]
    pub value: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct KeyView {
    pub id: String,
    pub revoked: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PartnerView {
    pub id: String,
    pub name: String,
    pub charity: bool,
    /// The partner's own unit, if it issues one.
    pub unit: Option<String>,
    /// Points per 1.00 of purchase (decimal string).
    pub earn_rate: Option<String>,
    pub keys: Vec<KeyView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NetworkView {
    pub name: String,
    /// The currency partners settle in, e.g. `ILS`.
    pub settlement_currency: String,
    pub settlement_scale: u32,
    /// Network fee on cross-partner value, in basis points.
    pub fee_bps: u32,
    /// Every point unit, with its issuer, scale and clearing value.
    pub units: Vec<UnitView>,
    pub partners: Vec<PartnerView>,
}

/// The partners and units of the network.
#[utoipa::path(get, path = "/v1/network", tag = "public", responses((status = 200, body = NetworkView)))]
#[get("/v1/network")]
pub async fn network(state: web::Data<AppState>) -> web::Json<NetworkView> {
    let net = state.clearing.network();
    let units = net
        .units
        .iter()
        .filter_map(|u| match &u.kind {
            crate::ledger::UnitKind::Points { issuer, value } => Some(UnitView {
                code: u.code.to_string(),
                scale: u.scale.places(),
                issuer: issuer.to_string(),
                value: value.to_string(),
            }),
            crate::ledger::UnitKind::Currency => None,
        })
        .collect();
    let partners = net
        .partners
        .values()
        .map(|p| PartnerView {
            id: p.id.to_string(),
            name: p.name.clone(),
            charity: p.charity,
            unit: p.unit.as_ref().map(ToString::to_string),
            earn_rate: p.earn_rate.map(|r| r.to_string()),
            keys: p
                .keys
                .iter()
                .map(|k| KeyView {
                    id: k.id.to_string(),
                    revoked: k.revoked,
                })
                .collect(),
        })
        .collect();
    web::Json(NetworkView {
        name: net.name.clone(),
        settlement_currency: net.settlement_currency.to_string(),
        settlement_scale: net.currency_scale.places(),
        fee_bps: net.fee_bps,
        units,
        partners,
    })
}

/// One public key in JWK form (RFC 8037: OKP / Ed25519).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JwkView {
    pub kty: String,
    pub crv: String,
    /// The public key, base64url.
    pub x: String,
    /// RFC 7638 thumbprint of the key; receipts and tokens name it in their `kid` header.
    pub kid: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub key_use: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Jwks {
    pub keys: Vec<JwkView>,
}

/// The network's public keys, for receipts, statements and member tokens.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "public", responses((status = 200, body = Jwks)))]
#[get("/.well-known/jwks.json")]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    let keys = state
        .clearing
        .jwks()
        .into_iter()
        .map(|k| JwkView {
            kty: k.kty.into(),
            crv: k.crv.into(),
            x: k.x,
            kid: k.kid,
            alg: k.alg.into(),
            key_use: k.key_use.into(),
        })
        .collect();
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(Jwks { keys })
}
