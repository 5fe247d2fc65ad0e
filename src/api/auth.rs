//! Partner authentication: the RFC 9421 signature over the request, `Content-Digest` over the
//! body, the key's owner, and the `Idempotency-Key` of a POST.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header::HeaderValue;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpRequest, dev, web};

use super::codes::ErrorCode;
use super::problem::ApiError;
use super::{AppState, MAX_BODY_BYTES};
use crate::clearing::write::{Caller, Idempotency};
use crate::httpsig::{self, Message, SigError};
use crate::ledger::{KeyId, PartnerId};

/// A request a partner signed, with its body (already checked against `Content-Digest`).
pub struct Signed {
    pub caller: Caller,
    pub body: Bytes,
    /// The `Idempotency-Key`, required on every POST.
    pub idempotency: Option<Idempotency>,
    /// The body's `Content-Type`, as sent.
    pub content_type: Option<String>,
}

impl Signed {
    /// The body as `T`: sent as JSON, and what `T` takes, or an error that says why not.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, ApiError> {
        require_json(self.content_type.as_deref())?;
        body_json(&self.body)
    }

    pub fn idempotency(&self) -> Result<Idempotency, ApiError> {
        self.idempotency.clone().ok_or_else(|| {
            ApiError::new(
                ErrorCode::IdempotencyKeyMissing,
                "every partner POST needs an Idempotency-Key header",
            )
        })
    }
}

fn unauthorized(code: ErrorCode, detail: impl Into<String>) -> ApiError {
    debug_assert_eq!(code.status_u16(), 401);
    ApiError::new(code, detail)
}

impl From<SigError> for ApiError {
    fn from(e: SigError) -> Self {
        let code = match &e {
            SigError::Missing => ErrorCode::SignatureMissing,
            SigError::Malformed(_) | SigError::Invalid(_) => ErrorCode::SignatureInvalid,
            SigError::Expired(_) => ErrorCode::SignatureExpired,
            SigError::UnknownKey(_) => ErrorCode::UnknownKey,
            SigError::DigestMismatch(_) => ErrorCode::DigestMismatch,
        };
        unauthorized(code, e.to_string())
    }
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Result<Option<&'a str>, ApiError> {
    req.headers()
        .get(name)
        .map(|v| visible_ascii(name, v))
        .transpose()
}

/// A header line as text; anything but visible ASCII is refused.
fn visible_ascii<'a>(name: &str, value: &'a HeaderValue) -> Result<&'a str, ApiError> {
    value.to_str().map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidHeader,
            format!("{name} is not visible ASCII"),
        )
    })
}

/// Every line of a header, joined with `, ` as one field value (RFC 9110 §5.3): a dictionary
/// sent over two lines is read whole, never only its first line.
fn header_lines(req: &HttpRequest, name: &str) -> Result<Option<String>, ApiError> {
    let lines = req
        .headers()
        .get_all(name)
        .map(|v| visible_ascii(name, v))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((!lines.is_empty()).then(|| lines.join(", ")))
}

