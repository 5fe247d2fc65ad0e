//! Earn rules and tiers over real HTTP: each rule kind and condition at a known local time
//! (the service's clock moved to a Monday morning in Jerusalem), baskets refused with nothing
//! posted, quotes equal to the earns they quote, tiers up and down with grace, a refund that
//! costs a tier, and a network-funded tier bonus settled to the cent against a computation of
//! the test's own.

use std::path::Path;

use serde_json::{Value, json};

use crate::common::{Api, Resp};

fn created(r: &Resp) -> Value {
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()
}

/// Moves the service's clock to the next `weekday` at `hh:mm` in Jerusalem (at least a minute
/// ahead), so that rules with days and hours see a known local time.
fn advance_to(api: &Api, weekday: jiff::civil::Weekday, hh: i8, mm: i8) {
    let zone = jiff::tz::db().get("Asia/Jerusalem").unwrap();
    let now = jiff::Timestamp::from_second(api.now_secs())
        .unwrap()
        .to_zoned(zone.clone());
    let mut day = now.date();
    loop {
        let at = day.at(hh, mm, 0, 0).to_zoned(zone.clone()).unwrap();
        let ahead = at.timestamp().as_second() - now.timestamp().as_second();
        if day.weekday() == weekday && ahead > 60 {
            api.advance_secs(u32::try_from(ahead).unwrap());
            return;
        }
        day = day.tomorrow().unwrap();
    }
}

