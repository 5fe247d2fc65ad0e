//! Touch points over real HTTP: each a visit in the profile, an `interaction` earn rule's points
//! capped per member and day (a second review the same day earns nothing, the next day's does),
//! bad kinds refused with nothing changed, unlinked members answered as unknown, retries
//! answered once.

use serde_json::{Value, json};

use crate::common::{Api, Resp};

fn created(r: &Resp) -> Value {
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()
}

fn visits_at(api: &Api, partner: &str, member: &str) -> i64 {
    let r = api.get(partner, &format!("/v1/members/{member}/profile"));
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["brands"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["partner"] == partner)
        .map_or(0, |b| b["visits"].as_i64().unwrap())
}

#[test]
fn a_review_earns_once_a_day_and_every_touch_point_is_a_visit() {
    let api = Api::start();
    let member = api.member("aroma");
    let review = |reference: &str| {
        created(&api.post(
            "aroma",
            "/v1/interactions",
            &json!({ "member_id": member, "kind": "review", "reference": reference }),
        ))
    };
    let first = review("rv-1");
    assert_eq!(first["kind"], "review");
    assert_eq!(first["points"], "15", "{first}");
    assert_eq!(first["unit"], "AROMA");
    assert_eq!(
        first["rules"],
        json!([{ "id": "review-thanks", "points": "15" }])
    );
    assert_eq!(first["receipt"]["kind"], "earn");
    assert_eq!(first["receipt"]["rules"], first["rules"]);
    assert_eq!(api.balance("aroma", &member), "15");

    let second = review("rv-2");
    assert!(second.get("points").is_none(), "capped: {second}");
    assert!(second.get("receipt").is_none());
    assert_eq!(api.balance("aroma", &member), "15");

    // A workshop at Aroma has no rule: recorded, no points. A custom kind is a kind too.
    let w = created(&api.post(
        "aroma",
        "/v1/interactions",
        &json!({ "member_id": member, "kind": "workshop", "reference": "w-1" }),
    ));
    assert!(w.get("points").is_none());
    created(&api.post(
        "aroma",
        "/v1/interactions",
        &json!({ "member_id": member, "kind": "custom:tasting", "reference": "t-1",
                 "occurred_at": "2026-01-01T10:00:00Z" }),
    ));
    // Four touch points, four visits: the review's earn is not a fifth.
    assert_eq!(visits_at(&api, "aroma", &member), 4);

    // The next day (of the network's calendar) the cap starts again.
    api.advance_secs(24 * 3600);
    let next = review("rv-3");
    assert_eq!(next["points"], "15", "{next}");
    assert_eq!(api.balance("aroma", &member), "30");
    assert_eq!(visits_at(&api, "aroma", &member), 5);
    api.verify();
}

#[test]
fn bad_touch_points_change_nothing() {
    let api = Api::start();
    let member = api.member("aroma");
    let elsewhere = api.member("books");
    let before = api.entry_count();
    for (body, status, code) in [
        (
            json!({ "member_id": member, "kind": "like", "reference": "x" }),
            422,
            "invalid_request",
        ),
        (
            json!({ "member_id": member, "kind": "custom:Big Name", "reference": "x" }),
            422,
            "invalid_request",
        ),
        (
            json!({ "member_id": member, "kind": "review", "reference": "" }),
            422,
            "invalid_request",
        ),
        (
            json!({ "member_id": member, "kind": "review", "reference": "x", "occurred_at": "yesterday" }),
            422,
            "invalid_request",
        ),
        (
            json!({ "member_id": member, "kind": "review", "reference": "x", "points": "5" }),
            400,
            "invalid_json",
        ),
        (
            json!({ "member_id": elsewhere, "kind": "review", "reference": "x" }),
            404,
            "not_found",
        ),
        (
            json!({ "card_number": "1234", "kind": "review", "reference": "x" }),
            422,
            "invalid_card",
        ),
    ] {
        let r = api.post("aroma", "/v1/interactions", &body);
        assert_eq!(
            (r.status, r.code()),
            (status, code.to_owned()),
            "{body}: {}",
            r.body
        );
    }
    assert_eq!(api.entry_count(), before);
    assert_eq!(visits_at(&api, "aroma", &member), 0);

    // A retry under the same key answers the same and records nothing twice.
    let body = json!({ "member_id": member, "kind": "review", "reference": "once" }).to_string();
    let send = || {
        api.signed(
            "aroma",
            "POST",
            "/v1/interactions",
            Some(&body),
            Some("idem-1"),
        )
    };
    let (a, b) = (send(), send());
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.body, b.body);
    assert_eq!(visits_at(&api, "aroma", &member), 1);
    assert_eq!(api.balance("aroma", &member), "15");
}
