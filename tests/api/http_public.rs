//! The public routes over real HTTP.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use coalition::api::problem::Problem;
use coalition::api::public::{Health, Jwks, NetworkView};
use coalition::crypto::PublicKey;

use crate::common::TestService;

fn get(url: &str) -> ureq::http::Response<ureq::Body> {
    ureq::get(url)
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .unwrap()
}

#[test]
fn health_and_readiness() {
    let svc = TestService::start();
    let server = svc.serve();
    let mut r = get(&server.url("/healthz"));
    assert_eq!(r.status(), 200);
    assert_eq!(r.body_mut().read_json::<Health>().unwrap().status, "ok");
    let mut r = get(&server.url("/readyz"));
    assert_eq!(r.status(), 200);
    assert_eq!(r.body_mut().read_json::<Health>().unwrap().status, "ok");
    assert_eq!(
        r.headers().get("x-content-type-options").unwrap(),
        "nosniff"
    );
}

#[test]
fn network_lists_partners_and_units() {
    let svc = TestService::start();
    let server = svc.serve();
    let mut r = get(&server.url("/v1/network"));
    assert_eq!(r.status(), 200);
    let net: NetworkView = r.body_mut().read_json().unwrap();
    assert_eq!(net.settlement_currency, "ILS");
    assert_eq!(net.settlement_scale, 2);
    let partners: Vec<&str> = net.partners.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        partners,
        ["aroma", "books", "fuelup", "hope-kitchen", "threads"]
    );
    assert!(
        net.partners
            .iter()
            .any(|p| p.charity && p.id == "hope-kitchen")
    );
    let unit = |code: &str| net.units.iter().find(|u| u.code == code).unwrap();
    assert_eq!(
        (
            unit("AROMA").issuer.as_str(),
            unit("AROMA").value.as_str(),
            unit("AROMA").scale
        ),
        ("aroma", "0.04", 0)
    );
    assert_eq!(
        (unit("COAL").issuer.as_str(), unit("COAL").value.as_str()),
        ("network", "0.05")
    );
    assert_eq!(unit("FUEL").scale, 1);
    // The settlement currency is not a point unit.
    assert!(net.units.iter().all(|u| u.code != "ILS"));
}

#[test]
fn jwks_publishes_the_network_key() {
    let svc = TestService::start();
    let server = svc.serve();
    let jwks: Jwks = get(&server.url("/.well-known/jwks.json"))
        .body_mut()
        .read_json()
        .unwrap();
    assert_eq!(jwks.keys.len(), 1);
    let k = &jwks.keys[0];
    assert_eq!(
        (
            k.kty.as_str(),
            k.crv.as_str(),
            k.alg.as_str(),
            k.key_use.as_str()
        ),
        ("OKP", "Ed25519", "EdDSA", "sig")
    );
    // What the network signs verifies against the published key.
    let x: [u8; 32] = URL_SAFE_NO_PAD.decode(&k.x).unwrap().try_into().unwrap();
    let published = PublicKey::from_bytes(x);
    let signature = svc.clearing.signing_key().sign(b"receipt");
    assert!(published.verify(b"receipt", &signature));
    assert_eq!(published.jwk().kid, k.kid);
    // The key file is the owner's alone.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(svc.dir.path().join("network-key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn unknown_routes_are_problem_json() {
    let svc = TestService::start();
    let server = svc.serve();
    let mut r = get(&server.url("/v1/nothing-here"));
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.headers().get("content-type").unwrap(),
        "application/problem+json"
    );
    let p: Problem = r.body_mut().read_json().unwrap();
    assert_eq!((p.code.as_str(), p.status), ("not_found", 404));
}

#[test]
fn openapi_is_served_and_committed() {
    let svc = TestService::start();
    let server = svc.serve();
    let served = get(&server.url("/openapi.json"))
        .body_mut()
        .read_to_string()
        .unwrap();
    let committed_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.json");
    let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
    if served != committed && std::env::var("UPDATE_OPENAPI").is_ok() {
        std::fs::write(&committed_path, &served).unwrap();
        return;
    }
    assert!(
        served == committed,
        "openapi/openapi.json is stale: run `cargo run -- openapi > openapi/openapi.json` (or UPDATE_OPENAPI=1 cargo test)"
    );
    let doc: serde_json::Value = serde_json::from_str(&served).unwrap();
    for path in [
        "/healthz",
        "/readyz",
        "/v1/network",
        "/.well-known/jwks.json",
        "/openapi.json",
        "/docs",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is not documented");
    }
}

#[test]
fn docs_page_works_offline() {
    let svc = TestService::start();
    let server = svc.serve();
    let mut r = get(&server.url("/docs"));
    assert_eq!(r.status(), 200);
    let csp = r
        .headers()
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'"));
    let html = r.body_mut().read_to_string().unwrap();
    assert!(html.contains("/openapi.json"));
    // Whole as it arrives: no script to run, every operation and schema already on the page,
    // Markdown code spans shown as code rather than as backticks.
    assert!(!html.contains("<script"), "the page runs no script");
    assert!(!csp.contains("script-src"), "{csp}");
    let doc: serde_json::Value =
        serde_json::from_str(&coalition::api::openapi::openapi_json_text()).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let anchor = format!(
                "id=\"{method}-{}\"",
                path.replace(['/', '{', '}', '.'], "-")
            );
            assert!(html.contains(&anchor), "{method} {path} is on the page");
        }
    }
    for name in doc["components"]["schemas"].as_object().unwrap().keys() {
        assert!(
            html.contains(&format!("id=\"schema-{name}\"")),
            "schema {name}"
        );
    }
    assert!(!html.contains('`'), "a Markdown backtick shows literally");
    assert!(html.contains("<code>Idempotency-Key</code>"));
    // Nothing is loaded from another host.
    assert!(
        !html.contains("http://") && !html.contains("https://") && !html.contains("//cdn"),
        "the docs page must be self-contained"
    );
}

#[test]
fn metrics_count_requests_errors_and_write_batches() {
    let api = crate::common::Api::start();
    let member = api.member("aroma");
    api.earn("aroma", &member, "5");
    let _ = get(&api.url("/v1/nothing"));
    let r = crate::common::send(
        "GET",
        &api.url("/healthz"),
        &[("x-request-id", "trace-42".into())],
        None,
    );
    assert_eq!(
        r.header("x-request-id").as_deref(),
        Some("trace-42"),
        "the caller's request id comes back"
    );
    let generated = crate::common::send(
        "GET",
        &api.url("/healthz"),
        &[("x-request-id", "bad id!".into())],
        None,
    );
    assert_ne!(generated.header("x-request-id").as_deref(), Some("bad id!"));
    let text = get(&api.url("/metrics"))
        .body_mut()
        .read_to_string()
        .unwrap();
    let value = |name: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing:\n{text}"))
    };
    assert!(value("coalition_http_requests_total{class=\"2xx\"}") >= 4.0);
    assert!(value("coalition_http_errors_total") >= 1.0);
    assert!(value("coalition_http_request_duration_seconds_count") >= 5.0);
    // Enrolment and the earn were writes: at least two committed batches.
    assert!(value("coalition_write_batches_total{outcome=\"committed\"}") >= 2.0);
    assert!(value("coalition_write_batch_jobs_sum") >= 2.0);
}
