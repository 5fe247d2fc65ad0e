//! One member across brands: a partner acts for a member only through a link, a member links a
//! second brand with a single-use code, and leaves a brand (API.md Part 2, the trust rules).

use serde_json::{Value, json};

use crate::common::{Api, Resp};

fn link_code(api: &Api, token: &str, partner: &str) -> Resp {
    api.bearer(
        token,
        "POST",
        "/v1/me/links",
        Some(&json!({ "partner": partner })),
    )
}

fn enrol_linked(api: &Api, partner: &str, external_id: &str, code: &Value) -> Resp {
    api.post(
        partner,
        "/v1/members",
        &json!({ "external_id": external_id, "link_code": code }),
    )
}

/// The problem without the member id it names, to compare two answers.
fn shape(r: &Resp, id: &str) -> (u16, String, String) {
    let body = r.json();
    (
        r.status,
        r.code(),
        body["detail"].as_str().unwrap().replace(id, "ID"),
    )
}

#[test]
fn a_partner_acts_only_for_members_linked_to_it() {
    let api = Api::start();
    let dana = api.member("aroma");
    api.earn("aroma", &dana, "100");
    let nobody = uuid::Uuid::new_v4().to_string();
    let before = api.entry_count();
    // Every call books makes for Dana answers as for a member that does not exist.
    let earn = |m: &str| json!({ "member_id": m, "points": "5", "reference": "e" });
    let redeem =
        |m: &str| json!({ "member_id": m, "unit": "PAGES", "points": "1", "reference": "r" });
    for (path, body) in [
        ("/v1/earn", earn(&dana)),
        ("/v1/redemptions", redeem(&dana)),
    ] {
        let real = api.post("books", path, &body);
        let fake_body = body.to_string().replace(&dana, &nobody);
        let fake = api.post("books", path, &serde_json::from_str(&fake_body).unwrap());
        assert_eq!(real.status, 404, "{path}: {}", real.body);
        assert_eq!(shape(&real, &dana), shape(&fake, &nobody), "{path}");
    }
    let real = api.get("books", &format!("/v1/members/{dana}/balances"));
    let fake = api.get("books", &format!("/v1/members/{nobody}/balances"));
    assert_eq!(shape(&real, &dana), shape(&fake, &nobody), "balances");
    let real = api.post("books", &format!("/v1/members/{dana}/tokens"), &json!({}));
    let fake = api.post("books", &format!("/v1/members/{nobody}/tokens"), &json!({}));
    assert_eq!(real.status, 404);
    assert_eq!(shape(&real, &dana), shape(&fake, &nobody));
    assert_eq!(api.entry_count(), before, "nothing was written");
    // Where the member acts — their authorisation code — no link is needed.
    let wallet = api.scoped_token("aroma", &dana, &["authorizations"]);
    let code = api.bearer(
        &wallet,
        "POST",
        "/v1/me/authorizations",
        Some(&json!({ "partner": "books", "unit": "AROMA", "max_points": "30" })),
    );
    assert_eq!(code.status, 201, "{}", code.body);
    let spent = api.post(
        "books",
        "/v1/redemptions",
        &json!({ "member_id": dana, "unit": "AROMA", "points": "30", "reference": "till-1", "authorization": code.json()["code"] }),
    );
    assert_eq!(spent.status, 201, "{}", spent.body);
    assert_eq!(api.balance("aroma", &dana), "70");
    api.verify();
}

