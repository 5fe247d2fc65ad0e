//! Rewards over real HTTP, on both backends: the last place goes to exactly one of many
//! concurrent claims; a reward priced in another brand's points is claimed only with that
//! brand's token and clears as a redemption there (the issuer owes the reward's partner);
//! fulfilment and cancellation (points back by a reversal, the place free again), each once.

use serde_json::{Value, json};

use crate::common::Api;

fn reward(api: &Api, partner: &str, unit: &str, points: &str, capacity: i64) -> String {
    let r = api.post(
        partner,
        "/v1/rewards",
        &json!({ "name": "Latte art workshop", "description": "Two hours with our baristas",
                 "unit": unit, "points": points, "capacity": capacity }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["places_left"], capacity);
    r.json()["reward_id"].as_str().unwrap().to_owned()
}

fn listed(api: &Api, id: &str) -> Value {
    let r = crate::common::send("GET", &api.url("/v1/rewards"), &[], None);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["reward_id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("{id} not listed: {}", r.body))
}

#[test]
fn the_last_place_goes_to_exactly_one_of_many_claims() {
    let api = Api::start();
    let id = reward(&api, "books", "PAGES", "10", 1);
    let members: Vec<String> = (0..8).map(|_| api.member("books")).collect();
    let tokens: Vec<String> = members
        .iter()
        .map(|m| {
            api.earn("books", m, "100");
            api.scoped_token("books", m, &["rewards"])
        })
        .collect();
    let before = api.entry_count();
    let answers: Vec<(u16, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = tokens
            .iter()
            .map(|t| {
                let api = &api;
                let id = &id;
                s.spawn(move || {
                    let r = api.bearer(
                        t,
                        "POST",
                        &format!("/v1/me/rewards/{id}/claims"),
                        Some(&json!({})),
                    );
                    (r.status, r.body)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let won: Vec<_> = answers.iter().filter(|(s, _)| *s == 201).collect();
    assert_eq!(won.len(), 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|(s, _)| *s != 201) {
        assert_eq!(*status, 422, "{body}");
        assert!(body.contains("sold_out"), "{body}");
    }
    assert_eq!(api.entry_count(), before + 1, "one claim posted");
    assert_eq!(listed(&api, &id)["places_left"], 0);
    let spent: Vec<String> = members.iter().map(|m| api.balance("books", m)).collect();
    assert_eq!(spent.iter().filter(|b| *b == "90").count(), 1, "{spent:?}");
    assert_eq!(spent.iter().filter(|b| *b == "100").count(), 7, "{spent:?}");
    api.verify();
}

#[test]
fn a_reward_in_another_brands_points_clears_as_a_redemption_there() {
    let api = Api::start();
    // The bookstore offers a reading evening for 250 AROMA points (0.04 each: 10.00).
    let id = reward(&api, "books", "AROMA", "250", 5);
    let member = api.member("aroma");
    api.earn("aroma", &member, "300");
    let path = format!("/v1/me/rewards/{id}/claims");

    // A token of the bookstore's may not spend Aroma's points; nothing changes.
    api.link(&member, "aroma", "books");
    let books_token = api.scoped_token("books", &member, &["rewards"]);
    let r = api.bearer(&books_token, "POST", &path, Some(&json!({})));
    assert_eq!(
        (r.status, r.code()),
        (403, "forbidden".to_owned()),
        "{}",
        r.body
    );
    // Without the rewards scope: refused too.
    let wallet_only = api.scoped_token("aroma", &member, &["wallet"]);
    assert_eq!(
        api.bearer(&wallet_only, "POST", &path, Some(&json!({})))
            .status,
        403
    );
    assert_eq!(api.balance("aroma", &member), "300");

    let token = api.scoped_token("aroma", &member, &["rewards"]);
    let r = api.bearer(&token, "POST", &path, Some(&json!({})));
    assert_eq!(r.status, 201, "{}", r.body);
    let claim = r.json();
    assert_eq!(claim["status"], "claimed");
    assert_eq!(claim["receipt"]["kind"], "reward_claim");
    assert_eq!(claim["receipt"]["partner"], "books");
    let code = claim["claim_code"].as_str().unwrap().to_owned();
    assert_eq!(api.balance("aroma", &member), "50");
    assert_eq!(
        api.settlement("aroma"),
        1000,
        "Aroma owes the points' value"
    );
    assert_eq!(api.settlement("books"), -1000, "to the bookstore");
    // Not enough points for a second place: refused, the place not taken.
    let r = api.bearer(&token, "POST", &path, Some(&json!({})));
    assert_eq!(
        (r.status, r.code()),
        (422, "insufficient_balance".to_owned()),
        "{}",
        r.body
    );
    assert_eq!(listed(&api, &id)["places_left"], 4);

    // The member's claims list it; another partner cannot touch it.
    let mine = api.bearer(&token, "GET", "/v1/me/rewards", None).json();
    assert_eq!(mine["items"][0]["claim"]["claim_code"], code.as_str());
    assert_eq!(mine["items"][0]["reward"]["name"], "Latte art workshop");
    let cancel = format!("/v1/rewards/{id}/claims/{code}/cancel");
    let fulfil = format!("/v1/rewards/{id}/claims/{code}/fulfil");
    assert_eq!(api.post("aroma", &cancel, &json!({})).status, 404);

    // Cancelled: points back, the debt undone, the place free; again: the same, nothing posted.
    let r = api.post("books", &cancel, &json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["status"], "cancelled");
    assert_eq!(r.json()["receipt"]["kind"], "reversal");
    assert_eq!(api.balance("aroma", &member), "300");
    assert_eq!((api.settlement("aroma"), api.settlement("books")), (0, 0));
    assert_eq!(listed(&api, &id)["places_left"], 5);
    let count = api.entry_count();
    let again = api.post("books", &cancel, &json!({}));
    assert_eq!(again.json()["status"], "cancelled");
    assert_eq!(api.entry_count(), count);
    let r = api.post("books", &fulfil, &json!({}));
    assert_eq!((r.status, r.code()), (422, "claim_closed".to_owned()));

    // A new claim, fulfilled: it stays spent and cannot be cancelled after.
    let r = api.bearer(&token, "POST", &path, Some(&json!({})));
    let code = r.json()["claim_code"].as_str().unwrap().to_owned();
    let r = api.post(
        "books",
        &format!("/v1/rewards/{id}/claims/{code}/fulfil"),
        &json!({}),
    );
    assert_eq!(
        (r.status, r.json()["status"].clone()),
        (200, json!("fulfilled"))
    );
    let r = api.post(
        "books",
        &format!("/v1/rewards/{id}/claims/{code}/cancel"),
        &json!({}),
    );
    assert_eq!((r.status, r.code()), (422, "claim_closed".to_owned()));
    assert_eq!(api.balance("aroma", &member), "50");

    // The wallet lists the reward on offer and, with the rewards scope, the claims and codes.
    let cookie = crate::wallet_http::opened(
        &api,
        &api.scoped_token("aroma", &member, &["wallet", "rewards"]),
    );
    let page =
        crate::common::pages::browse(&api, "GET", "/wallet", &[("cookie", cookie)], None).body;
    assert!(page.contains("<td>Latte art workshop</td><td>Tel Aviv Books</td><td class=\"num\">250 AROMA</td><td class=\"num\">4</td>"), "{page}");
    assert!(
        page.contains(&format!(
            "<strong dir=\"ltr\">{code}</strong></td><td>used</td>"
        )),
        "{page}"
    );
    assert!(page.contains("cancelled, points back"), "{page}");
    api.verify();
}

#[test]
fn bad_rewards_are_refused() {
    let api = Api::start();
    for (body, code) in [
        (
            json!({ "name": "x", "description": "y", "unit": "NOPE", "points": "5", "capacity": 1 }),
            "unknown_unit",
        ),
        (
            json!({ "name": "x", "description": "y", "unit": "PAGES", "points": "0", "capacity": 1 }),
            "invalid_amount",
        ),
        (
            json!({ "name": "x", "description": "y", "unit": "PAGES", "points": "1.5", "capacity": 1 }),
            "invalid_amount",
        ),
        (
            json!({ "name": "x", "description": "y", "unit": "PAGES", "points": "5", "capacity": 0 }),
            "invalid_request",
        ),
        (
            json!({ "name": "", "description": "y", "unit": "PAGES", "points": "5", "capacity": 1 }),
            "invalid_request",
        ),
        (
            json!({ "name": "x", "description": "y", "unit": "PAGES", "points": "5", "capacity": 1,
                 "starts_at": "2027-01-02T00:00:00Z", "ends_at": "2027-01-01T00:00:00Z" }),
            "invalid_request",
        ),
    ] {
        let r = api.post("books", "/v1/rewards", &body);
        assert_eq!(
            (r.status, r.code()),
            (422, code.to_owned()),
            "{body}: {}",
            r.body
        );
    }
    // A listing after a reward that does not exist: a bad cursor.
    let r = crate::common::send("GET", &api.url("/v1/rewards?after=nope"), &[], None);
    assert_eq!(
        (r.status, r.code()),
        (400, "invalid_cursor".to_owned()),
        "{}",
        r.body
    );
    // A reward that has not opened yet is not claimable.
    let later = jiff::Timestamp::from_second(api.now_secs() + 86_400)
        .unwrap()
        .to_string();
    let r = api.post(
        "books",
        "/v1/rewards",
        &json!({ "name": "x", "description": "y", "unit": "PAGES",
        "points": "5", "capacity": 1, "starts_at": later }),
    );
    let id = r.json()["reward_id"].as_str().unwrap().to_owned();
    let m = api.member("books");
    api.earn("books", &m, "10");
    let token = api.scoped_token("books", &m, &["rewards"]);
    let r = api.bearer(
        &token,
        "POST",
        &format!("/v1/me/rewards/{id}/claims"),
        Some(&json!({})),
    );
    assert_eq!(
        (r.status, r.code()),
        (422, "reward_unavailable".to_owned()),
        "{}",
        r.body
    );
}