/// Checks every signature on the request until one verifies; the first one's error otherwise.
fn authenticate(req: &HttpRequest, state: &AppState, body: &[u8]) -> Result<Caller, ApiError> {
    let input = header_lines(req, "signature-input")?;
    let signature = header_lines(req, "signature")?;
    let (Some(input), Some(signature)) = (input, signature) else {
        return Err(SigError::Missing.into());
    };
    let sigs = httpsig::parse(&input, &signature)?;
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .filter_map(|(n, v)| {
            v.to_str()
                .ok()
                .map(|v| (n.as_str().to_owned(), v.to_owned()))
        })
        .collect();
    let (scheme, authority) = target(req, state);
    let msg = Message {
        method: req.method().as_str(),
        scheme: &scheme,
        authority: &authority,
        path: req.uri().path(),
        query: req.uri().query(),
        headers: &headers,
    };
    let now = state.clearing.clock().now_secs();
    let mut first_error: Option<ApiError> = None;
    for sig in &sigs {
        match verify_one(state, &msg, sig, body, now) {
            Ok((partner, key_id)) => {
                if !body.is_empty() {
                    let digest = msg.field("content-digest").ok_or_else(|| {
                        SigError::DigestMismatch("no Content-Digest header".into())
                    })?;
                    httpsig::check_content_digest(&digest, body)?;
                }
                return Ok(Caller {
                    partner,
                    key_id,
                    signature,
                });
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| SigError::Missing.into()))
}

/// The scheme and authority the partner signed: the configured public URL behind a proxy, else
/// what the connection says.
fn target(req: &HttpRequest, state: &AppState) -> (String, String) {
    match &state.public_url {
        Some(base) => {
            let (scheme, rest) = base.split_once("://").unwrap_or(("https", base));
            (
                scheme.to_owned(),
                rest.trim_end_matches('/').to_ascii_lowercase(),
            )
        }
        None => {
            let info = req.connection_info();
            (info.scheme().to_owned(), info.host().to_ascii_lowercase())
        }
    }
}

/// One signature: a known, unrevoked key, a fresh `created`, the components the service
/// requires, and a valid Ed25519 signature. Gives the key's partner and id.
fn verify_one(
    state: &AppState,
    msg: &Message<'_>,
    sig: &httpsig::Signature,
    body: &[u8],
    now: i64,
) -> Result<(PartnerId, KeyId), ApiError> {
    let network = state.clearing.network();
    let keyid = sig
        .keyid()
        .ok_or_else(|| SigError::Malformed("the keyid parameter is required".into()))?;
    let key_id: KeyId = keyid
        .parse()
        .map_err(|_| SigError::UnknownKey(keyid.chars().take(64).collect()))?;
    let owner = network
        .key_owners
        .get(&key_id)
        .ok_or_else(|| SigError::UnknownKey(key_id.to_string()))?;
    let key = network
        .partner(owner)
        .and_then(|p| p.keys.iter().find(|k| k.id == key_id && !k.revoked))
        .ok_or_else(|| SigError::UnknownKey(format!("{key_id} (revoked)")))?;
    httpsig::check_times(sig, now)?;
    let targets = sig.covers("@target-uri")
        || (sig.covers("@authority")
            && sig.covers("@path")
            && (msg.query.is_none() || sig.covers("@query")));
    if !sig.covers("@method") || !targets {
        return Err(SigError::Invalid(
            "the signature must cover @method and @target-uri (or @authority, @path and @query)"
                .into(),
        )
        .into());
    }
    if !body.is_empty() && !sig.covers("content-digest") {
        return Err(
            SigError::Invalid("a request with a body must cover content-digest".into()).into(),
        );
    }
    // An uncovered key could be swapped: a captured request sent again under another key would
    // verify and post again, on any instance and after any restart.
    if msg.field("idempotency-key").is_some() && !sig.covers("idempotency-key") {
        return Err(SigError::Invalid(
            "a request with an Idempotency-Key must cover idempotency-key".into(),
        )
        .into());
    }
    httpsig::verify(msg, sig, &key.public_key)?;
    Ok((owner.clone(), key_id))
}

impl FromRequest for Signed {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut dev::Payload) -> Self::Future {
        let req = req.clone();
        let payload = web::Payload::from_request(&req, payload).into_inner();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(ApiError::internal)?
                .clone();
            let payload = payload
                .map_err(|_| ApiError::new(ErrorCode::InvalidBody, "the body could not be read"))?;
            let body = read_body(payload, MAX_BODY_BYTES).await?;
            let caller = authenticate(&req, &state, &body)?;
            if let Err(retry_after_secs) = state.limits.take(caller.partner.as_str()) {
                return Err(ApiError::new(
                    ErrorCode::RateLimited,
                    format!(
                        "{} is over its request rate; retry in {retry_after_secs} s",
                        caller.partner
                    ),
                )
                .retry_after(retry_after_secs));
            }
            let idempotency = match header(&req, "idempotency-key")? {
                Some(key) => Some(
                    Idempotency::new(key, req.method().as_str(), req.uri().path(), &body).map_err(
                        |e| ApiError::new(ErrorCode::IdempotencyKeyInvalid, e.to_string()),
                    )?,
                ),
                None => None,
            };
            // The signature bytes name the request; only that very request may come again.
            let request = format!(
                "{} {} {}",
                req.method(),
                req.uri(),
                idempotency
                    .as_ref()
                    .map_or(String::new(), Idempotency::fingerprint)
            );
            if !state.replays.admit(
                caller.signature.as_bytes(),
                &request,
                state.clearing.clock().now_secs(),
            ) {
                return Err(unauthorized(
                    ErrorCode::SignatureReplayed,
                    "this signature was already used for another request: sign each request anew",
                ));
            }
            let content_type = header(&req, "content-type")?.map(str::to_owned);
            Ok(Signed {
                caller,
                body,
                idempotency,
                content_type,
            })
        })
    }
}

