//! The OpenAPI document: utoipa's reading of the handlers, plus what every operation of a kind
//! shares — how it authenticates and the problems the layers under every handler answer with —
//! added here once rather than repeated on forty handlers.

use std::fmt::Write as _;

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{Object, Schema, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, ResponseBuilder};
use utoipa::{Modify as _, OpenApi};

use super::RoutePaths;
use super::codes::ErrorCode;
use super::problem::Problem;
use crate::clearing::write::MAX_IDEMPOTENCY_KEY_BYTES;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Coalition API",
        description = "Clearing for a partner network of loyalty programs. Amounts are decimal strings; \
errors are application/problem+json with a stable `code`. See docs/ in the repository.",
        license(name = "Apache-2.0"),
    ),
    components(schemas(Problem)),
    tags(
        (name = "public", description = "No authentication"),
        (name = "partner", description = "Signed by the partner: RFC 9421 HTTP Message Signatures with Ed25519 \
(Signature-Input, Signature, Content-Digest); every POST carries an Idempotency-Key"),
        (name = "coupons", description = "Sponsor-funded cross-partner coupons (signed like every partner call)"),
        (name = "webhooks", description = "A partner's webhook endpoint and its deliveries (signed like every partner call); \
deliveries follow Standard Webhooks, signed `v1a` (Ed25519) by the network key: docs/webhooks.md"),
        (name = "member", description = "A member's own calls, with a member token from POST /v1/members/{member_id}/tokens"),
        (name = "finance", description = "Finance and operator staff, with a token from `coalition token`"),
    ),
)]
pub struct ApiDoc;

/// Declares how callers authenticate: partners sign (RFC 9421; OpenAPI has no scheme for it, so
/// it is declared as the header it arrives in and described), members and finance staff bear
/// tokens.
struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let bearer = || {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            )
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("member_token", bearer());
        components.add_security_scheme("finance_token", bearer());
        components.add_security_scheme(
            PARTNER_SIGNATURE,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Signature",
                "RFC 9421 HTTP Message Signature by the partner's Ed25519 key, with Signature-Input \
                 covering @method, @authority, @target-uri, content-digest when there is a body and \
                 idempotency-key when that header is sent (docs/partner-integration.md).",
            ))),
        );
    }
}

const PARTNER_SIGNATURE: &str = "partner_signature";

/// Who may call an operation, read off its tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Public,
    Partner,
    Member,
    Finance,
}

fn caller(op: &Operation) -> Caller {
    // The tags say who calls (their descriptions above): one of these per operation.
    let tagged = |t: &str| op.tags.iter().flatten().any(|x| x == t);
    if tagged("finance") {
        Caller::Finance
    } else if tagged("member") {
        Caller::Member
    } else if tagged("partner") || tagged("coupons") || tagged("webhooks") {
        Caller::Partner
    } else {
        Caller::Public
    }
}

/// The problems an operation can meet before or around its handler, by what the operation is.
/// The handlers declare their own refusals (404 for a missing entry, 422 for a rule broken);
/// these come from the extractors, the body reader, the rate limiter and the database.
fn shared_problems(op: &Operation) -> Vec<(u16, &'static str)> {
    let who = caller(op);
    let params = op.parameters.iter().flatten();
    let has = |place: ParameterIn| {
        op.parameters
            .iter()
            .flatten()
            .any(|p| p.parameter_in == place)
    };
    let keyed = params
        .clone()
        .any(|p| p.parameter_in == ParameterIn::Header && p.name == "Idempotency-Key");
    let mut out = Vec::new();
    match who {
        Caller::Public => {}
        Caller::Partner => {
            out.push((
                400,
                "a signing header is not visible ASCII, or the body could not be read",
            ));
            out.push((
                401,
                "not signed, or the signature does not verify (see `code`)",
            ));
            out.push((413, "the body is over its size limit"));
            out.push((
                429,
                "over the partner's request rate: retry after Retry-After seconds",
            ));
        }
        Caller::Member => {
            out.push((401, "no member token, or not a valid one"));
            out.push((403, "the token does not carry the scope this call needs"));
            out.push((404, "the token's member was erased"));
        }
        Caller::Finance => {
            out.push((401, "no finance token, or not a valid one"));
            out.push((
                403,
                "a member token, or a partner's finance user asking past its partner",
            ));
        }
    }
    if let Some(body) = &op.request_body {
        out.push((413, "the body is over its size limit"));
        if body.content.contains_key("application/json") {
            out.push((400, "the body is not the JSON this call takes"));
            out.push((415, "the body is not sent as application/json"));
        }
    }
    if keyed {
        out.push((400, "the Idempotency-Key is missing or malformed"));
        out.push((
            422,
            "the Idempotency-Key was used before with a different request",
        ));
    }
    if has(ParameterIn::Query) {
        out.push((400, "a query parameter is missing, unknown or malformed"));
    }
    if has(ParameterIn::Path) {
        out.push((404, "nothing of the caller's under this path"));
    }
    if who != Caller::Public {
        out.push((
            503,
            "the database is unavailable: retry (with the same Idempotency-Key)",
        ));
    }
    out
}

