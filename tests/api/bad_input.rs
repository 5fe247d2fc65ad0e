//! A battery of bad input over every write route: always a 4xx problem+json, nothing changed,
//! and the server still answering.

use serde_json::json;

use crate::common::{Api, Resp, send};

fn assert_problem(r: &Resp, what: &str) {
    assert!(
        (400..500).contains(&r.status),
        "{what}: {} {}",
        r.status,
        r.body
    );
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/problem+json"),
        "{what}: {}",
        r.body
    );
    let p = r.json();
    assert!(
        p["code"].as_str().is_some_and(|c| !c.is_empty()),
        "{what}: {}",
        r.body
    );
    assert_eq!(p["status"].as_u64(), Some(u64::from(r.status)), "{what}");
}

#[test]
fn bad_input_changes_nothing() {
    let api = Api::start();
    let member = api.member("aroma");
    api.earn("aroma", &member, "50");
    let campaign = {
        let body = json!({ "name": "c", "redeemable_at": ["books"], "benefit": { "kind": "amount", "value": "5.00" }, "currency": "ILS",
            "budget": "50.00", "valid_from": "2020-01-01T00:00:00Z", "valid_until": "2099-01-01T00:00:00Z" });
        api.post("threads", "/v1/campaigns", &body).json()["campaign_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let unknown = uuid::Uuid::new_v4().to_string();
    let routes = [
        "/v1/members".to_owned(),
        "/v1/earn".to_owned(),
        "/v1/redemptions".to_owned(),
        format!("/v1/redemptions/{unknown}/capture"),
        format!("/v1/redemptions/{unknown}/void"),
        "/v1/reversals".to_owned(),
        "/v1/campaigns".to_owned(),
        format!("/v1/campaigns/{campaign}/coupons"),
        "/v1/coupons/2222-2222-2222-22222/redemptions".to_owned(),
        format!("/v1/members/{member}/tokens"),
    ];
    let bodies: Vec<(&str, String)> = vec![
        ("malformed JSON", "{\"member_id\": ".into()),
        ("an array", "[]".into()),
        ("null", "null".into()),
        ("wrong types", json!({ "member_id": 5, "points": ["10"], "reference": {}, "external_id": 7 }).to_string()),
        ("unknown fields", json!({ "member_id": member, "points": "1", "reference": "r", "admin": true }).to_string()),
        ("control characters", json!({ "member_id": member, "unit": "AROMA", "points": "1", "reference": "a\u{0}b", "external_id": "x\u{7}" }).to_string()),
        ("bidi override", json!({ "member_id": member, "unit": "AROMA", "points": "1", "reference": "\u{202e}1 tnuoma", "external_id": "\u{202e}" }).to_string()),
        ("a huge string", json!({ "member_id": member, "unit": "AROMA", "points": "1", "reference": "x".repeat(20_000), "external_id": "y".repeat(20_000) }).to_string()),
        ("amount out of range", json!({ "member_id": member, "unit": "AROMA", "points": "99999999999999999999999", "reference": "r", "purchase_amount": "1e400" }).to_string()),
        ("negative amount", json!({ "member_id": member, "unit": "AROMA", "points": "-50", "reference": "r", "purchase_amount": "-5.00" }).to_string()),
        ("unknown unit", json!({ "member_id": member, "unit": "NOPE", "points": "1", "reference": "r" }).to_string()),
        ("unknown member", json!({ "member_id": unknown, "unit": "AROMA", "points": "1", "reference": "r", "entry_id": unknown, "reason": "x" }).to_string()),
        ("unknown partner", json!({ "name": "c", "redeemable_at": ["nobody"], "benefit": { "kind": "amount", "value": "1.00" }, "currency": "ILS", "budget": "5.00",
            "valid_from": "2020-01-01T00:00:00Z", "valid_until": "2099-01-01T00:00:00Z" }).to_string()),
    ];
    let entries = api.entry_count();
    let mut tried = 0;
    for route in &routes {
        for (what, body) in &bodies {
            let r = api.signed(
                "aroma",
                "POST",
                route,
                Some(body),
                Some(&uuid::Uuid::new_v4().to_string()),
            );
            // Enrolling members and minting tokens may legitimately accept some of these bodies
            // (a bidi character is a valid external id); everything else must be refused.
            if r.status < 300 {
                assert!(
                    route == "/v1/members" || route.ends_with("/tokens"),
                    "{what} on {route} was accepted: {}",
                    r.body
                );
                continue;
            }
            assert_problem(&r, &format!("{what} on {route}"));
            tried += 1;
        }
        // Not UTF-8 at all.
        let r = api.signed("aroma", "POST", route, Some("\u{fffd}"), Some("k"));
        assert!(r.status >= 400 || route == "/v1/members" || route.ends_with("/tokens"));
    }
    assert!(tried > 100, "{tried}");
    // A body over the limit, signed properly.
    let huge = format!(
        "{{\"reference\": \"{}\"}}",
        "z".repeat(coalition::api::MAX_BODY_BYTES)
    );
    let r = api.signed("aroma", "POST", "/v1/earn", Some(&huge), Some("big"));
    assert_eq!(r.status, 413);
    assert_problem(&r, "huge body");
    // Garbage in paths and queries.
    for path in [
        "/v1/entries/not-a-uuid",
        "/v1/entries?limit=abc",
        "/v1/entries?cursor=%00",
        "/v1/coupons/%F0%9F%92%A9",
        "/v1/members/x/balances",
    ] {
        let r = api.get("aroma", path);
        assert_problem(&r, path);
    }
    // Forged signatures and tokens on every kind of route.
    let forged = [
        (
            "signature-input",
            "sig1=(\"@method\");created=1;keyid=\"aroma-test\"".to_owned(),
        ),
        ("signature", "sig1=:AAAA:".to_owned()),
    ];
    assert_problem(
        &send("POST", &api.url("/v1/earn"), &forged, Some(b"{}")),
        "forged signature",
    );
    for path in [
        "/v1/me/wallet",
        "/v1/ledger/trial-balance",
        "/v1/settlements",
    ] {
        assert_problem(
            &send(
                "GET",
                &api.url(path),
                &[("authorization", "Bearer e30.e30.e30".into())],
                None,
            ),
            path,
        );
    }
    assert_eq!(api.entry_count(), entries, "nothing was written");
    assert_eq!(
        send("GET", &api.url("/healthz"), &[], None).status,
        200,
        "the server still answers"
    );
    api.verify();
}
