//! A member's privacy rights over real HTTP: the export, and erasure in the contract's order —
//! then nothing of the person is left but the UUID the journal keeps, `verify` passes, and the
//! rebuild does not bring the profile back.

use coalition::clearing::time;
use serde_json::{Value, json};

use crate::common::{Api, Resp};

fn ok(r: &Resp, status: u16) -> Value {
    assert_eq!(r.status, status, "{}", r.body);
    r.json()
}

fn refused(r: &Resp) -> (u16, String) {
    (r.status, r.code())
}

/// How many stored rows of `sql` (a `SELECT count(*) AS n …`) there are, read behind the
/// service's back.
fn count(api: &Api, sql: &str) -> i64 {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = api.svc.db.raw();
    diesel::sql_query(sql).get_result::<N>(&mut conn).unwrap().n
}

#[test]
fn erasure_forfeits_the_points_and_removes_the_person() {
    let api = Api::start();
    let external = format!("dana-{}", uuid::Uuid::new_v4());
    let enrolled = ok(
        &api.post("aroma", "/v1/members", &json!({ "external_id": external })),
        201,
    );
    let dana = enrolled["member_id"].as_str().unwrap().to_owned();
    let card = enrolled["card_number"].as_str().unwrap().to_owned();
    api.link(&dana, "aroma", "books");
    api.earn("aroma", &dana, "100");
    api.earn("books", &dana, "40");
    // Open at erasure: a hold of 10 AROMA, an authorisation for the bookstore, a link code for
    // Threads, and a coupon Aroma sponsors for her.
    let hold = ok(
        &api.post(
            "aroma",
            "/v1/redemptions",
            &json!({ "member_id": dana, "unit": "AROMA", "points": "10", "reference": "h", "capture": false }),
        ),
        201,
    );
    let wallet = api.scoped_token(
        "aroma",
        &dana,
        &[
            "authorizations",
            "links",
            "export",
            "erase",
            "wallet",
            "profile",
        ],
    );
    let auth = ok(
        &api.bearer(
            &wallet,
            "POST",
            "/v1/me/authorizations",
            Some(&json!({ "partner": "books", "unit": "AROMA", "max_points": "20" })),
        ),
        201,
    );
    let link_code = ok(
        &api.bearer(
            &wallet,
            "POST",
            "/v1/me/links",
            Some(&json!({ "partner": "threads" })),
        ),
        201,
    );
    let now = api.svc.clearing.clock().now_us();
    let campaign = ok(
        &api.post(
            "aroma",
            "/v1/campaigns",
            &json!({
                "name": "Welcome back", "redeemable_at": ["books"],
                "benefit": { "kind": "amount", "value": "15.00" }, "currency": "ILS", "budget": "100.00",
                "valid_from": time::rfc3339(now - 3_600_000_000),
                "valid_until": time::rfc3339(now + 30 * 86_400_000_000),
            }),
        ),
        201,
    );
    let campaign_id = campaign["campaign_id"].as_str().unwrap().to_owned();
    ok(
        &api.post(
            "aroma",
            &format!("/v1/campaigns/{campaign_id}/coupons"),
            &json!({ "member_id": dana }),
        ),
        201,
    );
    let reserved = |api: &Api| {
        api.get("aroma", &format!("/v1/campaigns/{campaign_id}"))
            .json()["reserved"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(reserved(&api), "15.00");

    // The export holds what the network knows of her, the brands' ids for her included.
    let export = ok(&api.bearer(&wallet, "GET", "/v1/me/export", None), 200);
    assert_eq!(export["member_id"], dana.as_str());
    assert_eq!(export["cards"][0]["number"], card.as_str());
    let external_ids: Vec<&str> = export["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["external_id"].as_str().unwrap())
        .collect();
    assert!(external_ids.contains(&external.as_str()), "{export}");
    assert_eq!(export["coupons"].as_array().unwrap().len(), 1);
    assert_eq!(export["authorizations"].as_array().unwrap().len(), 1);
    let kinds: Vec<&str> = export["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["earn", "earn", "hold", "coupon_reserve"]);
    assert_eq!(export["profile"]["totals"]["visits"], 2);
    // Export and erasure are asked for by name: a default token has neither.
    let plain = api.member_token("aroma", &dana);
    assert_eq!(
        refused(&api.bearer(&plain, "GET", "/v1/me/export", None)),
        (403, "forbidden".into())
    );
    let confirm = json!({ "confirm": "forfeit-balances" });
    assert_eq!(
        refused(&api.bearer(&plain, "DELETE", "/v1/me", Some(&confirm))),
        (403, "forbidden".into())
    );
    // Without the confirmation nothing happens.
    let entries_before = api.entry_count();
    for body in [json!({ "confirm": "yes" }), json!({})] {
        let r = api.bearer(&wallet, "DELETE", "/v1/me", Some(&body));
        assert_eq!(r.status, 422, "{}", r.body);
    }
    assert_eq!(
        refused(&api.bearer(
            &wallet,
            "DELETE",
            "/v1/me",
            Some(&json!({ "confirm": "yes" }))
        )),
        (422, "confirmation_required".into())
    );
    assert_eq!(api.entry_count(), entries_before);
    assert_eq!(api.balance("aroma", &dana), "90");

    let erased = ok(
        &api.bearer(&wallet, "DELETE", "/v1/me", Some(&confirm)),
        200,
    );
    assert_eq!(erased["member_id"], dana.as_str());
    assert_eq!(
        (
            &erased["holds_voided"],
            &erased["authorizations_ended"],
            &erased["link_codes_revoked"],
            &erased["coupons_cancelled"]
        ),
        (&json!(1), &json!(1), &json!(1), &json!(1))
    );
    assert_eq!(
        erased["forfeited"],
        json!([{ "unit": "AROMA", "points": "100" }, { "unit": "PAGES", "points": "40" }])
    );
    // The coupon's reservation went back to the sponsor.
    assert_eq!(reserved(&api), "0.00");

    // Each issuer's journal shows its forfeiture: the member's points back, no money moved.
    let aroma_entries = api.get("aroma", "/v1/entries?kind=forfeiture").json();
    let forfeiture = &aroma_entries["items"].as_array().unwrap()[0];
    assert_eq!(forfeiture["kind"], "forfeiture");
    assert_eq!(forfeiture["member_id"], dana.as_str());
    let mut lines = crate::common::field_pairs(&forfeiture["postings"], "account", "amount");
    lines.sort();
    assert_eq!(
        lines,
        [
            ("issuer:aroma:AROMA".to_owned(), "-100".to_owned()),
            (format!("member:{dana}:AROMA"), "100".to_owned()),
        ]
    );
    // The lots the forfeiture emptied and the expiry clock are gone with the person.
    let kept = api
        .svc
        .clearing
        .store()
        .read_blocking({
            let dana = dana.clone();
            move |c| {
                Ok::<_, coalition::store::StoreError>((
                    coalition::store::lots::member_open_lots(c, &dana)?.len(),
                    coalition::store::lots::last_active_us(c, &dana)?,
                ))
            }
        })
        .unwrap();
    assert_eq!(kept, (0, None));
    api.verify();

    // Her tokens, her card and her id are refused; her codes are dead.
    for t in [&wallet, &plain] {
        assert_eq!(
            refused(&api.bearer(t, "GET", "/v1/me/wallet", None)),
            (404, "not_found".into())
        );
    }
    assert_eq!(
        refused(&api.bearer(&wallet, "DELETE", "/v1/me", Some(&confirm))),
        (404, "not_found".into()),
        "erasure twice"
    );
    for partner in ["aroma", "books"] {
        assert_eq!(
            refused(&api.get(partner, &format!("/v1/members/{dana}/profile"))),
            (404, "not_found".into())
        );
        let earn = api.post(
            partner,
            "/v1/earn",
            &json!({ "member_id": dana, "points": "1", "reference": "after" }),
        );
        assert_eq!(refused(&earn), (404, "not_found".into()));
    }
    let by_card = api.post(
        "aroma",
        "/v1/earn",
        &json!({ "card_number": card, "points": "1", "reference": "after" }),
    );
    assert_eq!(refused(&by_card), (410, "card_revoked".into()));
    let spend = api.post(
        "books",
        "/v1/redemptions",
        &json!({ "member_id": dana, "unit": "AROMA", "points": "5", "reference": "x", "authorization": auth["code"] }),
    );
    assert_eq!(refused(&spend), (404, "not_found".into()));
    let joined = api.post(
        "threads",
        "/v1/members",
        &json!({ "external_id": "t-1", "link_code": link_code["code"] }),
    );
    assert_eq!(refused(&joined), (422, "invalid_link_code".into()));
    let hold_id = hold["entry_id"].as_str().unwrap();
    let capture = api.post(
        "aroma",
        &format!("/v1/redemptions/{hold_id}/capture"),
        &json!({}),
    );
    assert_eq!(capture.status, 422, "{}", capture.body);

    // Nothing personal is left: no link, no external id, no profile, no answer naming her.
    let gone = [
        format!("SELECT count(*) AS n FROM member_links WHERE member_id = '{dana}'"),
        format!("SELECT count(*) AS n FROM member_profiles WHERE member_id = '{dana}'"),
        format!("SELECT count(*) AS n FROM member_profile_days WHERE member_id = '{dana}'"),
        format!("SELECT count(*) AS n FROM link_codes WHERE member_id = '{dana}'"),
        format!("SELECT count(*) AS n FROM idempotency_keys WHERE body LIKE '%{external}%'"),
        format!("SELECT count(*) AS n FROM idempotency_keys WHERE body LIKE '%{card}%'"),
        format!(
            "SELECT count(*) AS n FROM cards WHERE member_id = '{dana}' AND revoked_at_us IS NULL"
        ),
    ];
    for sql in &gone {
        assert_eq!(count(&api, sql), 0, "{sql}");
    }
    // The journal keeps her UUID; a rebuild from it does not bring her profile back.
    assert!(
        count(
            &api,
            &format!("SELECT count(*) AS n FROM entries WHERE member = '{dana}'")
        ) > 0
    );
    api.svc.clearing.rebuild_aggregates(&|_| {}).unwrap();
    assert_eq!(count(&api, &gone[1]), 0);
    assert_eq!(count(&api, &gone[2]), 0);
    api.verify();
}

/// Erasing one member leaves the others as they were, profile included.
#[test]
fn erasure_touches_nobody_else() {
    let api = Api::start();
    let (dana, eli) = (api.member("aroma"), api.member("aroma"));
    for m in [&dana, &eli] {
        api.earn("aroma", m, "25");
    }
    let t = api.scoped_token("aroma", &dana, &["erase"]);
    ok(
        &api.bearer(
            &t,
            "DELETE",
            "/v1/me",
            Some(&json!({ "confirm": "forfeit-balances" })),
        ),
        200,
    );
    assert_eq!(api.balance("aroma", &eli), "25");
    let profile = ok(
        &api.get("aroma", &format!("/v1/members/{eli}/profile")),
        200,
    );
    assert_eq!(profile["brands"][0]["visits"], 1);
    api.verify();
}
