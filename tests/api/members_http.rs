//! Members and identities over real HTTP: member tokens, wallet, consent, authorised
//! cross-brand spending, conversions, donations, and finance roles.

use coalition::clearing::tokens::Role;
use serde_json::{Value, json};

use crate::common::{Api, send};

fn authorize(
    api: &Api,
    token: &str,
    partner: &str,
    unit: &str,
    max: &str,
    ttl: Option<u64>,
) -> String {
    let mut body = json!({ "partner": partner, "unit": unit, "max_points": max });
    if let Some(t) = ttl {
        body["ttl_seconds"] = json!(t);
    }
    let r = api.bearer(token, "POST", "/v1/me/authorizations", Some(&body));
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["code"].as_str().unwrap().to_owned()
}

fn spend(
    api: &Api,
    at: &str,
    member: &str,
    unit: &str,
    points: &str,
    code: Option<&str>,
) -> crate::common::Resp {
    let mut body = json!({ "member_id": member, "unit": unit, "points": points, "reference": "x" });
    if let Some(c) = code {
        body["authorization"] = json!(c);
    }
    api.post(at, "/v1/redemptions", &body)
}

#[test]
fn only_a_linked_partner_mints_member_tokens() {
    let api = Api::start();
    let dana = api.member("aroma");
    let token = api.member_token("aroma", &dana);
    let wallet = api.bearer(&token, "GET", "/v1/me/wallet", None);
    assert_eq!(wallet.status, 200, "{}", wallet.body);
    assert_eq!(wallet.json()["member_id"], dana.as_str());
    // A brand the member has not joined answers as for a member that does not exist.
    let foreign = api.post("books", &format!("/v1/members/{dana}/tokens"), &json!({}));
    assert_eq!(
        (foreign.status, foreign.code().as_str()),
        (404, "not_found")
    );
    let bad_scope = api.post(
        "aroma",
        &format!("/v1/members/{dana}/tokens"),
        &json!({ "scope": ["root"] }),
    );
    assert_eq!(bad_scope.status, 422);
    // A token without a scope cannot use the routes that need it.
    let r = api.post(
        "aroma",
        &format!("/v1/members/{dana}/tokens"),
        &json!({ "scope": ["wallet"], "ttl_seconds": 60 }),
    );
    let narrow = r.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(
        api.bearer(&narrow, "GET", "/v1/me/wallet", None).status,
        200
    );
    let refused = api.bearer(
        &narrow,
        "POST",
        "/v1/me/donations",
        Some(&json!({ "unit": "AROMA", "points": "1", "charity": "hope-kitchen" })),
    );
    assert_eq!(
        (refused.status, refused.code().as_str()),
        (403, "forbidden")
    );
}

#[test]
fn bad_tokens_get_401() {
    let api = Api::start();
    let dana = api.member("aroma");
    let token = api.member_token("aroma", &dana);
    let code = |r: crate::common::Resp| (r.status, r.code());
    assert_eq!(
        code(send("GET", &api.url("/v1/me/wallet"), &[], None)),
        (401, "token_missing".into())
    );
    assert_eq!(
        code(api.bearer("garbage", "GET", "/v1/me/wallet", None)),
        (401, "token_invalid".into())
    );
    // One changed character in the payload breaks the signature.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = parts[1].chars().rev().collect();
    assert_eq!(
        code(api.bearer(&parts.join("."), "GET", "/v1/me/wallet", None)).0,
        401
    );
    // Signed by another key.
    let other = coalition::crypto::SigningKey::generate().unwrap();
    let keys = coalition::clearing::tokens::TokenKeys::new(&other, "x");
    let now = coalition::ledger::clock::Clock::system().now_secs();
    let (forged, _) = keys
        .mint_member(
            dana.parse().unwrap(),
            &"aroma".parse().unwrap(),
            &["wallet".into()],
            60,
            now,
        )
        .unwrap();
    assert_eq!(
        code(api.bearer(&forged, "GET", "/v1/me/wallet", None)),
        (401, "token_invalid".into())
    );
    // Expired.
    let (old, _) = api
        .svc
        .clearing
        .context()
        .tokens
        .mint_member(
            dana.parse().unwrap(),
            &"aroma".parse().unwrap(),
            &["wallet".into()],
            60,
            now - 600,
        )
        .unwrap();
    assert_eq!(
        code(api.bearer(&old, "GET", "/v1/me/wallet", None)),
        (401, "token_expired".into())
    );
}