/// The bearer token of a request, if it carries one.
fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let value = header(req, "authorization")?.ok_or_else(|| {
        unauthorized(
            ErrorCode::TokenMissing,
            "send Authorization: Bearer <token>",
        )
    })?;
    value
        .strip_prefix("Bearer ")
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            unauthorized(
                ErrorCode::TokenMissing,
                "the Authorization header must be `Bearer <token>`",
            )
        })
}

fn token_error(e: crate::clearing::tokens::TokenError) -> ApiError {
    match e {
        crate::clearing::tokens::TokenError::Expired => {
            unauthorized(ErrorCode::TokenExpired, e.to_string())
        }
        crate::clearing::tokens::TokenError::Invalid(_) => {
            unauthorized(ErrorCode::TokenInvalid, e.to_string())
        }
    }
}

fn state_of(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(ApiError::internal)
}

/// A request with a member token (`Authorization: Bearer`), minted by the network for one member.
pub struct Member(pub crate::clearing::tokens::MemberIdentity);

impl Member {
    /// Refuses a token minted without `scope`.
    pub fn require(&self, scope: &str) -> Result<crate::ledger::MemberId, ApiError> {
        if self.0.allows(scope) {
            Ok(self.0.member)
        } else {
            Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("this token does not carry the {scope} scope"),
            ))
        }
    }
}

impl FromRequest for Member {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    /// A valid token of a member who still exists: an erased member's tokens are refused as the
    /// member is, `404 not_found`.
    fn from_request(req: &HttpRequest, _: &mut dev::Payload) -> Self::Future {
        let checked = state_of(req).and_then(|state| {
            let token = bearer(req)?;
            let identity = state
                .clearing
                .context()
                .tokens
                .member(&token, state.clearing.clock().now_secs())
                .map_err(token_error)?;
            Ok((state, identity))
        });
        Box::pin(async move {
            let (state, identity) = checked?;
            state.clearing.require_member(identity.member).await?;
            Ok(Member(identity))
        })
    }
}

/// A request with a finance or operator token. Every finance route scopes itself through
/// [`Finance::network_wide`] or [`Finance::for_partner`], and nowhere else.
pub struct Finance(pub crate::clearing::tokens::FinanceIdentity);

impl Finance {
    /// Network-wide reports: the operator, and the network's own finance staff.
    pub fn network_wide(&self) -> Result<(), ApiError> {
        match &self.0.partner {
            None => Ok(()),
            Some(p) => Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("a finance user of {p} sees only {p}'s own figures"),
            )),
        }
    }

    /// Figures of one partner: the operator, the network's finance staff, or that partner's own.
    pub fn for_partner(&self, partner: &crate::ledger::PartnerId) -> Result<(), ApiError> {
        match &self.0.partner {
            Some(p) if p != partner => Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("a finance user of {p} sees only {p}'s own figures"),
            )),
            _ => Ok(()),
        }
    }
}

