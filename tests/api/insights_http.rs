//! Insights over real HTTP, on both backends: counted by the daily pass from the aggregates,
//! a partner's overlap with other brands only over members who share their profile with it,
//! and every overlap under 10 withheld as "<10".

use serde_json::{Value, json};

use crate::common::Api;
use coalition::clearing::tokens::Role;

fn overlap(v: &Value, partner: &str) -> Value {
    v["cross_brand"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["partner"] == partner)
        .map_or(Value::Null, |o| o["shared_members"].clone())
}

#[test]
fn insights_count_members_and_withhold_small_overlaps() {
    let api = Api::start();
    // Twelve Aroma members who share their profile and also buy books; three of them fuel too;
    // five who do not share, and also buy books.
    let enrol = |share: bool| {
        let r = api.post(
            "aroma",
            "/v1/members",
            &json!({ "external_id": uuid::Uuid::new_v4().to_string(),
            "consent": { "share_balances": false, "share_profile": share } }),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        r.json()["member_id"].as_str().unwrap().to_owned()
    };
    for i in 0..17 {
        let m = enrol(i < 12);
        api.earn("aroma", &m, "10");
        api.link(&m, "aroma", "books");
        api.earn("books", &m, "10");
        if i < 3 {
            api.link(&m, "aroma", "fuelup");
            api.earn("fuelup", &m, "10");
        }
    }
    api.svc
        .block_on(api.svc.clearing.refresh_insights())
        .unwrap();

    let r = api.get("aroma", "/v1/insights");
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert!(v["computed_at"].is_string(), "{v}");
    assert_eq!(v["active_members_30d"], 17);
    assert_eq!(v["new_members_30d"], 17);
    assert_eq!(v["visits_30d"], 17);
    assert_eq!(v["tiers"], json!([{ "tier": "Member", "members": 17 }]));
    assert_eq!(overlap(&v, "books"), json!(12), "only those who share: {v}");
    assert_eq!(
        overlap(&v, "fuelup"),
        json!("<10"),
        "three is too few to show: {v}"
    );
    assert_eq!(
        overlap(&v, "aroma"),
        Value::Null,
        "not an overlap with itself"
    );

    // Its finance user reads the same; not another partner's.
    let fin = api.finance_token(Role::Finance, Some("aroma"));
    let mine = api.bearer(&fin, "GET", "/v1/insights", None);
    assert_eq!(mine.json()["visits_30d"], 17, "{}", mine.body);
    assert_eq!(
        api.bearer(&fin, "GET", "/v1/insights?partner=books", None)
            .status,
        403
    );
    assert_eq!(api.get("aroma", "/v1/insights?partner=books").status, 403);

    // The network's: every member, every brand.
    let op = api.finance_token(Role::Operator, None);
    let net = api.bearer(&op, "GET", "/v1/insights", None).json();
    assert_eq!(net["visits_30d"], 17 + 17 + 3, "{net}");
    assert_eq!(overlap(&net, "books"), json!(17));
    assert_eq!(overlap(&net, "fuelup"), json!("<10"));
    let books = api
        .bearer(&op, "GET", "/v1/insights?partner=books", None)
        .json();
    assert_eq!(books["active_members_30d"], 17, "{books}");

    // A campaign's issuance and redemption.
    let now = api.now_secs();
    let at = |s: i64| jiff::Timestamp::from_second(s).unwrap().to_string();
    let c = api.post(
        "aroma",
        "/v1/campaigns",
        &json!({ "name": "x", "redeemable_at": ["aroma"],
        "benefit": { "kind": "amount", "value": "1.00" }, "currency": "ILS", "budget": "10.00",
        "valid_from": at(now - 60), "valid_until": at(now + 86_400) }),
    );
    let id = c.json()["campaign_id"].as_str().unwrap().to_owned();
    let mut codes = Vec::new();
    for _ in 0..4 {
        let r = api.post("aroma", &format!("/v1/campaigns/{id}/coupons"), &json!({}));
        codes.push(r.json()["code"].as_str().unwrap().to_owned());
    }
    let r = api.post(
        "aroma",
        &format!("/v1/coupons/{}/redemptions", codes[0]),
        &json!({ "purchase_amount": "5.00", "reference": "t" }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let v = api.get("aroma", "/v1/insights").json();
    assert_eq!(
        v["campaigns"],
        json!([{ "campaign_id": id, "issued": 4, "redeemed": 1, "redemption_rate": "0.2500" }])
    );
}

/// The console's insights page: a partner's finance user sees its own, with the overlap
/// withheld under 10; the operator chooses the network or a partner.
#[test]
fn the_console_shows_insights_as_tables_and_charts() {
    use crate::common::pages::{browse, signed_in};
    let api = Api::start();
    for _ in 0..11 {
        let r = api.post(
            "aroma",
            "/v1/members",
            &json!({ "external_id": uuid::Uuid::new_v4().to_string(),
            "consent": { "share_balances": false, "share_profile": true } }),
        );
        let m = r.json()["member_id"].as_str().unwrap().to_owned();
        api.earn("aroma", &m, "1");
        api.link(&m, "aroma", "books");
        api.earn("books", &m, "1");
    }
    let (cookie, _) = signed_in(&api, &api.finance_token(Role::Finance, Some("aroma")));
    let before = browse(
        &api,
        "GET",
        "/console/insights",
        &[("cookie", cookie.clone())],
        None,
    );
    assert_eq!(before.status, 200, "{}", before.body);
    api.svc
        .block_on(api.svc.clearing.refresh_insights())
        .unwrap();
    let page = browse(
        &api,
        "GET",
        "/console/insights?partner=books",
        &[("cookie", cookie)],
        None,
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("<h2>Insights — aroma</h2>"),
        "its own, whatever it asks: {}",
        page.body
    );
    assert!(
        page.body.contains(
            "<tr><th scope=\"row\">Active members (30 days)</th><td class=\"num\">11</td></tr>"
        ),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("<tr><td>books</td><td class=\"num\">11</td></tr>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("<svg class=\"chart\""), "{}", page.body);
    assert!(
        !page.body.contains("<select name=\"partner\">"),
        "no choice for a partner's user"
    );

    let (op, _) = signed_in(&api, &api.finance_token(Role::Operator, None));
    let net = browse(
        &api,
        "GET",
        "/console/insights?lang=he",
        &[("cookie", op.clone())],
        None,
    );
    assert!(net.body.contains("dir=\"rtl\""), "{}", net.body);
    assert!(net.body.contains("<select name=\"partner\">"));
    let books = browse(
        &api,
        "GET",
        "/console/insights?partner=books&lang=en",
        &[("cookie", op)],
        None,
    );
    assert!(
        books.body.contains("<h2>Insights — books</h2>"),
        "{}",
        books.body
    );
    // Eleven books members, of whom every one was also at Aroma: shown; nothing under 10 is.
    assert!(
        books
            .body
            .contains("<tr><td>aroma</td><td class=\"num\">11</td></tr>"),
        "{}",
        books.body
    );
}
