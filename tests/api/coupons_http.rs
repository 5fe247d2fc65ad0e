//! Cross-partner coupons over real HTTP: budgets, single use, discounts, triggers, settlement.

use std::collections::BTreeMap;

use coalition::clearing::time;
use coalition::ledger::Account;
use serde_json::{Value, json};

use crate::common::Api;

fn rfc3339_in(secs: i64) -> String {
    time::rfc3339(coalition::ledger::clock::Clock::system().now_us() + secs * 1_000_000)
}

/// A campaign sponsored by `sponsor`, redeemable at `at`, valid from an hour ago for `days`.
fn campaign(
    api: &Api,
    sponsor: &str,
    at: &[&str],
    benefit: Value,
    budget: &str,
    extra: Value,
) -> Value {
    let mut body = json!({
        "name": "Autumn offer",
        "redeemable_at": at,
        "benefit": benefit,
        "currency": "ILS",
        "budget": budget,
        "valid_from": rfc3339_in(-3600),
        "valid_until": rfc3339_in(30 * 86_400),
    });
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        body[k] = v;
    }
    let r = api.post(sponsor, "/v1/campaigns", &body);
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()
}

fn issue(api: &Api, sponsor: &str, campaign_id: &str, member: Option<&str>) -> crate::common::Resp {
    let body = match member {
        Some(m) => json!({ "member_id": m }),
        None => json!({}),
    };
    api.post(
        sponsor,
        &format!("/v1/campaigns/{campaign_id}/coupons"),
        &body,
    )
}

fn issued(api: &Api, sponsor: &str, campaign_id: &str, member: Option<&str>) -> String {
    let r = issue(api, sponsor, campaign_id, member);
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["code"].as_str().unwrap().to_owned()
}

fn redeem(
    api: &Api,
    at: &str,
    code: &str,
    purchase: &str,
    member: Option<&str>,
) -> crate::common::Resp {
    let mut body = json!({ "purchase_amount": purchase, "reference": "till-1" });
    if let Some(m) = member {
        body["member_id"] = json!(m);
    }
    api.post(at, &format!("/v1/coupons/{code}/redemptions"), &body)
}

fn view(api: &Api, sponsor: &str, id: &str) -> Value {
    api.get(sponsor, &format!("/v1/campaigns/{id}")).json()
}

fn amount() -> Value {
    json!({ "kind": "amount", "value": "15.00" })
}

fn settlement(api: &Api, party: &str) -> i64 {
    let account = Account::Settlement {
        party: party.parse().unwrap(),
        currency: "ILS".parse().unwrap(),
    };
    api.svc
        .block_on(api.svc.clearing.balance(&account))
        .unwrap()
        .minor()
}

#[test]
fn issuing_reserves_the_budget_until_it_is_exhausted() {
    let api = Api::start();
    let c = campaign(&api, "threads", &["books"], amount(), "40.00", json!({}));
    let id = c["campaign_id"].as_str().unwrap();
    let first = issued(&api, "threads", id, None);
    let _second = issued(&api, "threads", id, None);
    let third = issue(&api, "threads", id, None);
    assert_eq!(
        (third.status, third.code().as_str()),
        (422, "budget_exhausted"),
        "{}",
        third.body
    );
    let v = view(&api, "threads", id);
    assert_eq!(
        (
            v["reserved"].as_str(),
            v["used"].as_str(),
            v["remaining"].as_str()
        ),
        (Some("30.00"), Some("0.00"), Some("10.00"))
    );
    assert_eq!(v["coupons"]["issued"], 2);
    // The reservation is in the ledger, off the settlement accounts.
    assert_eq!(settlement(&api, "threads"), 0);
    let campaign_account = Account::Campaign {
        campaign: id.parse().unwrap(),
        currency: "ILS".parse().unwrap(),
    };
    assert_eq!(
        api.svc
            .block_on(api.svc.clearing.balance(&campaign_account))
            .unwrap()
            .minor(),
        -3000
    );
    // A void gives the reservation back, and the budget covers another coupon.
    let void = api.post("threads", &format!("/v1/coupons/{first}/void"), &json!({}));
    assert_eq!(void.status, 200, "{}", void.body);
    assert_eq!(view(&api, "threads", id)["reserved"], "15.00");
    assert_eq!(issue(&api, "threads", id, None).status, 201);
    // Only the sponsor sees and issues its campaign.
    assert_eq!(api.get("books", &format!("/v1/campaigns/{id}")).status, 404);
    assert_eq!(issue(&api, "books", id, None).status, 404);
    api.verify();
}