/// Aroma's manifest with `rules` (TOML) in place of the demo's.
fn aroma_rules(dir: &Path, rules: &str) {
    let path = dir.join("aroma.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut table: toml::Table = toml::from_str(&text).unwrap();
    let parsed: toml::Table = toml::from_str(rules).unwrap();
    table["earn"]["rules"] = parsed["earn"]["rules"].clone();
    std::fs::write(&path, toml::to_string(&table).unwrap()).unwrap();
}

fn basket(member: &str, lines: &[(&str, &str)], reference: &str) -> Value {
    let total: rust_decimal::Decimal = lines
        .iter()
        .map(|(_, a)| a.parse::<rust_decimal::Decimal>().unwrap())
        .sum();
    json!({
        "member_id": member,
        "purchase": {
            "amount": total.to_string(),
            "currency": "ILS",
            "lines": lines.iter().map(|(c, a)| json!({ "category": c, "amount": a, "quantity": 1 })).collect::<Vec<_>>(),
        },
        "reference": reference,
    })
}

fn rules_of(receipt: &Value) -> Vec<(String, String)> {
    receipt["rules"]
        .as_array()
        .unwrap_or_else(|| panic!("no rules: {receipt}"))
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                r["points"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

/// The quote of `body` (its `reference` dropped).
fn quote(api: &Api, partner: &str, body: &Value) -> Value {
    let mut body = body.clone();
    body.as_object_mut().unwrap().remove("reference");
    let r = api.post(partner, "/v1/earn/quote", &body);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

/// Every kind and condition at Monday 08:30 in Jerusalem, then at 19:00: what applies gives
/// exactly its points, rounded down per rule, and what does not gives nothing.
#[test]
fn each_rule_kind_and_condition() {
    let mut rules = String::new();
    let api = Api::with(
        coalition::clearing::DEFAULT_HOLD_TTL_SECS,
        coalition::api::ServerOptions::default(),
        |dir| {
            // Written before the clock moves: the dates are relative to "now" and the move is
            // at most a week, so "in 30 days" and "30 days ago" still frame the earn.
            let today = jiff::Zoned::now()
                .with_time_zone(jiff::tz::db().get("Asia/Jerusalem").unwrap())
                .date();
            let (past, future) = (
                today.checked_sub(jiff::Span::new().days(30)).unwrap(),
                today.checked_add(jiff::Span::new().days(30)).unwrap(),
            );
            rules = format!(
                r#"
[[earn.rules]]
id = "morning"
kind = "multiplier"
factor = "2"
categories = ["coffee"]
days = ["mon"]
hours = "08:00-09:00"

[[earn.rules]]
id = "evening"
kind = "multiplier"
factor = "3"
categories = ["coffee"]
hours = "18:00-02:00"

[[earn.rules]]
id = "welcome"
kind = "bonus"
points = "20"
categories = ["coffee"]
first_purchase = true

[[earn.rules]]
id = "beans"
kind = "percent"
percent = "10"
categories = ["beans"]
min_basket = "50.00"

[[earn.rules]]
id = "gold-only"
kind = "bonus"
points = "5"
tiers = ["Gold"]

[[earn.rules]]
id = "not-yet"
kind = "bonus"
points = "7"
valid_from = "{future}"

[[earn.rules]]
id = "this-month"
kind = "bonus"
points = "3"
valid_from = "{past}"
valid_until = "{future}"

[[earn.rules]]
id = "tuesdays"
kind = "bonus"
points = "11"
days = ["tue"]
"#
            );
            aroma_rules(dir, &rules);
        },
    );
    advance_to(&api, jiff::civil::Weekday::Monday, 8, 30);
    let dana = api.member("aroma");
    // 30.00 of coffee, 25.00 of beans: base 55; morning (2 − 1) × 30 = 30; welcome 20 (her
    // first purchase here); beans 10 % of 25.00 = 2.50 ILS = 62.5 AROMA at 0.04, rounded down
    // to 62; this-month 3. Not evening (08:30), not gold-only (she is a Member), not not-yet,
    // not tuesdays.
    let body = basket(&dana, &[("coffee", "30.00"), ("beans", "25.00")], "b1");
    let first_quote = quote(&api, "aroma", &body);
    let first = created(&api.post("aroma", "/v1/earn", &body));
    let want = pairs(&[
        ("base", "55"),
        ("morning", "30"),
        ("welcome", "20"),
        ("beans", "62"),
        ("this-month", "3"),
    ]);
    assert_eq!(rules_of(&first), want);
    assert_eq!(first["points"], "170");
    assert_eq!(
        (first["tier"].as_str(), first["tier_bonus"].as_str()),
        (Some("Member"), Some("0"))
    );
    assert_eq!(api.balance("aroma", &dana), "170");
    // The quote said exactly this.
    assert_eq!(first_quote["points"], "170");
    assert_eq!(rules_of(&first_quote), want);

    // The same basket again: no welcome. A quote first, then the earn: equal.
    let body = basket(&dana, &[("coffee", "30.00"), ("beans", "25.00")], "b2");
    let q = quote(&api, "aroma", &body);
    let second = created(&api.post("aroma", "/v1/earn", &body));
    assert_eq!(rules_of(&second), rules_of(&q));
    assert_eq!(second["points"], q["points"]);
    assert_eq!(second["points"], "150");

    // Under the minimum basket (40.00 < 50.00): no beans percent.
    let small = created(&api.post(
        "aroma",
        "/v1/earn",
        &basket(&dana, &[("coffee", "20.00"), ("beans", "20.00")], "b3"),
    ));
    assert_eq!(
        rules_of(&small),
        pairs(&[("base", "40"), ("morning", "20"), ("this-month", "3")])
    );

    // No lines: rules with categories match nothing; the others still apply.
    let plain = created(&api.post(
        "aroma",
        "/v1/earn",
        &json!({ "member_id": dana, "purchase": { "amount": "10.00", "currency": "ILS" }, "reference": "b4" }),
    ));
    assert_eq!(
        rules_of(&plain),
        pairs(&[("base", "10"), ("this-month", "3")])
    );

    // Points given outright: no rules at all.
    let points = api.earn("aroma", &dana, "5");
    assert!(points.get("rules").is_none(), "{points}");
    assert_eq!(points["points"], "5");

    // 19:00 the same Monday: the evening rule (18:00-02:00, across midnight), not the morning.
    advance_to(&api, jiff::civil::Weekday::Monday, 19, 0);
    let evening = created(&api.post(
        "aroma",
        "/v1/earn",
        &basket(&dana, &[("coffee", "10.00")], "b5"),
    ));
    assert_eq!(
        rules_of(&evening),
        pairs(&[("base", "10"), ("evening", "20"), ("this-month", "3")])
    );
    // 01:30 on Tuesday: still evening (the range crosses midnight), and tuesdays now.
    advance_to(&api, jiff::civil::Weekday::Tuesday, 1, 30);
    let night = created(&api.post(
        "aroma",
        "/v1/earn",
        &basket(&dana, &[("coffee", "10.00")], "b6"),
    ));
    assert_eq!(
        rules_of(&night),
        pairs(&[
            ("base", "10"),
            ("evening", "20"),
            ("this-month", "3"),
            ("tuesdays", "11")
        ])
    );
    // The receipt's points are the sum of its rules, and the balance the sum of the receipts.
    let mut total = 0i64;
    for r in [&first, &second, &small, &plain, &evening, &night] {
        let sum: i64 = rules_of(r)
            .iter()
            .map(|(_, p)| p.parse::<i64>().unwrap())
            .sum();
        assert_eq!(
            r["points"].as_str().unwrap().parse::<i64>().unwrap(),
            sum,
            "{r}"
        );
        total += sum;
    }
    assert_eq!(api.balance("aroma", &dana), (total + 5).to_string());
    // The entries list shows the same explanation.
    let listed = api
        .get("aroma", &format!("/v1/entries?member_id={dana}&limit=100"))
        .json();
    let shown = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["entry_id"] == first["entry_id"])
        .unwrap()
        .clone();
    assert_eq!(rules_of(&shown), want);
    assert!(!rules.is_empty());
    api.verify();
}

/// Baskets that do not add up, lines that are not positive or not money, too many lines: `422`,
/// nothing posted, and the idempotency key still free for the corrected request.
#[test]
fn bad_baskets_change_nothing() {
    let api = Api::start();
    let dana = api.member("aroma");
    let before = api.entry_count();
    let key = "basket-1";
    let post = |body: &Value| {
        api.signed(
            "aroma",
            "POST",
            "/v1/earn",
            Some(&body.to_string()),
            Some(key),
        )
    };
    let line = |amount: Value| json!({ "category": "coffee", "amount": amount });
    let with_lines = |amount: &str, lines: Vec<Value>| json!({ "member_id": dana, "purchase": { "amount": amount, "currency": "ILS", "lines": lines }, "reference": "r" });
    let cases: Vec<(Value, &str)> = vec![
        (
            with_lines("50.00", vec![line(json!("30.00")), line(json!("19.99"))]),
            "invalid_basket",
        ),
        (
            with_lines("50.00", vec![line(json!("60.00")), line(json!("-10.00"))]),
            "invalid_basket",
        ),
        (
            with_lines("50.00", vec![line(json!("50.00")), line(json!("0.00"))]),
            "invalid_basket",
        ),
        (
            with_lines("50.00", vec![line(json!("50.001"))]),
            "invalid_basket",
        ),
        (with_lines("50.00", vec![line(json!(50))]), "invalid_amount"),
        (
            with_lines("201.00", (0..201).map(|_| line(json!("1.00"))).collect()),
            "invalid_basket",
        ),
        (
            with_lines(
                "50.00",
                vec![json!({ "category": "x".repeat(65), "amount": "50.00" })],
            ),
            "invalid_request",
        ),
        (
            with_lines("50.00", vec![json!({ "colour": "red", "amount": "50.00" })]),
            "invalid_json",
        ),
    ];
    for (body, code) in &cases {
        let r = post(body);
        assert_eq!(
            (r.status, r.code()),
            (
                if *code == "invalid_json" { 400 } else { 422 },
                (*code).to_owned()
            ),
            "{body}: {}",
            r.body
        );
        assert!(
            r.header("content-type")
                .unwrap()
                .starts_with("application/problem+json")
        );
        let mut unreferenced = body.clone();
        unreferenced.as_object_mut().unwrap().remove("reference");
        let q = api.post("aroma", "/v1/earn/quote", &unreferenced);
        assert_eq!(q.code(), r.code(), "the quote refuses it too");
    }
    assert_eq!(api.entry_count(), before, "nothing posted");
    let good = post(&with_lines(
        "50.00",
        vec![line(json!("30.00")), line(json!("20.00"))],
    ));
    assert_eq!(good.status, 201, "{}", good.body);
    // 50 for the base rate and 20 for the demo's welcome-coffee (her first purchase here).
    assert_eq!(api.balance("aroma", &dana), "70");
    api.verify();
}

/// The member's tier as they read it (a fresh token: the clock moves in these tests).
fn tier(api: &Api, member: &str) -> Value {
    let token = api.scoped_token("books", member, &["profile"]);
    let r = api.bearer(&token, "GET", "/v1/me/tier", None);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

const DAY_SECS: u32 = 86_400;

/// Up at once when the spend reaches Gold; a refund that takes it below starts the grace
/// period; the tier holds for its 30 days and then drops; spend leaving the rolling window does
/// the same a year later. Every change is in the history with its reason.
#[test]
fn tiers_go_up_and_down_with_grace() {
    let api = Api::start();
    let dana = api.member("books");
    let t = tier(&api, &dana);
    assert_eq!(
        (t["tier"].as_str(), t["qualifying"].as_str()),
        (Some("Member"), Some("0.00"))
    );
    assert_eq!(t["next"], json!({ "name": "Gold", "needed": "2000.00" }));
    assert!(t.get("expires_at").is_none());

    // 1 500.00 then 600.00 at the bookstore: Gold from the second purchase on.
    let spend = |amount: &str, reference: &str| {
        created(&api.post(
            "books",
            "/v1/earn",
            &json!({ "member_id": dana, "purchase": { "amount": amount, "currency": "ILS" }, "reference": reference }),
        ))
    };
    let first = spend("1500.00", "p1");
    assert_eq!(first["tier"], "Member");
    let second = spend("600.00", "p2");
    assert_eq!(
        second["tier"], "Member",
        "the bonus is at the tier held before the earn"
    );
    assert_eq!(second["tier_bonus"], "0");
    let t = tier(&api, &dana);
    assert_eq!(
        (t["tier"].as_str(), t["qualifying"].as_str()),
        (Some("Gold"), Some("2100.00"))
    );
    assert_eq!(t["next"], json!({ "name": "Club+", "needed": "2900.00" }));
    let history = t["history"].as_array().unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["tier"], "Gold");
    assert!(
        history[0]["reason"]
            .as_str()
            .unwrap()
            .contains("reached Gold"),
        "{t}"
    );
    // A year after the first purchase the window holds only the second one (600 < 2000).
    assert!(t["expires_at"].as_str().is_some(), "{t}");
    // Now earns carry Gold's 10 %: 50.00 → 100 PAGES + 10.
    let third = spend("50.00", "p3");
    assert_eq!(
        (
            third["tier"].as_str(),
            third["tier_bonus"].as_str(),
            third["points"].as_str()
        ),
        (Some("Gold"), Some("10"), Some("110"))
    );

    // A brand without share_profile sees tier and since only.
    let partner_view = api.get("books", &format!("/v1/members/{dana}/tier")).json();
    assert_eq!(partner_view["tier"], "Gold");
    assert!(
        partner_view.get("qualifying").is_none() && partner_view.get("history").is_none(),
        "{partner_view}"
    );
    // An unlinked brand: 404.
    assert_eq!(
        api.get("aroma", &format!("/v1/members/{dana}/tier")).status,
        404
    );

    // The 1 500.00 purchase is refunded whole: 650.00 left, below Gold's 2 000 — grace begins.
    created(&api.post(
        "books",
        "/v1/reversals",
        &json!({ "entry_id": first["entry_id"], "reference": "refund", "reason": "returned" }),
    ));
    let t = tier(&api, &dana);
    assert_eq!(
        (t["tier"].as_str(), t["qualifying"].as_str()),
        (Some("Gold"), Some("650.00"))
    );
    let grace_ends = t["expires_at"].as_str().unwrap().to_owned();
    // 29 days on: still Gold. 31 days on: Member, by the sweep.
    api.advance_secs(29 * DAY_SECS);
    api.svc.block_on(api.svc.clearing.sweep_tiers()).unwrap();
    assert_eq!(tier(&api, &dana)["tier"], "Gold");
    api.advance_secs(2 * DAY_SECS);
    api.svc.block_on(api.svc.clearing.sweep_tiers()).unwrap();
    let t = tier(&api, &dana);
    assert_eq!(t["tier"], "Member", "{t}");
    let history = t["history"].as_array().unwrap();
    assert_eq!(history[0]["tier"], "Member");
    assert!(
        history[0]["reason"]
            .as_str()
            .unwrap()
            .contains("30 days' grace"),
        "{t}"
    );
    assert!(history[0]["at"].as_str().unwrap() > grace_ends.as_str());
    // Earns are at Member's rate again at once.
    assert_eq!(spend("50.00", "p4")["tier_bonus"], "0");

    // Spend leaving the window: 2 000.00 makes Gold, a year and a day later it has left the
    // window, and 30 days after that the tier goes.
    spend("2000.00", "p5");
    assert_eq!(tier(&api, &dana)["tier"], "Gold");
    api.advance_secs(366 * DAY_SECS);
    api.svc.block_on(api.svc.clearing.sweep_tiers()).unwrap();
    let t = tier(&api, &dana);
    assert_eq!(
        (t["tier"].as_str(), t["qualifying"].as_str()),
        (Some("Gold"), Some("0.00"))
    );
    api.advance_secs(31 * DAY_SECS);
    api.svc.block_on(api.svc.clearing.sweep_tiers()).unwrap();
    assert_eq!(tier(&api, &dana)["tier"], "Member");
    api.verify();
}

/// A Gold member's tier bonus, funded by the network: the member gets it in the earning
/// brand's unit and the network owes that brand its clearing value, with no fee; in the
/// network's own unit it costs nobody a line. A partial refund takes back its share. The
/// settlement accounts equal the test's own sums, to the cent.
#[test]
fn a_network_funded_bonus_settles_to_the_cent() {
    let api = Api::start();
    let dana = api.member("books");
    api.link(&dana, "books", "aroma");
    created(&api.post(
        "books",
        "/v1/earn",
        &json!({ "member_id": dana, "purchase": { "amount": "2000.00", "currency": "ILS" }, "reference": "gold" }),
    ));
    let (network0, aroma0) = (api.settlement("network"), api.settlement("aroma"));

    // At Aroma (1 AROMA per ILS, 0.04 ILS each): 123.45 → 123 points, Gold's 10 % → 12.
    let earn = created(&api.post(
        "aroma",
        "/v1/earn",
        &json!({ "member_id": dana, "purchase": { "amount": "123.45", "currency": "ILS" }, "reference": "a1" }),
    ));
    assert_eq!(
        (earn["points"].as_str(), earn["tier_bonus"].as_str()),
        (Some("135"), Some("12"))
    );
    // The test's own figures: 12 × 0.04 = 0.48 ILS from the network to Aroma.
    let bonus_value_minor = 12 * 4;
    assert_eq!(api.settlement("network") - network0, bonus_value_minor);
    assert_eq!(api.settlement("aroma") - aroma0, -bonus_value_minor);

    // Aroma awards COAL (the network's own unit, 0.05 ILS) for 77.00: 77 × 1 = 77 COAL, owed by
    // Aroma to the network at 3.85 ILS; the bonus of 7 COAL is the network's own: no line.
    let coal = created(&api.post(
        "aroma",
        "/v1/earn",
        &json!({ "member_id": dana, "unit": "COAL", "purchase": { "amount": "77.00", "currency": "ILS" }, "reference": "a2" }),
    ));
    assert_eq!(
        (coal["points"].as_str(), coal["tier_bonus"].as_str()),
        (Some("84"), Some("7"))
    );
    let owed_for_coal = 77 * 5;
    assert_eq!(
        api.settlement("network") - network0,
        bonus_value_minor - owed_for_coal
    );
    assert_eq!(
        api.settlement("aroma") - aroma0,
        -bonus_value_minor + owed_for_coal
    );

    // A refund of 45 of the 135 AROMA points (a third) takes back a third of the bonus's value:
    // 0.16 ILS.
    created(&api.post(
        "aroma",
        "/v1/reversals",
        &json!({ "entry_id": earn["entry_id"], "points": "45", "reference": "refund", "reason": "returned" }),
    ));
    let left = bonus_value_minor - bonus_value_minor / 3;
    assert_eq!(api.settlement("network") - network0, left - owed_for_coal);
    assert_eq!(api.settlement("aroma") - aroma0, -left + owed_for_coal);

    // Settled: the cycle's nets are the same figures (a party's net is what it is owed).
    let finance = api.finance_token(coalition::clearing::tokens::Role::Operator, None);
    let cutoff = coalition::clearing::time::rfc3339(api.svc.clearing.clock().now_us() + 1);
    let settled = api.bearer(
        &finance,
        "POST",
        "/v1/settlements",
        Some(&json!({ "cutoff": cutoff })),
    );
    assert_eq!(settled.status, 201, "{}", settled.body);
    let nets: Vec<(String, String)> = settled.json()["positions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["partner"].as_str().unwrap().to_owned(),
                p["net"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let cents = |minor: i64| {
        format!(
            "{}{}.{:02}",
            if minor < 0 { "-" } else { "" },
            minor.abs() / 100,
            minor.abs() % 100
        )
    };
    // Aroma is owed the bonus left (0.32) and owes the COAL (3.85): −3.53; the network the
    // opposite. The bookstore earned its own points only: no line.
    let aroma_net = left - owed_for_coal;
    assert_eq!(aroma_net, -353);
    let mut want = vec![
        ("aroma".to_owned(), cents(aroma_net)),
        ("network".to_owned(), cents(-aroma_net)),
    ];
    want.sort();
    let mut nets = nets;
    nets.sort();
    assert_eq!(nets, want);
    api.verify();
}

/// What the tier reads and the quote read, and what the sweep pages through, are look-ups by
/// key on both backends, for a member with a long history as for a new one (on PostgreSQL over
/// tables grown and analysed, so the planner has a choice).
#[test]
fn tier_reads_are_by_key() {
    use crate::profile_http::{assert_by_key, statements_of};
    use diesel::connection::SimpleConnection;
    let api = Api::start();
    let busy = api.member("books");
    for i in 0..60 {
        created(&api.post(
            "books",
            "/v1/earn",
            &json!({ "member_id": busy, "purchase": { "amount": "40.00", "currency": "ILS" }, "reference": format!("p{i}") }),
        ));
        if i % 20 == 19 {
            api.advance_secs(DAY_SECS);
        }
    }
    assert_eq!(tier(&api, &busy)["tier"], "Gold");
    let postgres = api.svc.db.is_postgres();
    let mut conn = api.svc.db.raw();
    if postgres {
        conn.batch_execute(
            "INSERT INTO members (id, share_balances, created_at_us, share_profile) \
               SELECT 'm' || g, 0, 0, 0 FROM generate_series(1, 20000) g; \
             INSERT INTO member_links (partner, external_id, member_id, created_at_us, share_balances, share_profile) \
               SELECT 'books', 'x' || g, 'm' || g, 0, 0, 0 FROM generate_series(1, 20000) g; \
             INSERT INTO member_tiers (member_id, tier, tier_rank, since_us) \
               SELECT 'm' || g, 'Member', g % 2, 0 FROM generate_series(1, 20000) g; \
             INSERT INTO tier_changes (member_id, seq, at_us, tier, reason) \
               SELECT 'm' || g, 1, 0, 'Gold', 'r' FROM generate_series(1, 20000) g; \
             INSERT INTO member_profiles \
               SELECT 'm' || g, p, 1, 0, 0, 0, 0, 0 FROM generate_series(1, 20000) g, \
               (VALUES ('aroma'), ('books'), ('threads')) AS partners (p); \
             INSERT INTO member_profile_days \
               SELECT 'm' || g, 'books', d, 1, 100, 0, 0 FROM generate_series(1, 5000) g, \
               generate_series(20000, 20009) d; \
             ANALYZE;",
        )
        .unwrap();
    }
    let statements = statements_of(&mut conn, |c| {
        coalition::store::tiers::read(c, &busy, 0, Some("books")).unwrap();
        coalition::store::tiers::standing(c, &busy, 0, "books").unwrap();
        coalition::store::tiers::above_first(c, "", 200).unwrap();
    });
    assert_eq!(statements.len(), 9, "{statements:#?}");
    assert_by_key(&mut conn, &statements, postgres);
}

/// A paid tier bought at the bookstore's till: the member is Club+ at once whatever their
/// spend, earns carry Club+'s 20 %, the bookstore owes the network the price at settlement;
/// cancelled within 14 days it is refunded by a reversing entry and the member falls back at
/// once. Bought again, it runs its year; cancelled after 14 days, nothing is refunded and it
/// runs to its end, then ends.
#[test]
fn a_paid_tier_bought_used_and_refunded() {
    let api = Api::start();
    let dana = api.member("books");
    let buy = |reference: &str| {
        api.post(
            "books",
            &format!("/v1/members/{dana}/subscriptions"),
            &json!({ "tier": "Club+", "reference": reference }),
        )
    };
    let (books0, network0) = (api.settlement("books"), api.settlement("network"));
    let fees = || {
        let account = coalition::ledger::Account::NetworkFees {
            currency: "ILS".parse().unwrap(),
        };
        api.svc
            .block_on(api.svc.clearing.balance(&account))
            .unwrap()
            .minor()
    };
    let bought = created(&buy("club-1"));
    assert_eq!(
        (
            bought["tier"].as_str(),
            bought["price"].as_str(),
            bought["status"].as_str()
        ),
        (Some("Club+"), Some("99.00"), Some("active"))
    );
    assert_eq!(bought["receipt"]["kind"], "subscription");
    // The bookstore collected 99.00 and owes it to the network's fee income.
    assert_eq!(api.settlement("books") - books0, 9_900);
    assert_eq!(fees(), -9_900);
    assert_eq!(api.settlement("network"), network0);
    let t = tier(&api, &dana);
    assert_eq!(
        (t["tier"].as_str(), t["qualifying"].as_str()),
        (Some("Club+"), Some("0.00")),
        "{t}"
    );
    assert_eq!(t["paid_until"], bought["ends_at"]);
    assert_eq!(t["expires_at"], bought["ends_at"]);
    assert!(
        t["history"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("paid Club+"),
        "{t}"
    );
    // Used: 10.00 at the bookstore → 20 PAGES + Club+'s 20 % = 4; the price is not qualifying.
    let earn = created(&api.post(
        "books",
        "/v1/earn",
        &json!({ "member_id": dana, "purchase": { "amount": "10.00", "currency": "ILS" }, "reference": "e1" }),
    ));
    assert_eq!(
        (
            earn["tier"].as_str(),
            earn["tier_bonus"].as_str(),
            earn["points"].as_str()
        ),
        (Some("Club+"), Some("4"), Some("24"))
    );
    assert_eq!(tier(&api, &dana)["qualifying"], "10.00");
    // Another brand cannot cancel it; the seller can, within 14 days, for all of it back.
    let id = bought["subscription_id"].as_str().unwrap().to_owned();
    let cancel = |partner: &str| {
        api.post(
            partner,
            &format!("/v1/subscriptions/{id}/cancel"),
            &json!({}),
        )
    };
    assert_eq!(cancel("aroma").status, 404);
    api.advance_secs(13 * DAY_SECS);
    let cancelled = cancel("books");
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    let cancelled = cancelled.json();
    assert_eq!(cancelled["status"], "refunded");
    assert_eq!(cancelled["receipt"]["kind"], "reversal");
    assert_eq!(
        cancelled["receipt"]["reverses"],
        bought["receipt"]["entry_id"]
    );
    // Left: the network owes the bookstore the earn's bonus, 4 PAGES at 0.05.
    assert_eq!(api.settlement("books") - books0, -20);
    assert_eq!(fees(), 0);
    let t = tier(&api, &dana);
    assert_eq!(t["tier"], "Member", "{t}");
    assert!(
        t["history"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("paid Club+ ended"),
        "{t}"
    );
    // Her history and her export say what happened; the export holds the tier and the purchase.
    let token = api.scoped_token("books", &dana, &["entries", "export", "profile"]);
    let history = api.bearer(&token, "GET", "/v1/me/entries", None).json();
    let reasons: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["reason"].as_str())
        .collect();
    assert!(
        reasons.contains(&"Paid tier bought at Tel Aviv Books"),
        "{reasons:?}"
    );
    assert!(reasons.contains(&"Refund at Tel Aviv Books"), "{reasons:?}");
    let export = api.bearer(&token, "GET", "/v1/me/export", None);
    assert_eq!(export.status, 200, "{}", export.body);
    let export = export.json();
    assert_eq!(export["tier"]["tier"], "Member");
    assert_eq!(export["tier"]["history"].as_array().unwrap().len(), 2);
    assert_eq!(export["subscriptions"][0]["status"], "refunded");
    assert_eq!(export["subscriptions"][0]["tier"], "Club+");
    // Cancelling again answers the same and posts nothing.
    let entries = api.entry_count();
    assert_eq!(cancel("books").json()["status"], "refunded");
    assert_eq!(api.entry_count(), entries);

    // Bought again and kept past 14 days: a cancellation refunds nothing, the tier runs on.
    let again = created(&buy("club-2"));
    api.advance_secs(15 * DAY_SECS);
    let late = cancel_of(&api, &again);
    assert_eq!(
        (late["status"].as_str(), late.get("receipt")),
        (Some("cancelled"), None)
    );
    assert_eq!(api.settlement("books") - books0, 9_900 - 20);
    assert_eq!(tier(&api, &dana)["tier"], "Club+");
    // At its end the sweep takes it away (spend 10.00: Member).
    api.advance_secs(351 * DAY_SECS);
    api.svc.block_on(api.svc.clearing.sweep_tiers()).unwrap();
    assert_eq!(tier(&api, &dana)["tier"], "Member");
    // Not for sale: a tier without a price; an unknown tier.
    for (tier_name, words) in [("Gold", "not sold"), ("Platinum", "no tier Platinum")] {
        let r = api.post(
            "books",
            &format!("/v1/members/{dana}/subscriptions"),
            &json!({ "tier": tier_name, "reference": "x" }),
        );
        assert_eq!(
            (r.status, r.code()),
            (422, "invalid_request".to_owned()),
            "{}",
            r.body
        );
        assert!(r.body.contains(words), "{}", r.body);
    }
    // A member not linked to the seller: 404.
    let stranger = api.member("aroma");
    let r = api.post(
        "books",
        &format!("/v1/members/{stranger}/subscriptions"),
        &json!({ "tier": "Club+", "reference": "x" }),
    );
    assert_eq!(r.status, 404, "{}", r.body);
    api.verify();
}

fn cancel_of(api: &Api, bought: &Value) -> Value {
    let id = bought["subscription_id"].as_str().unwrap();
    let r = api.post(
        "books",
        &format!("/v1/subscriptions/{id}/cancel"),
        &json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

/// The console's entries, searched by member, show the member's tier (the network's finance
/// team: everything; a partner's user: tier and since only, unless the member shares their
/// profile with it) and each earn's rules.
#[test]
fn the_console_shows_a_members_tier_and_an_earns_rules() {
    use crate::common::pages::{browse, signed_in};
    use coalition::clearing::tokens::Role;
    let api = Api::start();
    let dana = api.member("books");
    created(&api.post(
        "books",
        "/v1/earn",
        &json!({ "member_id": dana, "purchase": { "amount": "2100.00", "currency": "ILS",
            "lines": [{ "category": "kids", "amount": "100.00" }, { "category": "books", "amount": "2000.00" }] }, "reference": "big" }),
    ));
    let page = |role: Role, partner: Option<&str>| {
        let (cookie, _) = signed_in(&api, &api.finance_token(role, partner));
        let r = browse(
            &api,
            "GET",
            &format!("/console/entries?member={dana}"),
            &[("cookie", cookie)],
            None,
        );
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    };
    let network = page(Role::Finance, None);
    assert!(network.contains("tier: <strong>Gold</strong>"), "{network}");
    assert!(
        network.contains("qualifying spend 2,100.00 ILS"),
        "{network}"
    );
    assert!(network.contains("Club+: 2,900.00 ILS to go"), "{network}");
    assert!(network.contains("<span>base 4,200</span>"), "{network}");
    let books = page(Role::Finance, Some("books"));
    assert!(books.contains("<strong>Gold</strong>"), "{books}");
    assert!(
        !books.contains("qualifying spend"),
        "no share_profile: {books}"
    );
}

/// The writer remembers members' standings between earns; a job that posted a purchase and was
/// then refused leaves the remembered qualifying spend as it was, and one that succeeds adds to
/// it — the same figure the database gives when nothing is remembered.
#[test]
fn a_refused_jobs_spend_leaves_the_writers_standing_as_it_was() {
    use coalition::clearing::{ClearingError, rules};
    use coalition::ledger::{Amount, EntryKind, EntryMeta, MemberId, PartnerId, Scale};
    use coalition::store::tiers;
    let svc = crate::common::TestService::start();
    let store = svc.clearing.store().clone();
    let member = MemberId::random();
    let id = member.to_string();
    let from = coalition::store::profiles::day_of(svc.clearing.clock().now_us()) - 364;
    let remembered = |store: &std::sync::Arc<coalition::store::Store>| {
        let id = id.clone();
        store
            .write_blocking(move |tx| tiers::standing_tx(tx, &id, from).map(|(_, q)| q))
            .unwrap()
    };
    assert_eq!(remembered(&store), 0);
    let purchase = |refuse: bool| {
        let (network, units) = (svc.clearing.network().clone(), svc.clearing.units().clone());
        let id = id.clone();
        store.write_blocking(move |tx| -> Result<i64, ClearingError> {
            let aroma: PartnerId = "aroma".parse().unwrap();
            let mut meta = EntryMeta::new(EntryKind::Earn);
            meta.partner = Some(aroma.clone());
            meta.member = Some(member);
            meta.memo =
                Some(json!({ "purchase": { "amount": "100.00", "currency": "ILS" } }).to_string());
            let points = Amount::from_minor(100, Scale::new(0).unwrap());
            let draft = rules::earn(
                &network,
                &aroma,
                member,
                &"AROMA".parse().unwrap(),
                points,
                meta,
            )?;
            tx.post(draft.balance(&units)?)?;
            let (_, q) = tiers::standing_tx(tx, &id, from)?;
            if refuse {
                return Err(ClearingError::AmountTooLarge);
            }
            Ok(q)
        })
    };
    assert!(purchase(true).is_err());
    assert_eq!(
        remembered(&store),
        0,
        "the refused purchase is not remembered"
    );
    assert_eq!(purchase(false).unwrap(), 10_000);
    assert_eq!(remembered(&store), 10_000);
    // The database agrees when asked afresh.
    let mut conn = svc.db.raw();
    assert_eq!(tiers::qualifying(&mut conn, &id, from).unwrap(), 10_000);
}
