//! Member cards: issued at enrolment, presented instead of the member id (which links the brand),
//! refused when malformed, unknown or replaced, and a sweep through numbers stopped early.

use coalition::ledger::CardNumber;
use serde_json::json;

use crate::common::Api;

fn enrol(api: &Api, partner: &str, external_id: &str) -> serde_json::Value {
    let r = api.post(
        partner,
        "/v1/members",
        &json!({ "external_id": external_id }),
    );
    assert!(r.status == 201 || r.status == 200, "{}", r.body);
    r.json()
}

/// A number with a right check digit that no member holds.
fn unissued(seed: u64) -> String {
    let body = format!("6001{:011}", 12_345_678_901 + seed);
    (0..10)
        .map(|d| format!("{body}{d}"))
        .find(|n| n.parse::<CardNumber>().is_ok())
        .unwrap()
}

#[test]
fn a_card_is_issued_at_enrolment_and_stands_for_the_member() {
    let api = Api::start();
    let dana = enrol(&api, "aroma", "dana");
    let card = dana["card_number"].as_str().unwrap().to_owned();
    let member = dana["member_id"].as_str().unwrap().to_owned();
    assert!(card.starts_with("6001") && card.len() == 16, "{card}");
    assert!(card.parse::<CardNumber>().is_ok(), "Luhn: {card}");
    assert_eq!(
        enrol(&api, "aroma", "dana")["card_number"],
        card.as_str(),
        "the same card"
    );
    let other = enrol(&api, "aroma", "eli");
    assert_ne!(other["card_number"], card.as_str());

    // Presented at a brand the member has not joined: the card stands for the member and the
    // brand is linked (sharing nothing).
    let r = api.post(
        "books",
        "/v1/earn",
        &json!({ "card_number": card, "points": "7", "reference": "till-1" }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["member_id"], member.as_str());
    assert_eq!(
        api.balance("books", &member),
        "7",
        "books now acts for the member by id"
    );
    let by_card = api.get("books", &format!("/v1/members/{card}/balances"));
    assert_eq!(by_card.status, 200, "{}", by_card.body);
    assert_eq!(by_card.json()["member_id"], member.as_str());
    // Redeeming by card, too.
    let r = api.post(
        "books",
        "/v1/redemptions",
        &json!({ "card_number": card, "unit": "PAGES", "points": "2", "reference": "till-2" }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(api.balance("books", &member), "5");
    // A partner's app may mint the member's token by card: showing it links that brand too.
    let r = api.post("threads", &format!("/v1/members/{card}/tokens"), &json!({}));
    assert_eq!(r.status, 201, "{}", r.body);
    api.earn("threads", &member, "3");
    // The wallet shows the card.
    let token = api.member_token("aroma", &member);
    let wallet = api.bearer(&token, "GET", "/v1/me/wallet", None).json();
    assert_eq!(wallet["card_number"], card.as_str());
    api.verify();
}

#[test]
fn bad_cards_are_refused_and_change_nothing() {
    let api = Api::start();
    let dana = enrol(&api, "aroma", "dana");
    let (card, member) = (
        dana["card_number"].as_str().unwrap().to_owned(),
        dana["member_id"].as_str().unwrap().to_owned(),
    );
    let before = api.entry_count();
    let earn = |card: &str| {
        api.post(
            "aroma",
            "/v1/earn",
            &json!({ "card_number": card, "points": "1", "reference": "x" }),
        )
    };
    let mut wrong_check = card.clone();
    let last = wrong_check.pop().unwrap();
    wrong_check.push(if last == '0' { '1' } else { '0' });
    for (bad, status, code) in [
        ("123", 422, "invalid_card"),
        (wrong_check.as_str(), 422, "invalid_card"),
        (unissued(1).as_str(), 404, "unknown_card"),
    ] {
        let r = earn(bad);
        assert_eq!(
            (r.status, r.code().as_str()),
            (status, code),
            "{bad}: {}",
            r.body
        );
    }
    let both = api.post(
        "aroma",
        "/v1/earn",
        &json!({ "member_id": member, "card_number": card, "points": "1", "reference": "x" }),
    );
    assert_eq!(
        (both.status, both.code().as_str()),
        (422, "invalid_request")
    );
    // A replaced card is refused with its own code; the new one works.
    let token = {
        let r = api.post(
            "aroma",
            &format!("/v1/members/{member}/tokens"),
            &json!({ "scope": ["card", "wallet"] }),
        );
        r.json()["token"].as_str().unwrap().to_owned()
    };
    let replaced = api.bearer(&token, "POST", "/v1/me/card/replace", None);
    assert_eq!(replaced.status, 201, "{}", replaced.body);
    let new_card = replaced.json()["card_number"].as_str().unwrap().to_owned();
    assert_ne!(new_card, card);
    let r = earn(&card);
    assert_eq!((r.status, r.code().as_str()), (410, "card_revoked"));
    let r = api.get("aroma", &format!("/v1/members/{card}/balances"));
    assert_eq!((r.status, r.code().as_str()), (410, "card_revoked"));
    assert_eq!(api.entry_count(), before, "nothing was written");
    assert_eq!(earn(&new_card).status, 201);
    let wallet = api.bearer(&token, "GET", "/v1/me/wallet", None).json();
    assert_eq!(wallet["card_number"], new_card.as_str());
}

#[test]
fn a_sweep_through_card_numbers_meets_429_early() {
    let api = Api::start();
    let dana = enrol(&api, "aroma", "dana");
    let sweep = 40;
    let started = std::time::Instant::now();
    let answers: Vec<u16> = (0..sweep)
        .map(|i| {
            api.get("books", &format!("/v1/members/{}/balances", unissued(i)))
                .status
        })
        .collect();
    let secs = started.elapsed().as_secs_f64();
    assert!(
        answers.iter().all(|s| *s == 404 || *s == 429),
        "{answers:?}"
    );
    assert_eq!(answers[0], 404, "the first miss is answered");
    // At most the burst (two seconds' worth) and what refilled while the sweep ran got past:
    // the bound follows the machine's speed rather than assuming one.
    let per_sec = f64::from(coalition::api::ratelimit::CARD_FAILURES_PER_SEC);
    let let_through = answers.iter().filter(|s| **s == 404).count();
    let most = (2.0 * per_sec + per_sec * secs).ceil() as usize + 1;
    assert!(
        let_through <= most,
        "{let_through} misses answered in {secs:.2} s: {answers:?}"
    );
    // Counted in /metrics as they were answered.
    let metrics = crate::common::send("GET", &api.url("/metrics"), &[], None).body;
    let count = |result: &str| -> usize {
        let line = format!("coalition_card_lookups_total{{result=\"{result}\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&line))
            .unwrap_or_else(|| panic!("no {line} in /metrics"))
            .parse()
            .unwrap()
    };
    assert_eq!(count("failed"), let_through);
    assert_eq!(count("limited"), sweep as usize - let_through);
    // A call without a card is not held back by the card budget.
    let member = dana["member_id"].as_str().unwrap();
    assert_eq!(
        api.get("aroma", &format!("/v1/members/{member}/balances"))
            .status,
        200
    );
}

/// Members enrolled before cards existed are given one when the service starts (here: cards
/// removed behind the service's back, then a service started on the same database), each a fresh
/// random number; a second start gives none.
#[test]
fn members_without_a_card_get_one_when_the_service_starts() {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Card {
        #[diesel(sql_type = diesel::sql_types::Text)]
        member_id: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        number: String,
    }
    let api = Api::start();
    let members: Vec<String> = (0..3)
        .map(|i| {
            enrol(&api, "aroma", &format!("m-{i}"))["member_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let mut conn = api.svc.db.raw();
    diesel::sql_query("DELETE FROM cards")
        .execute(&mut conn)
        .unwrap();
    let cards = |conn: &mut coalition::store::DbConn| {
        diesel::sql_query(
            "SELECT member_id, number FROM cards WHERE revoked_at_us IS NULL ORDER BY member_id",
        )
        .load::<Card>(conn)
        .unwrap()
    };
    let url = api.svc.db.raw_url.clone();
    let again = crate::common::TestService::on(
        crate::common::TestDb::existing(&url),
        &crate::common::demo_partners(),
    );
    let issued = cards(&mut conn);
    let mut expected = members.clone();
    expected.sort();
    assert_eq!(
        issued
            .iter()
            .map(|c| c.member_id.clone())
            .collect::<Vec<_>>(),
        expected
    );
    for c in &issued {
        assert!(
            c.number.starts_with("6001") && c.number.parse::<CardNumber>().is_ok(),
            "{}",
            c.number
        );
    }
    drop(again);
    let third = crate::common::TestService::on(
        crate::common::TestDb::existing(&url),
        &crate::common::demo_partners(),
    );
    assert_eq!(cards(&mut conn).len(), 3, "a second start issues none");
    drop(third);
}

/// A sponsor gives a coupon to the member whose card it is shown, and the bookstore takes the
/// coupon with the card: the card stands for the member in coupon calls too.
#[test]
fn coupons_go_by_card_as_well() {
    let api = Api::start();
    let dana = enrol(&api, "aroma", "dana");
    let (card, member) = (
        dana["card_number"].as_str().unwrap().to_owned(),
        dana["member_id"].as_str().unwrap().to_owned(),
    );
    let now = coalition::ledger::clock::Clock::system().now_us();
    let campaign = api.post(
        "threads",
        "/v1/campaigns",
        &json!({ "name": "card offer", "redeemable_at": ["books"],
            "benefit": { "kind": "amount", "value": "5.00" }, "currency": "ILS", "budget": "50.00",
            "valid_from": coalition::clearing::time::rfc3339(now - 60_000_000),
            "valid_until": coalition::clearing::time::rfc3339(now + 86_400_000_000) }),
    );
    assert_eq!(campaign.status, 201, "{}", campaign.body);
    let id = campaign.json()["campaign_id"].as_str().unwrap().to_owned();
    let issued = api.post(
        "threads",
        &format!("/v1/campaigns/{id}/coupons"),
        &json!({ "card_number": card }),
    );
    assert_eq!(issued.status, 201, "{}", issued.body);
    assert_eq!(
        issued.json()["member_id"],
        member.as_str(),
        "bound to the card's member"
    );
    let code = issued.json()["code"].as_str().unwrap().to_owned();
    let used = api.post(
        "books",
        &format!("/v1/coupons/{code}/redemptions"),
        &json!({ "purchase_amount": "20.00", "reference": "b-1", "card_number": card }),
    );
    assert_eq!(used.status, 201, "{}", used.body);
    let wrong = api.post(
        "threads",
        &format!("/v1/campaigns/{id}/coupons"),
        &json!({ "card_number": unissued(7) }),
    );
    assert_eq!((wrong.status, wrong.code().as_str()), (404, "unknown_card"));
    api.verify();
}