#[test]
fn a_member_sees_only_their_own_wallet() {
    let api = Api::start();
    let dana = api.member("aroma");
    let avi = api.member("aroma");
    api.earn("aroma", &dana, "70");
    api.earn("aroma", &avi, "5");
    let r = api.post(
        "aroma",
        "/v1/earn",
        &json!({ "member_id": dana, "unit": "COAL", "points": "30", "reference": "c" }),
    );
    assert_eq!(r.status, 201);
    let w = api
        .bearer(
            &api.member_token("aroma", &dana),
            "GET",
            "/v1/me/wallet",
            None,
        )
        .json();
    let balances: Vec<(String, String, String, String)> = w["balances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let f = |k: &str| b[k].as_str().unwrap().to_owned();
            (f("unit"), f("balance"), f("issuer"), f("value"))
        })
        .collect();
    assert_eq!(
        balances,
        [
            ("AROMA".into(), "70".into(), "aroma".into(), "0.04".into()),
            ("COAL".into(), "30".into(), "network".into(), "0.05".into())
        ]
    );
    let entries = api
        .bearer(
            &api.member_token("aroma", &avi),
            "GET",
            "/v1/me/entries",
            None,
        )
        .json();
    let items = entries["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["member_id"], avi.as_str());
    assert_eq!(items[0]["reason"], "Earned 5 AROMA at Aroma Café");
}

#[test]
fn cross_brand_spending_works_only_within_the_authorization() {
    let api = Api::start();
    let dana = api.member("aroma");
    let avi = api.member("aroma");
    api.earn("aroma", &dana, "500");
    api.earn("aroma", &avi, "500");
    let token = api.member_token("aroma", &dana);
    let code = authorize(&api, &token, "books", "AROMA", "60", None);
    let before = api.entry_count();
    // Wrong partner, wrong unit, wrong member: refused, nothing written.
    for (at, member, unit) in [("threads", &dana, "AROMA"), ("books", &avi, "AROMA")] {
        let r = spend(&api, at, member, unit, "10", Some(&code));
        assert_eq!(
            (r.status, r.code().as_str()),
            (403, "authorization_required"),
            "{at} {unit}: {}",
            r.body
        );
    }
    assert_eq!(api.entry_count(), before);
    // Within the limit: books spends Dana's AROMA; Aroma owes Books the value.
    let r = spend(&api, "books", &dana, "AROMA", "50", Some(&code));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        (api.settlement("aroma"), api.settlement("books")),
        (200, -200)
    );
    // Past the total: refused.
    let r = spend(&api, "books", &dana, "AROMA", "11", Some(&code));
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "authorization_required")
    );
    assert_eq!(
        spend(&api, "books", &dana, "AROMA", "10", Some(&code)).status,
        201
    );
    // Expired.
    let short = authorize(&api, &token, "books", "AROMA", "10", Some(1));
    api.advance_secs(2);
    let r = spend(&api, "books", &dana, "AROMA", "1", Some(&short));
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "authorization_required")
    );
    assert_eq!(api.balance("aroma", &dana), "440");
    api.verify();
}

#[test]
fn concurrent_spends_stay_within_the_authorization() {
    let api = Api::start();
    let dana = api.member("aroma");
    api.earn("aroma", &dana, "1000");
    let code = authorize(
        &api,
        &api.member_token("aroma", &dana),
        "books",
        "AROMA",
        "50",
        None,
    );
    let ok = std::thread::scope(|s| {
        let handles: Vec<_> = (0..12)
            .map(|_| s.spawn(|| spend(&api, "books", &dana, "AROMA", "10", Some(&code)).status))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|s| *s == 201)
            .count()
    });
    assert_eq!(ok, 5, "exactly 50 points' worth");
    assert_eq!(api.balance("aroma", &dana), "950");
    api.verify();
}

