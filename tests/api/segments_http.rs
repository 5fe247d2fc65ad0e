//! Segments and targeted offers over real HTTP, on both backends: membership follows behaviour
//! (an earn puts a member in) and time (thirty days later they are out, a lapsed segment has
//! them); a partner's segment sees other brands only where the member shares their profile,
//! the operator's sees everyone; sizes under 10 read "<10"; and the seed example — Aroma
//! sponsors a bookstore coupon for its members who never visited the bookstore — issued in the
//! order members enter, within the budget, redeemed at the bookstore without a link, and
//! settled with Aroma paying.

use serde_json::{Value, json};

use crate::common::Api;

fn evaluate(api: &Api) -> coalition::clearing::segments::Evaluated {
    api.svc
        .block_on(api.svc.clearing.evaluate_segments())
        .unwrap()
}

fn segment(api: &Api, partner: &str, name: &str, all: Value) -> String {
    let r = api.post(
        partner,
        "/v1/segments",
        &json!({ "name": name, "all": all }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["segment_id"].as_str().unwrap().to_owned()
}

/// The members of a segment as `partner` lists them, in the order they entered.
fn members_of(api: &Api, partner: &str, id: &str) -> Vec<String> {
    let r = api.get(partner, &format!("/v1/segments/{id}/members?limit=1000"));
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["member_id"].as_str().unwrap().to_owned())
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// A member of `partner` who shares (or not) their profile with every brand they link.
fn enrol(api: &Api, partner: &str, share_profile: bool) -> String {
    let r = api.post(
        partner,
        "/v1/members",
        &json!({ "external_id": uuid::Uuid::new_v4().to_string(),
                 "consent": { "share_balances": false, "share_profile": share_profile } }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["member_id"].as_str().unwrap().to_owned()
}

#[test]
fn membership_follows_behaviour_and_time() {
    let api = Api::start();
    let regulars = segment(
        &api,
        "aroma",
        "Regulars",
        json!([{ "metric": "visits_30d", "op": "ge", "value": 2 }]),
    );
    let lapsed = segment(
        &api,
        "aroma",
        "Lapsed",
        json!([{ "metric": "days_since_last_visit", "op": "ge", "value": 30 }]),
    );
    let (a, b, never) = (
        api.member("aroma"),
        api.member("aroma"),
        api.member("aroma"),
    );
    api.earn("aroma", &a, "10");
    api.earn("aroma", &a, "10");
    api.earn("aroma", &b, "10");
    evaluate(&api);
    assert_eq!(members_of(&api, "aroma", &regulars), vec![a.clone()]);
    let view = api.get("aroma", &format!("/v1/segments/{regulars}")).json();
    assert_eq!(view["size"], "<10", "a partner's small segment: {view}");
    assert_eq!(view["all"][0]["metric"], "visits_30d");

    // A touch point is a visit too: b enters on their second.
    let r = api.post(
        "aroma",
        "/v1/interactions",
        &json!({ "member_id": b, "kind": "app_open", "reference": "o-1" }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let done = evaluate(&api);
    assert!(done.entered >= 1, "{done:?}");
    assert_eq!(
        members_of(&api, "aroma", &regulars),
        [a.clone(), b.clone()],
        "in the order they entered"
    );
    assert!(members_of(&api, "aroma", &lapsed).is_empty());

    // Thirty-one days on, nobody visited: out of the regulars, into the lapsed — with no event,
    // by the daily pass. A member who never visited is in neither.
    api.advance_secs(31 * 86_400);
    let done = evaluate(&api);
    assert!(done.full_pass, "{done:?}");
    assert!(members_of(&api, "aroma", &regulars).is_empty());
    assert_eq!(
        sorted(members_of(&api, "aroma", &lapsed)),
        sorted(vec![a.clone(), b.clone()])
    );
    assert!(!members_of(&api, "aroma", &lapsed).contains(&never));

    // Others' segments are not found; bad definitions change nothing.
    assert_eq!(
        api.get("books", &format!("/v1/segments/{regulars}")).status,
        404
    );
    for (all, words) in [
        (json!([]), "1 to 20 conditions"),
        (
            json!([{ "metric": "visits_7d", "op": "ge", "value": 1 }]),
            "unknown metric",
        ),
        (
            json!([{ "metric": "visits_30d", "op": "gte", "value": 1 }]),
            "unknown op",
        ),
        (
            json!([{ "metric": "visits_30d", "op": "ge", "value": "1" }]),
            "whole number",
        ),
        (
            json!([{ "metric": "spend_365d", "op": "ge", "value": 100 }]),
            "decimal string",
        ),
        (
            json!([{ "metric": "spend_365d", "op": "ge", "value": "1.001" }]),
            "not a non-negative amount",
        ),
        (
            json!([{ "metric": "visited:nowhere", "op": "eq", "value": true }]),
            "no partner nowhere",
        ),
        (
            json!([{ "metric": "visited:books", "op": "gt", "value": true }]),
            "use eq or ne",
        ),
        (
            json!([{ "metric": "tier", "op": "ge", "value": "Platinum" }]),
            "unknown tier",
        ),
        (
            json!([{ "metric": "interactions_30d:like", "op": "ge", "value": 1 }]),
            "unknown interaction kind",
        ),
    ] {
        let r = api.post(
            "aroma",
            "/v1/segments",
            &json!({ "name": "bad", "all": all }),
        );
        assert_eq!(
            (r.status, r.code()),
            (422, "invalid_request".to_owned()),
            "{all}: {}",
            r.body
        );
        assert!(r.body.contains(words), "{words}: {}", r.body);
    }
}

#[test]
fn a_partner_sees_other_brands_only_with_consent_and_the_operator_sees_all() {
    let api = Api::start();
    let never_books = json!([{ "metric": "visited:books", "op": "eq", "value": false }]);
    let aromas = segment(&api, "aroma", "Never at the bookstore", never_books.clone());
    // shy: shares nothing; open: shares its profile; reader: shares, but visited the bookstore.
    let shy = enrol(&api, "aroma", false);
    let open = enrol(&api, "aroma", true);
    let reader = enrol(&api, "aroma", true);
    api.link(&reader, "aroma", "books");
    api.earn("books", &reader, "5");
    for m in [&shy, &open, &reader] {
        api.earn("aroma", m, "5");
    }
    evaluate(&api);
    assert_eq!(
        members_of(&api, "aroma", &aromas),
        vec![open.clone()],
        "shy's other brands are unknown to Aroma"
    );

    // The operator's network-wide segment knows everyone's behaviour.
    let op = api.finance_token(coalition::clearing::tokens::Role::Operator, None);
    let r = api.bearer(
        &op,
        "POST",
        "/v1/segments",
        Some(&json!({ "name": "Never at books", "all": never_books })),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let network = r.json()["segment_id"].as_str().unwrap().to_owned();
    assert!(r.json().get("owner").is_none());
    evaluate(&api);
    let view = api
        .bearer(&op, "GET", &format!("/v1/segments/{network}"), None)
        .json();
    assert_eq!(view["size"], 2, "exact for the operator: {view}");
    let listed = api
        .bearer(&op, "GET", &format!("/v1/segments/{network}/members"), None)
        .json();
    let ids: Vec<String> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["member_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sorted(ids), sorted(vec![shy.clone(), open.clone()]));
    // A partner's finance user may not make network-wide segments.
    let fin = api.finance_token(coalition::clearing::tokens::Role::Finance, Some("aroma"));
    let r = api.bearer(
        &fin,
        "POST",
        "/v1/segments",
        Some(&json!({ "name": "x", "all": [{ "metric": "brands_used", "op": "ge", "value": 2 }] })),
    );
    assert_eq!(r.status, 403, "{}", r.body);

    // shy now shares their profile with Aroma (from the bookstore's app: a token never widens
    // its own minter's view): Aroma learns shy never went to the bookstore.
    api.link(&shy, "aroma", "books");
    let token = api.scoped_token("books", &shy, &["consent"]);
    let r = api.bearer(
        &token,
        "PUT",
        "/v1/me/links/aroma",
        Some(&json!({ "share_profile": true })),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    evaluate(&api);
    assert_eq!(
        sorted(members_of(&api, "aroma", &aromas)),
        sorted(vec![open.clone(), shy.clone()])
    );
    // ...and takes it back: out again.
    let r = api.bearer(
        &token,
        "PUT",
        "/v1/me/links/aroma",
        Some(&json!({ "share_profile": false })),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    evaluate(&api);
    assert_eq!(members_of(&api, "aroma", &aromas), vec![open.clone()]);
}

fn rfc3339(secs: i64) -> String {
    jiff::Timestamp::from_second(secs).unwrap().to_string()
}

/// The seed example, end to end.
#[test]
fn aroma_sponsors_a_bookstore_coupon_for_members_who_never_went_there() {
    let api = Api::start();
    let target = segment(
        &api,
        "aroma",
        "Never at the bookstore",
        json!([
            { "metric": "visited:books", "op": "eq", "value": false },
            { "metric": "visits_90d", "op": "ge", "value": 1 },
        ]),
    );
    let first = enrol(&api, "aroma", true);
    api.earn("aroma", &first, "5");
    evaluate(&api);
    // Budget for two coupons of 10.00.
    let now = api.now_secs();
    let r = api.post(
        "aroma",
        "/v1/campaigns",
        &json!({
            "name": "Your first book is on us", "redeemable_at": ["books"],
            "benefit": { "kind": "amount", "value": "10.00" }, "currency": "ILS", "budget": "20.00",
            "valid_from": rfc3339(now - 60), "valid_until": rfc3339(now + 30 * 86_400),
            "audience": { "segment_id": target }, "auto_issue": true,
        }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let campaign = r.json();
    assert_eq!(campaign["audience"]["segment_id"], target.as_str());
    assert_eq!(campaign["status"], "running");
    let id = campaign["campaign_id"].as_str().unwrap().to_owned();
    let done = evaluate(&api);
    assert_eq!(
        done.coupons_issued, 1,
        "the member already in the segment: {done:?}"
    );

    // Two more enter, in this order; the budget covers one of them.
    let (second, third) = (enrol(&api, "aroma", true), enrol(&api, "aroma", true));
    api.earn("aroma", &second, "5");
    evaluate(&api);
    api.earn("aroma", &third, "5");
    let done = evaluate(&api);
    assert_eq!(done.coupons_issued, 0, "{done:?}");
    let view = api.get("aroma", &format!("/v1/campaigns/{id}")).json();
    assert_eq!(view["status"], "budget_exhausted", "{view}");
    assert_eq!(view["coupons"]["issued"], 2);
    assert_eq!(view["remaining"], "0.00");
    // Nobody gets a second coupon when evaluated again.
    evaluate(&api);
    assert_eq!(
        api.get("aroma", &format!("/v1/campaigns/{id}")).json()["coupons"]["issued"],
        2
    );

    let coupons_of = |m: &str| -> Vec<String> {
        let token = api.member_token("aroma", m);
        let w = api.bearer(&token, "GET", "/v1/me/wallet", None).json();
        w["coupons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["code"].as_str().unwrap().to_owned())
            .collect()
    };
    let code = coupons_of(&first)
        .pop()
        .expect("the first member holds the coupon");
    assert_eq!(coupons_of(&second).len(), 1);
    assert!(coupons_of(&third).is_empty(), "past the budget");

    // The member presents it at the bookstore, which they are not linked to.
    let r = api.post(
        "books",
        &format!("/v1/coupons/{code}/redemptions"),
        &json!({ "purchase_amount": "45.00", "reference": "till-9" }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["discount"], "10.00");
    assert_eq!(api.settlement("aroma"), 1000, "Aroma owes the discount");
    assert_eq!(api.settlement("books"), -1000, "the bookstore is owed it");
    // A targeted campaign takes only the sponsor's own segments.
    let r = api.post("books", "/v1/campaigns", &json!({
        "name": "x", "redeemable_at": ["books"], "benefit": { "kind": "amount", "value": "1.00" },
        "currency": "ILS", "budget": "5.00", "valid_from": rfc3339(now - 60), "valid_until": rfc3339(now + 86_400),
        "audience": { "segment_id": target }, "auto_issue": true,
    }));
    assert_eq!(
        (r.status, r.code()),
        (422, "invalid_request".to_owned()),
        "{}",
        r.body
    );
    api.verify();
}