impl FromRequest for Finance {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut dev::Payload) -> Self::Future {
        let identity = state_of(req).and_then(|state| {
            let token = bearer(req)?;
            let id = state
                .clearing
                .context()
                .tokens
                .finance(&token, state.clearing.clock().now_secs())
                .map_err(|e| {
                    // A member token is a valid token, but not for these routes.
                    if state
                        .clearing
                        .context()
                        .tokens
                        .member(&token, state.clearing.clock().now_secs())
                        .is_ok()
                    {
                        ApiError::new(
                            ErrorCode::Forbidden,
                            "finance routes need a finance or operator token",
                        )
                    } else {
                        token_error(e)
                    }
                })?;
            if let Some(p) = &id.partner
                && state.clearing.network().partner(p).is_none()
            {
                return Err(unauthorized(
                    ErrorCode::TokenInvalid,
                    format!("unknown partner {p} in the token"),
                ));
            }
            Ok(id)
        });
        std::future::ready(identity.map(Finance))
    }
}

/// Whether a request authenticates with a bearer token rather than a partner's signature
/// (routes that take either: a signature wins).
pub fn is_bearer(req: &HttpRequest) -> bool {
    req.headers().contains_key("authorization") && !req.headers().contains_key("signature-input")
}

/// A JSON call's whole body, at most [`MAX_BODY_BYTES`]: actix's own `Bytes` extractor answers
/// an over-long body with a plain-text 413, this one with the problem.
pub struct Body(pub Bytes);

impl FromRequest for Body {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut dev::Payload) -> Self::Future {
        let payload = web::Payload::from_request(req, payload).into_inner();
        Box::pin(async move {
            let payload = payload
                .map_err(|_| ApiError::new(ErrorCode::InvalidBody, "the body could not be read"))?;
            read_body(payload, MAX_BODY_BYTES).await.map(Body)
        })
    }
}

/// Reads a whole body of at most `limit` bytes; `413 body_too_large` past it.
pub async fn read_body(payload: web::Payload, limit: usize) -> Result<Bytes, ApiError> {
    match payload.to_bytes_limited(limit).await {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(_)) => Err(ApiError::new(
            ErrorCode::InvalidBody,
            "the body could not be read",
        )),
        Err(_) => Err(ApiError::new(
            ErrorCode::BodyTooLarge,
            format!("request bodies here are limited to {limit} bytes"),
        )),
    }
}

/// The `Idempotency-Key` of a member or finance request, where it is optional.
pub fn optional_idempotency(
    req: &HttpRequest,
    body: &[u8],
) -> Result<Option<Idempotency>, ApiError> {
    match header(req, "idempotency-key")? {
        None => Ok(None),
        Some(key) => Idempotency::new(key, req.method().as_str(), req.uri().path(), body)
            .map(Some)
            .map_err(|e| ApiError::new(ErrorCode::IdempotencyKeyInvalid, e.to_string())),
    }
}

/// A JSON body as `T`, or a 400 that says why not.
/// Refuses a body that does not say it is JSON (`application/json`, or `application/…+json`,
/// parameters allowed): a JSON body sent as `text/plain` was read all the same.
pub fn require_json(content_type: Option<&str>) -> Result<(), ApiError> {
    let media = content_type
        .and_then(|ct| ct.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase());
    match media.as_deref() {
        Some("application/json") => Ok(()),
        Some(m) if m.starts_with("application/") && m.ends_with("+json") => Ok(()),
        other => Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!(
                "send the body as Content-Type: application/json, not {}",
                other.unwrap_or("no Content-Type")
            ),
        )),
    }
}

/// A JSON body of `req`: its Content-Type says JSON and it parses as `T`.
pub fn json_body<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    body: &[u8],
) -> Result<T, ApiError> {
    require_json(header(req, "content-type")?)?;
    body_json(body)
}

pub(super) fn body_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::new(ErrorCode::InvalidJson, e.to_string()))
}