#[test]
fn conversions_are_exact() {
    let api = Api::start();
    let dana = api.member("aroma");
    api.earn("aroma", &dana, "51");
    let token = api.member_token("aroma", &dana);
    // 51 AROMA (0.04) offered for STYLE (0.10): 20 STYLE cost 50 AROMA; Dana keeps 1.
    let r = api.bearer(
        &token,
        "POST",
        "/v1/me/conversions",
        Some(&json!({ "from_unit": "AROMA", "to_unit": "STYLE", "points": "51" })),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let postings = crate::common::field_pairs(&r.json()["postings"], "account", "amount");
    assert_eq!(
        postings,
        [
            (format!("member:{dana}:AROMA"), "50".into()),
            ("issuer:aroma:AROMA".into(), "-50".into()),
            ("issuer:threads:STYLE".into(), "20".into()),
            (format!("member:{dana}:STYLE"), "-20".into()),
            ("settlement:aroma:ILS".into(), "2.00".into()),
            ("settlement:threads:ILS".into(), "-2.00".into()),
        ]
    );
    let w = api.bearer(&token, "GET", "/v1/me/wallet", None).json();
    let held: Vec<&str> = w["balances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["balance"].as_str().unwrap())
        .collect();
    assert_eq!(held, ["1", "20"]);
    let none = api.bearer(
        &token,
        "POST",
        "/v1/me/conversions",
        Some(&json!({ "from_unit": "AROMA", "to_unit": "STYLE", "points": "1" })),
    );
    assert_eq!((none.status, none.code().as_str()), (422, "invalid_amount"));
    api.verify();
}

#[test]
fn donations_reach_the_charity() {
    let api = Api::start();
    let dana = api.member("aroma");
    api.earn("aroma", &dana, "100");
    let token = api.member_token("aroma", &dana);
    let r = api.bearer(
        &token,
        "POST",
        "/v1/me/donations",
        Some(&json!({ "unit": "AROMA", "points": "100", "charity": "hope-kitchen" })),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        (api.settlement("aroma"), api.settlement("hope-kitchen")),
        (400, -400)
    );
    assert_eq!(api.balance("aroma", &dana), "0");
    // The charity finds the donation among its entries.
    let seen = api.get("hope-kitchen", "/v1/entries?kind=donation").json();
    assert_eq!(seen["items"].as_array().unwrap().len(), 1);
    let not_charity = api.bearer(
        &token,
        "POST",
        "/v1/me/donations",
        Some(&json!({ "unit": "AROMA", "points": "1", "charity": "books" })),
    );
    assert_eq!(not_charity.status, 422);
    api.verify();
}

#[test]
fn consent_hides_and_shows_other_brands_balances() {
    let api = Api::start();
    let dana = api.member("aroma");
    api.link(&dana, "aroma", "books");
    api.earn("aroma", &dana, "10");
    let r = api.post(
        "aroma",
        "/v1/earn",
        &json!({ "member_id": dana, "unit": "COAL", "points": "3", "reference": "c" }),
    );
    assert_eq!(r.status, 201);
    let units = || -> Vec<String> {
        api.get("aroma", &format!("/v1/members/{dana}/balances"))
            .json()["balances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["unit"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(units(), ["AROMA"]);
    let consent_token = |partner: &str| {
        let r = api.post(
            partner,
            &format!("/v1/members/{dana}/tokens"),
            &json!({ "scope": ["consent", "links"] }),
        );
        r.json()["token"].as_str().unwrap().to_owned()
    };
    let (in_aroma, in_books) = (consent_token("aroma"), consent_token("books"));
    // Aroma's own app cannot widen what Aroma sees, member-wide or per link.
    for (method, path, body) in [
        ("PUT", "/v1/me/consent", json!({ "share_balances": true })),
        (
            "PUT",
            "/v1/me/links/aroma",
            json!({ "share_balances": true }),
        ),
    ] {
        let r = api.bearer(&in_aroma, method, path, Some(&body));
        assert_eq!((r.status, r.code().as_str()), (403, "forbidden"), "{path}");
    }
    assert_eq!(units(), ["AROMA"], "nothing changed");
    // In the bookstore's app Dana lets Aroma see her other brands.
    let r = api.bearer(
        &in_books,
        "PUT",
        "/v1/me/links/aroma",
        Some(&json!({ "share_balances": true })),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["share_balances"], true);
    assert_eq!(units(), ["AROMA", "COAL"]);
    let shares = api.link_shares(&in_books);
    let expected = [("aroma", true), ("books", false)].map(|(p, s)| (p.to_owned(), s));
    assert_eq!(shares, expected, "per brand");
    // Any app may narrow, Aroma's own included; member-wide narrowing reaches every link.
    let r = api.bearer(
        &in_aroma,
        "PUT",
        "/v1/me/consent",
        Some(&json!({ "share_balances": false })),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(units(), ["AROMA"]);
    // A brand the member is not linked to has no link to set.
    let r = api.bearer(
        &in_books,
        "PUT",
        "/v1/me/links/threads",
        Some(&json!({ "share_balances": true })),
    );
    assert_eq!((r.status, r.code().as_str()), (404, "not_found"));
}

#[test]
fn finance_routes_are_for_finance_roles_only() {
    let api = Api::start();
    let dana = api.member("aroma");
    api.earn("aroma", &dana, "10");
    let path = "/v1/ledger/trial-balance";
    let member = api.member_token("aroma", &dana);
    let r = api.bearer(&member, "GET", path, None);
    assert_eq!((r.status, r.code().as_str()), (403, "forbidden"));
    let r = api.get("aroma", path);
    assert_eq!(
        (r.status, r.code().as_str()),
        (401, "token_missing"),
        "a partner's signature is not a finance identity"
    );
    let partner_finance = api.finance_token(Role::Finance, Some("books"));
    let r = api.bearer(&partner_finance, "GET", path, None);
    assert_eq!((r.status, r.code().as_str()), (403, "forbidden"));
    assert_eq!(
        api.bearer(&partner_finance, "GET", "/v1/ledger/verify", None)
            .status,
        403
    );
    for role in [Role::Operator, Role::Finance] {
        let r = api.bearer(&api.finance_token(role, None), "GET", path, None);
        assert_eq!(r.status, 200, "{}", r.body);
        let tb: Value = r.json();
        for unit in tb["units"].as_array().unwrap() {
            assert!(
                unit["net"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches('-')
                    .chars()
                    .all(|c| c == '0' || c == '.'),
                "{unit}"
            );
        }
        assert!(
            tb["accounts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["account"] == "issuer:aroma:AROMA" && a["balance"] == "10")
        );
    }
    let v = api
        .bearer(
            &api.finance_token(Role::Operator, None),
            "GET",
            "/v1/ledger/verify",
            None,
        )
        .json();
    assert_eq!(v["ok"], true);
}

#[test]
fn the_cli_mints_finance_tokens_the_service_accepts() {
    let api = Api::start();
    let key = api.svc.dir.path().join("network-key.pem");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_coalition"))
        .args(["token", "--role", "operator", "--network-key"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(
        api.bearer(&token, "GET", "/v1/ledger/trial-balance", None)
            .status,
        200
    );
}

/// The wallet reads each of the member's accounts by name, one per unit of the network: every
/// unit held shows, with its own balance, and another member's holdings never do.
#[test]
fn the_wallet_shows_every_unit_the_member_holds() {
    let api = Api::start();
    let dana = api.member("aroma");
    let other = api.member("aroma");
    api.earn("aroma", &dana, "100");
    api.earn("aroma", &other, "70");
    let token = api.member_token("aroma", &dana);
    let converted = api.bearer(
        &token,
        "POST",
        "/v1/me/conversions",
        Some(&json!({ "from_unit": "AROMA", "to_unit": "STYLE", "points": "10" })),
    );
    assert!(converted.status < 300, "{}", converted.body);
    let wallet = api.bearer(&token, "GET", "/v1/me/wallet", None);
    assert_eq!(wallet.status, 200, "{}", wallet.body);
    let lines = crate::common::field_pairs(&wallet.json()["balances"], "unit", "balance");
    // 10 AROMA buy 4 STYLE (AROMA is worth 0.04 of the currency, STYLE 0.10).
    assert_eq!(
        lines,
        [
            ("AROMA".to_owned(), api.balance("aroma", &dana)),
            ("STYLE".to_owned(), "4".to_owned())
        ]
    );
    assert_eq!(api.balance("aroma", &dana), "90");
}