/// Adds each operation's shared problems to what its handler declares, marks the signed ones
/// with the partner signature scheme, and states the Idempotency-Key's rules.
struct SharedResponses;

impl utoipa::Modify for SharedResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in ops.into_iter().flatten() {
                if caller(op) == Caller::Partner && op.security.is_none() {
                    op.security = Some(vec![SecurityRequirement::new(
                        PARTNER_SIGNATURE,
                        Vec::<String>::new(),
                    )]);
                }
                for (status, why) in shared_problems(op) {
                    add_problem(op, status, why);
                }
                for p in op.parameters.iter_mut().flatten() {
                    if p.parameter_in == ParameterIn::Header && p.name == "Idempotency-Key" {
                        p.required = Required::True;
                        p.schema = Some(RefOr::T(idempotency_key_schema()));
                    }
                }
            }
        }
    }
}

/// 1 to 255 characters from space to tilde, as `Idempotency::new` takes them.
fn idempotency_key_schema() -> Schema {
    let mut key = Object::with_type(Type::String);
    key.min_length = Some(1);
    key.max_length = Some(MAX_IDEMPOTENCY_KEY_BYTES);
    key.pattern = Some("^[ -~]+$".into());
    key.description = Some(format!(
        "1 to {MAX_IDEMPOTENCY_KEY_BYTES} printable ASCII characters; the same key with the same \
         request answers the first reply again"
    ));
    Schema::Object(key)
}

/// Declares `status` as a problem on `op`; where the handler declared it already, its own
/// description stays and `why` is added to it.
fn add_problem(op: &mut Operation, status: u16, why: &str) {
    let key = status.to_string();
    match op.responses.responses.get_mut(&key) {
        Some(RefOr::T(existing)) => {
            if !existing.description.contains(why) {
                if !existing.description.is_empty() {
                    existing.description.push_str("; ");
                }
                existing.description.push_str(why);
            }
        }
        Some(RefOr::Ref(_)) => {}
        None => {
            let response = ResponseBuilder::new()
                .description(why)
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build();
            op.responses.responses.insert(key, RefOr::T(response));
        }
    }
}

/// Lists every error code on the `Problem` schema's `code`, from the one table.
struct ErrorCodes;

impl utoipa::Modify for ErrorCodes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        let Some(RefOr::T(Schema::Object(problem))) = components.schemas.get_mut("Problem") else {
            return;
        };
        let mut description =
            String::from("Stable machine-readable code; `type` links to its row on /docs#errors.");
        for code in ErrorCode::ALL {
            let _ = write!(
                description,
                "\n- `{}` ({}): {}",
                code.as_str(),
                code.status_u16(),
                code.meaning()
            );
        }
        let mut code = Object::with_type(Type::String);
        code.enum_values = Some(ErrorCode::ALL.iter().map(|c| c.as_str().into()).collect());
        code.description = Some(description);
        problem
            .properties
            .insert("code".to_owned(), RefOr::T(Schema::Object(code)));
    }
}

/// The whole document: the API's description with the paths of every registered route
/// ([`RoutePaths`]), the bearer schemes and the error codes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(RoutePaths::openapi());
    SecuritySchemes.modify(&mut doc);
    ErrorCodes.modify(&mut doc);
    SharedResponses.modify(&mut doc);
    doc
}

/// The methods the API serves at `path` (a request path, placeholders filled in), upper case;
/// empty when no route has this shape.
pub fn methods_at(path: &str) -> Vec<&'static str> {
    static ROUTES: std::sync::OnceLock<Vec<(String, Vec<&'static str>)>> =
        std::sync::OnceLock::new();
    let routes = ROUTES.get_or_init(|| {
        openapi()
            .paths
            .paths
            .iter()
            .map(|(template, item)| {
                let methods = [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("PATCH", item.patch.is_some()),
                ];
                let served = methods.iter().filter(|(_, on)| *on).map(|(m, _)| *m);
                (template.clone(), served.collect())
            })
            .collect()
    });
    routes
        .iter()
        .find(|(template, _)| shape_matches(template, path))
        .map(|(_, methods)| methods.clone())
        .unwrap_or_default()
}

/// `/v1/entries/{entry_id}` matches `/v1/entries/abc`: literal segments equal, placeholders any
/// non-empty segment.
fn shape_matches(template: &str, path: &str) -> bool {
    let (mut t, mut p) = (template.split('/'), path.split('/'));
    loop {
        match (t.next(), p.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a.starts_with('{') && a.ends_with('}') && !b.is_empty() => {}
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

/// The committed `openapi/openapi.json`: what this build serves, pretty-printed.
pub fn openapi_json_text() -> String {
    let mut text = openapi().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}