#[test]
fn a_code_is_used_once_even_under_concurrent_redemptions() {
    let api = Api::start();
    let c = campaign(
        &api,
        "threads",
        &["books", "aroma"],
        amount(),
        "100.00",
        json!({}),
    );
    let code = issued(&api, "threads", c["campaign_id"].as_str().unwrap(), None);
    let before = api.entry_count();
    let statuses: Vec<(u16, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let code = &code;
                let api = &api;
                s.spawn(move || {
                    // Different partners and different idempotency keys: twenty real attempts.
                    let at = if i % 2 == 0 { "books" } else { "aroma" };
                    let r = redeem(api, at, code, "80.00", None);
                    let code = if r.status == 201 {
                        String::new()
                    } else {
                        r.code()
                    };
                    (r.status, code)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let won = statuses.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(won, 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .filter(|(s, _)| *s != 201)
            .all(|(s, c)| *s == 422 && c == "coupon_not_redeemable"),
        "{statuses:?}"
    );
    assert_eq!(api.entry_count(), before + 1);
    let v = view(&api, "threads", c["campaign_id"].as_str().unwrap());
    assert_eq!(
        (v["used"].as_str(), v["reserved"].as_str()),
        (Some("15.00"), Some("0.00"))
    );
    api.verify();
}

#[test]
fn percent_discounts_round_half_even_and_stop_at_the_cap() {
    let api = Api::start();
    let c = campaign(
        &api,
        "threads",
        &["books"],
        json!({ "kind": "percent", "value": "12.5", "max_discount": "20.00" }),
        "500.00",
        json!({}),
    );
    let id = c["campaign_id"].as_str().unwrap();
    // 12.5 % of 0.20 is 0.025: half to even gives 0.02 (half up would give 0.03).
    let r = redeem(
        &api,
        "books",
        &issued(&api, "threads", id, None),
        "0.20",
        None,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["discount"], "0.02");
    // 12.5 % of 0.28 is 0.035: half to even gives 0.04.
    assert_eq!(
        redeem(
            &api,
            "books",
            &issued(&api, "threads", id, None),
            "0.28",
            None
        )
        .json()["discount"],
        "0.04"
    );
    // 12.5 % of 500.00 is 62.50: capped at 20.00.
    let capped = redeem(
        &api,
        "books",
        &issued(&api, "threads", id, None),
        "500.00",
        None,
    )
    .json();
    assert_eq!(capped["discount"], "20.00");
    // Each coupon reserved the cap; what was not used went back to the budget.
    let v = view(&api, "threads", id);
    assert_eq!(
        (
            v["used"].as_str(),
            v["reserved"].as_str(),
            v["remaining"].as_str()
        ),
        (Some("20.06"), Some("0.00"), Some("479.94"))
    );
    // A percent campaign needs a cap.
    let body = json!({ "name": "x", "redeemable_at": ["books"], "benefit": { "kind": "percent", "value": "10" }, "currency": "ILS",
        "budget": "10.00", "valid_from": rfc3339_in(-10), "valid_until": rfc3339_in(3600) });
    let r = api.post("threads", "/v1/campaigns", &body);
    assert_eq!((r.status, r.code().as_str()), (422, "invalid_request"));
    api.verify();
}

#[test]
fn the_discount_never_exceeds_the_purchase() {
    let api = Api::start();
    let c = campaign(&api, "threads", &["books"], amount(), "15.00", json!({}));
    let id = c["campaign_id"].as_str().unwrap();
    let r = redeem(
        &api,
        "books",
        &issued(&api, "threads", id, None),
        "9.99",
        None,
    );
    assert_eq!(r.json()["discount"], "9.99");
    let v = view(&api, "threads", id);
    assert_eq!(
        (v["used"].as_str(), v["remaining"].as_str()),
        (Some("9.99"), Some("5.01"))
    );
    assert_eq!(
        settlement(&api, "threads"),
        999,
        "the sponsor owes the discount"
    );
    assert_eq!(
        settlement(&api, "books"),
        -999,
        "the redeeming partner is owed it"
    );
    api.verify();
}

#[test]
fn coupons_that_may_not_be_used_are_refused_and_change_nothing() {
    let api = Api::start();
    let dana = api.member("books");
    let avi = api.member("books");
    let c = campaign(&api, "threads", &["books"], amount(), "100.00", json!({}));
    let id = c["campaign_id"].as_str().unwrap();
    // The sponsor gives a coupon to a member only through a link.
    assert_eq!(issue(&api, "threads", id, Some(&dana)).status, 404);
    api.link(&dana, "books", "threads");
    let code = issued(&api, "threads", id, Some(&dana));
    let voided = issued(&api, "threads", id, None);
    assert_eq!(
        api.post("threads", &format!("/v1/coupons/{voided}/void"), &json!({}))
            .status,
        200
    );
    let before = api.entry_count();
    let refused = |r: crate::common::Resp| {
        assert_eq!(
            (r.status, r.code().as_str()),
            (422, "coupon_not_redeemable"),
            "{}",
            r.body
        );
    };
    refused(redeem(&api, "aroma", &code, "50.00", Some(&dana)));
    refused(redeem(&api, "books", &code, "50.00", Some(&avi)));
    refused(redeem(&api, "books", &voided, "50.00", None));
    let unknown = redeem(&api, "books", "2222-2222-2222-22222", "50.00", None);
    assert_eq!(unknown.status, 404);
    assert_eq!(api.entry_count(), before);
    // The holder can use it, written in any case and with or without hyphens.
    let lower = code.replace('-', "").to_lowercase();
    assert_eq!(
        redeem(&api, "books", &lower, "50.00", Some(&dana)).status,
        201
    );
    refused(redeem(&api, "books", &code, "50.00", Some(&dana)));
    let seen = api.get("books", &format!("/v1/coupons/{code}")).json();
    assert_eq!(seen["status"], "redeemed");
    assert_eq!(
        api.get("fuelup", &format!("/v1/coupons/{code}")).status,
        404,
        "only the sponsor and redeemers see it"
    );
    api.verify();
}

#[test]
fn an_expired_coupon_is_refused_and_its_reservation_released() {
    let api = Api::start();
    let body = json!({ "name": "Flash", "redeemable_at": ["books"], "benefit": amount(), "currency": "ILS",
        "budget": "30.00", "valid_from": rfc3339_in(-10), "valid_until": rfc3339_in(2) });
    let c = api.post("threads", "/v1/campaigns", &body).json();
    let id = c["campaign_id"].as_str().unwrap();
    let code = issued(&api, "threads", id, None);
    api.advance_secs(3);
    let r = redeem(&api, "books", &code, "50.00", None);
    assert_eq!(
        (r.status, r.code().as_str()),
        (422, "coupon_not_redeemable"),
        "{}",
        r.body
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while view(&api, "threads", id)["reserved"] != "0.00" {
        assert!(
            std::time::Instant::now() < deadline,
            "the reservation was never released"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(
        api.get("threads", &format!("/v1/coupons/{code}")).json()["status"],
        "expired"
    );
    let late = issue(&api, "threads", id, None);
    assert_eq!((late.status, late.code().as_str()), (422, "campaign_ended"));
    api.verify();
}

#[test]
fn a_purchase_at_the_trigger_partner_issues_exactly_one_coupon() {
    let api = Api::start();
    // Books sponsors "spend 50.00 at Aroma, get 15.00 off at Books".
    let c = campaign(
        &api,
        "books",
        &["books"],
        amount(),
        "150.00",
        json!({ "trigger": { "partner": "aroma", "min_purchase": "50.00" } }),
    );
    let id = c["campaign_id"].as_str().unwrap();
    let dana = api.member("aroma");
    let earn = |amount: &str| {
        let r = api.post("aroma", "/v1/earn", &json!({ "member_id": dana, "purchase": { "amount": amount, "currency": "ILS" }, "reference": "a" }));
        assert_eq!(r.status, 201, "{}", r.body);
        r.json()
    };
    let below = earn("49.99");
    assert_eq!(below["coupons_issued"], json!([]));
    let at = earn("50.00");
    let coupons = at["coupons_issued"].as_array().unwrap();
    assert_eq!(coupons.len(), 1);
    assert_eq!(coupons[0]["campaign_id"], id);
    // Points earned without a purchase issue nothing.
    let points = api
        .post(
            "aroma",
            "/v1/earn",
            &json!({ "member_id": dana, "points": "80", "reference": "p" }),
        )
        .json();
    assert_eq!(points["coupons_issued"], json!([]));
    let v = view(&api, "books", id);
    assert_eq!(
        (v["coupons"]["issued"].as_i64(), v["reserved"].as_str()),
        (Some(1), Some("15.00"))
    );
    // The coupon is Dana's and works at Books.
    let code = coupons[0]["code"].as_str().unwrap();
    assert_eq!(
        api.get("books", &format!("/v1/coupons/{code}")).json()["member_id"],
        dana.as_str()
    );
    let r = redeem(&api, "books", code, "30.00", Some(&dana));
    assert_eq!(r.status, 201, "{}", r.body);
    // The sponsor redeemed its own coupon: nobody owes anybody.
    assert_eq!(settlement(&api, "books"), 0);
    api.verify();
}

#[test]
fn a_refunded_coupon_can_be_used_again() {
    let api = Api::start();
    let c = campaign(&api, "threads", &["books"], amount(), "15.00", json!({}));
    let code = issued(&api, "threads", c["campaign_id"].as_str().unwrap(), None);
    let used = redeem(&api, "books", &code, "40.00", None).json();
    assert_eq!(settlement(&api, "books"), -1500);
    let refund = api.post("books", "/v1/reversals", &json!({ "entry_id": used["receipt"]["entry_id"], "reference": "return", "reason": "goods returned" }));
    assert_eq!(refund.status, 201, "{}", refund.body);
    assert_eq!(settlement(&api, "books"), 0);
    assert_eq!(settlement(&api, "threads"), 0);
    assert_eq!(
        api.get("threads", &format!("/v1/coupons/{code}")).json()["status"],
        "issued"
    );
    assert_eq!(
        view(&api, "threads", c["campaign_id"].as_str().unwrap())["reserved"],
        "15.00"
    );
    assert_eq!(redeem(&api, "books", &code, "40.00", None).status, 201);
    api.verify();
}

#[test]
fn settlement_after_a_mix_equals_the_discounts_per_sponsor_and_redeemer() {
    let api = Api::start();
    let partners = ["aroma", "books", "threads", "fuelup"];
    let mut campaigns = Vec::new();
    for sponsor in partners {
        let at: Vec<&str> = partners.iter().copied().filter(|p| *p != sponsor).collect();
        let benefit = if sponsor == "books" {
            json!({ "kind": "percent", "value": "7.5", "max_discount": "12.00" })
        } else {
            amount()
        };
        let c = campaign(&api, sponsor, &at, benefit, "2000.00", json!({}));
        campaigns.push((sponsor, at, c["campaign_id"].as_str().unwrap().to_owned()));
    }
    let mut expected: BTreeMap<&str, i64> = BTreeMap::new();
    let mut seed: u64 = 42;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    for _ in 0..24 {
        let (sponsor, at, id) = &campaigns[next(4) as usize];
        let redeemer = at[next(at.len() as u64) as usize];
        let code = issued(&api, sponsor, id, None);
        let purchase_cents = 500 + next(30_000) as i64;
        let purchase = format!("{}.{:02}", purchase_cents / 100, purchase_cents % 100);
        let r = redeem(&api, redeemer, &code, &purchase, None);
        assert_eq!(r.status, 201, "{}", r.body);
        // Computed here independently: 15.00 off (at most the purchase), or 7.5 % half-even capped at 12.00.
        let discount = if *sponsor == "books" {
            let tenths_of_cent = purchase_cents * 75; // purchase × 7.5 % in 1/1000 of a cent
            let (q, r) = (tenths_of_cent / 1000, tenths_of_cent % 1000);
            let rounded = if r > 500 || (r == 500 && q % 2 == 1) {
                q + 1
            } else {
                q
            };
            rounded.min(1200)
        } else {
            1500.min(purchase_cents)
        };
        let shown = r.json()["discount"]
            .as_str()
            .unwrap()
            .replace('.', "")
            .parse::<i64>()
            .unwrap();
        assert_eq!(
            shown, discount,
            "purchase {purchase} at {redeemer} with {sponsor}'s coupon"
        );
        *expected.entry(sponsor).or_default() += discount;
        *expected.entry(redeemer).or_default() -= discount;
    }
    for p in partners {
        assert_eq!(
            settlement(&api, p),
            expected.get(p).copied().unwrap_or(0),
            "{p}"
        );
    }
    assert_eq!(settlement(&api, "network"), 0);
    api.verify();
}

/// A campaign's per-member limit holds at issuance (coupons held) and at redemption (coupons
/// redeemed for the member, bearer coupons included), each member counted apart.
#[test]
fn the_per_member_limit_holds_at_issuance_and_at_redemption() {
    let api = Api::start();
    let c = campaign(
        &api,
        "threads",
        &["books"],
        amount(),
        "100.00",
        json!({ "per_member_limit": 1 }),
    );
    let id = c["campaign_id"].as_str().unwrap();
    let (dana, eli) = (api.member("threads"), api.member("threads"));
    let first = issued(&api, "threads", id, Some(&dana));
    let again = issue(&api, "threads", id, Some(&dana));
    assert_eq!(
        (again.status, again.code().as_str()),
        (422, "per_member_limit"),
        "{}",
        again.body
    );
    issued(&api, "threads", id, Some(&eli));
    let used = redeem(&api, "books", &first, "50.00", Some(&dana));
    assert_eq!(used.status, 201, "{}", used.body);
    // A bearer coupon redeemed for Dana would be her second; for Eli it is his first.
    let bearer = issued(&api, "threads", id, None);
    let over = redeem(&api, "books", &bearer, "50.00", Some(&dana));
    assert_eq!(
        (over.status, over.code().as_str()),
        (422, "per_member_limit"),
        "{}",
        over.body
    );
    let fine = redeem(&api, "books", &bearer, "50.00", Some(&eli));
    assert_eq!(fine.status, 201, "{}", fine.body);
}