#[test]
fn a_member_links_a_second_brand_with_a_code_and_leaves_it() {
    let api = Api::start();
    let dana = api.member("aroma");
    api.earn("aroma", &dana, "40");
    // Asking for a link code takes the `links` scope, which no token carries by default.
    let plain = api.member_token("aroma", &dana);
    let r = link_code(&api, &plain, "books");
    assert_eq!((r.status, r.code().as_str()), (403, "forbidden"));
    let wallet = api.scoped_token("aroma", &dana, &["links", "wallet"]);
    let r = link_code(&api, &wallet, "no-such-brand");
    assert_eq!((r.status, r.code().as_str()), (422, "invalid_request"));

    let r = link_code(&api, &wallet, "books");
    assert_eq!(r.status, 201, "{}", r.body);
    let code = r.json()["code"].clone();
    assert_eq!(r.json()["partner"], "books");
    // Another brand cannot use it, nor can a code that was never made.
    let r = enrol_linked(&api, "threads", "t-dana", &code);
    assert_eq!((r.status, r.code().as_str()), (422, "invalid_link_code"));
    let r = enrol_linked(&api, "books", "b-dana", &json!("2345-6789-ABCD"));
    assert_eq!((r.status, r.code().as_str()), (422, "invalid_link_code"));
    let r = enrol_linked(&api, "books", "b-dana", &json!("not a code"));
    assert_eq!((r.status, r.code().as_str()), (422, "invalid_link_code"));
    // An external id the brand uses for another member is refused, and the code stays good
    // (it links Dana below).
    let other = api.post("books", "/v1/members", &json!({ "external_id": "b-other" }));
    assert_eq!(other.status, 201);
    let r = enrol_linked(&api, "books", "b-other", &code);
    assert_eq!(
        (r.status, r.code().as_str()),
        (422, "invalid_request"),
        "{}",
        r.body
    );

    let r = enrol_linked(&api, "books", "b-dana", &code);
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        (r.json()["member_id"].as_str(), r.json()["linked"].as_bool()),
        (Some(dana.as_str()), Some(true)),
        "the same member, no new wallet"
    );
    // Used once.
    let r = enrol_linked(&api, "books", "b-dana-2", &code);
    assert_eq!((r.status, r.code().as_str()), (422, "invalid_link_code"));
    // Books now acts for Dana: earns its own points into the same wallet.
    api.earn("books", &dana, "12");
    let w = api.bearer(&wallet, "GET", "/v1/me/wallet", None).json();
    let units: Vec<&str> = w["balances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["unit"].as_str().unwrap())
        .collect();
    assert!(units.contains(&"AROMA") && units.contains(&"PAGES"), "{w}");
    let links = api.bearer(&wallet, "GET", "/v1/me/links", None).json();
    let linked: Vec<(&str, &str)> = links["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["partner"].as_str().unwrap(),
                l["external_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(linked.len(), 2, "{links}");
    assert!(linked.contains(&("books", "b-dana")), "{links}");

    // An expired code is refused.
    let r = link_code(&api, &wallet, "threads");
    let late = r.json()["code"].clone();
    api.advance_secs(11 * 60);
    let wallet = api.scoped_token("aroma", &dana, &["links", "wallet"]);
    let r = enrol_linked(&api, "threads", "t-dana", &late);
    assert_eq!((r.status, r.code().as_str()), (422, "invalid_link_code"));

    // Leaving: books can no longer act for Dana; the points stay.
    let r = api.bearer(&wallet, "DELETE", "/v1/me/links/books", None);
    assert_eq!(r.status, 204, "{}", r.body);
    let r = api.post(
        "books",
        "/v1/earn",
        &json!({ "member_id": dana, "points": "1", "reference": "after" }),
    );
    assert_eq!((r.status, r.code().as_str()), (404, "not_found"));
    let w = api.bearer(&wallet, "GET", "/v1/me/wallet", None).json();
    assert!(w.to_string().contains("PAGES"), "the points stay: {w}");
    let r = api.bearer(&wallet, "DELETE", "/v1/me/links/books", None);
    assert_eq!((r.status, r.code().as_str()), (404, "not_found"));
    api.verify();
}

#[test]
fn one_link_code_links_once_when_tried_concurrently() {
    let api = Api::start();
    let dana = api.member("aroma");
    let wallet = api.scoped_token("aroma", &dana, &["links"]);
    let code = link_code(&api, &wallet, "books").json()["code"].clone();
    let answers: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (api, code) = (&api, code.clone());
                s.spawn(move || enrol_linked(api, "books", &format!("b-{i}"), &code).status)
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        answers.iter().filter(|s| **s == 201).count(),
        1,
        "{answers:?}"
    );
    assert_eq!(
        answers.iter().filter(|s| **s == 422).count(),
        7,
        "{answers:?}"
    );
    let links = api.bearer(&wallet, "GET", "/v1/me/links", None).json();
    assert_eq!(links["items"].as_array().unwrap().len(), 2, "{links}");
}

/// Tried as an attacker would: a brand mints a token for a member it shares with another brand,
/// authorises itself to spend the other brand's points and redeems them, so that the other brand
/// pays. A token moves value out of a unit only for the unit's issuer.
#[test]
fn a_token_moves_value_only_out_of_its_minters_units() {
    let api = Api::start();
    let dana = api.member("aroma");
    api.link(&dana, "aroma", "books");
    api.earn("aroma", &dana, "100");
    let before = api.entry_count();
    let by_books = api.scoped_token(
        "books",
        &dana,
        &["authorizations", "conversions", "donations"],
    );
    let attempts = [
        (
            "/v1/me/authorizations",
            json!({ "partner": "books", "unit": "AROMA", "max_points": "100" }),
        ),
        (
            "/v1/me/conversions",
            json!({ "from_unit": "AROMA", "to_unit": "PAGES", "points": "100" }),
        ),
        (
            "/v1/me/donations",
            json!({ "unit": "AROMA", "points": "10", "charity": "hope-kitchen" }),
        ),
    ];
    for (path, body) in &attempts {
        let r = api.bearer(&by_books, "POST", path, Some(body));
        assert_eq!(
            (r.status, r.code().as_str()),
            (403, "forbidden"),
            "{path}: {}",
            r.body
        );
    }
    assert_eq!(api.entry_count(), before, "nothing moved");
    assert_eq!(api.balance("aroma", &dana), "100");
    // Aroma's own token may: the member's choice in Aroma's app.
    let by_aroma = api.scoped_token("aroma", &dana, &["authorizations", "donations"]);
    let r = api.bearer(&by_aroma, "POST", attempts[0].0, Some(&attempts[0].1));
    assert_eq!(r.status, 201, "{}", r.body);
    let r = api.bearer(&by_aroma, "POST", attempts[2].0, Some(&attempts[2].1));
    assert_eq!(r.status, 201, "{}", r.body);
    api.verify();
}

/// A new link starts from the member's own default (what they chose at their first brand), not
/// from what a later brand's form says; a link made by showing the card shares nothing.
#[test]
fn new_links_start_from_the_members_choice_and_a_card_shares_nothing() {
    let api = Api::start();
    let r = api.post(
        "aroma",
        "/v1/members",
        &json!({ "external_id": "dana", "consent": { "share_balances": true } }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let (dana, card) = (
        r.json()["member_id"].as_str().unwrap().to_owned(),
        r.json()["card_number"].as_str().unwrap().to_owned(),
    );
    let wallet = api.scoped_token("aroma", &dana, &["links"]);
    let code = link_code(&api, &wallet, "books").json()["code"].clone();
    let r = api.post(
        "books",
        "/v1/members",
        &json!({ "external_id": "b-dana", "link_code": code, "consent": { "share_balances": false } }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = api.post(
        "threads",
        "/v1/earn",
        &json!({ "card_number": card, "points": "1", "reference": "t-1" }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let shares = api.link_shares(&wallet);
    let expected = [("aroma", true), ("books", true), ("threads", false)];
    assert_eq!(shares, expected.map(|(p, s)| (p.to_owned(), s)));
}

/// Guessing link codes meets 429 after the burst, as guessing card numbers does; the bound
/// follows how long the sweep took rather than assuming a speed.
#[test]
fn a_sweep_through_link_codes_meets_429_early() {
    let api = Api::start();
    let sweep = 30;
    let started = std::time::Instant::now();
    let answers: Vec<u16> = (0..sweep)
        .map(|i| {
            enrol_linked(
                &api,
                "books",
                &format!("guess-{i}"),
                &json!(format!("2345-6789-{i:04}")),
            )
            .status
        })
        .collect();
    let secs = started.elapsed().as_secs_f64();
    assert!(
        answers.iter().all(|s| *s == 422 || *s == 429),
        "{answers:?}"
    );
    assert_eq!(answers[0], 422);
    let per_sec = f64::from(coalition::api::ratelimit::LINK_CODE_FAILURES_PER_SEC);
    let answered = answers.iter().filter(|s| **s == 422).count();
    let most = (2.0 * per_sec + per_sec * secs).ceil() as usize + 1;
    assert!(
        answered <= most,
        "{answered} guesses answered in {secs:.2} s: {answers:?}"
    );
    // Enrolling without a code is not held back.
    let r = api.post("books", "/v1/members", &json!({ "external_id": "plain" }));
    assert_eq!(r.status, 201, "{}", r.body);
}
