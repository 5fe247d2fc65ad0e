//! Points expiry by lot and by inactivity (the clock moved, the service's own sweep posting),
//! the issuer undoing an expiry, and the liability report against the trial balance.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::Api;
use coalition::clearing::tokens::Role;

const DAY_SECS: u32 = 86_400;

/// Waits for the sweep (every second, at most once a minute of the service's clock) to leave
/// `member` holding `want` at `partner`.
fn wait_for_balance(api: &Api, partner: &str, member: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = api.balance(partner, member);
        if now == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "balance stayed {now}, wanted {want}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn expiries(api: &Api, partner: &str, member: &str) -> Vec<Value> {
    let r = api.get(
        partner,
        &format!("/v1/entries?kind=points_expiry&member_id={member}"),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["items"].as_array().unwrap().clone()
}

fn spend(api: &Api, partner: &str, unit: &str, member: &str, points: &str) -> Value {
    let r = api.post(
        partner,
        "/v1/redemptions",
        &json!({ "member_id": member, "unit": unit, "points": points, "reference": "spend" }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()
}

fn wallet(api: &Api, partner: &str, member: &str) -> Value {
    let token = api.member_token(partner, member);
    let r = api.bearer(&token, "GET", "/v1/me/wallet", None);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

/// Months of 31 days: past any calendar month count the policy adds.
fn months(n: u32) -> u32 {
    n * 31 * DAY_SECS
}

#[test]
fn points_expire_by_lot_oldest_first_and_the_issuer_can_undo_it() {
    let api = Api::start();
    let member = api.member("threads");
    // STYLE: each earn expires 24 months after it was earned.
    api.earn("threads", &member, "100");
    api.advance_secs(months(12));
    api.earn("threads", &member, "50");
    // Spending takes the oldest lot first: 30 of the first 100.
    spend(&api, "threads", "STYLE", &member, "30");
    // A hold and its void take and give back the same points: the lots are as they were.
    let held = api.post(
        "threads",
        "/v1/redemptions",
        &json!({ "member_id": member, "unit": "STYLE", "points": "80", "reference": "h", "capture": false }),
    );
    assert_eq!(held.status, 201, "{}", held.body);
    let id = held.json()["entry_id"].as_str().unwrap().to_owned();
    let void = api.post("threads", &format!("/v1/redemptions/{id}/void"), &json!({}));
    assert_eq!(void.status, 200, "{}", void.body);
    // So do a captured hold and its refund: the 40 come back to the oldest lot, not as new.
    let held = api.post(
        "threads",
        "/v1/redemptions",
        &json!({ "member_id": member, "unit": "STYLE", "points": "40", "reference": "h2", "capture": false }),
    );
    let id = held.json()["entry_id"].as_str().unwrap().to_owned();
    let captured = api.post(
        "threads",
        &format!("/v1/redemptions/{id}/capture"),
        &json!({}),
    );
    assert_eq!(captured.status, 200, "{}", captured.body);
    let refund = api.post(
        "threads",
        "/v1/reversals",
        &json!({ "entry_id": captured.json()["entry_id"], "reference": "r2", "reason": "returned" }),
    );
    assert_eq!(refund.status, 201, "{}", refund.body);
    let w = wallet(&api, "threads", &member);
    let expiring = &w["balances"][0]["expiring"];
    assert_eq!(
        expiring.as_array().unwrap().len(),
        2,
        "two lots, two dates: {w}"
    );
    assert_eq!(expiring[0]["points"], "70");
    assert_eq!(expiring[1]["points"], "50");

    // Twelve months on (24 after the first earn), the first lot's 70 expire; the second's
    // 50 stay.
    api.advance_secs(months(12));
    wait_for_balance(&api, "threads", &member, "50");
    let list = expiries(&api, "threads", &member);
    assert_eq!(list.len(), 1, "{list:?}");
    let expiry = &list[0];
    assert_eq!(expiry["kind"], "points_expiry");
    api.verify();

    // Another brand cannot undo it; its issuer can, within 90 days, and the points come back
    // to the lot they expired from, whose clock starts again.
    let undo = |partner: &str, points: Option<&str>| {
        let mut body = json!({ "entry_id": expiry["entry_id"], "reference": "goodwill", "reason": "member was abroad" });
        if let Some(p) = points {
            body["points"] = json!(p);
        }
        api.post(partner, "/v1/reversals", &body)
    };
    assert_eq!(undo("aroma", None).status, 404);
    let part = undo("threads", Some("20"));
    assert_eq!(part.status, 201, "{}", part.body);
    assert_eq!(part.json()["reverses"], expiry["entry_id"]);
    assert_eq!(api.balance("threads", &member), "70");
    let too_much = undo("threads", Some("51"));
    assert_eq!(
        (too_much.status, too_much.code().as_str()),
        (422, "invalid_amount")
    );
    assert_eq!(undo("threads", None).status, 201);
    assert_eq!(api.balance("threads", &member), "120");
    let again = undo("threads", None);
    assert_eq!(
        (again.status, again.code().as_str()),
        (422, "not_reversible")
    );
    // The next sweeps leave the restored points alone.
    api.advance_secs(120);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(api.balance("threads", &member), "120");
    api.verify();

    // The second lot expires on its own date; 91 days later its expiry can no longer be undone.
    api.advance_secs(months(12));
    wait_for_balance(&api, "threads", &member, "70");
    let list = expiries(&api, "threads", &member);
    assert_eq!(list.len(), 2, "{list:?}");
    api.advance_secs(91 * DAY_SECS);
    let late = api.post(
        "threads",
        "/v1/reversals",
        &json!({ "entry_id": list[1]["entry_id"], "reference": "late", "reason": "too late" }),
    );
    assert_eq!(
        (late.status, late.code().as_str()),
        (422, "not_reversible"),
        "{}",
        late.body
    );
    api.verify();
}

#[test]
fn inactivity_expires_every_point_only_after_months_without_an_earn_or_a_spend() {
    let api = Api::start();
    let member = api.member("fuelup");
    // FUEL: everything expires after 12 months without activity at any brand.
    api.earn("fuelup", &member, "40.0");
    api.advance_secs(months(11));
    spend(&api, "fuelup", "FUEL", &member, "5.0");
    api.advance_secs(months(11));
    // Twenty-two months after the earn, but eleven after the spend: nothing expires.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(api.balance("fuelup", &member), "35.0");
    let w = wallet(&api, "fuelup", &member);
    assert_eq!(w["balances"][0]["expiring"][0]["points"], "35.0");
    // The wallet page says it too, in the member's words.
    let token = api.scoped_token("fuelup", &member, &["wallet"]);
    let cookie = crate::wallet_http::opened(&api, &token);
    let page = crate::common::pages::browse(&api, "GET", "/wallet", &[("cookie", cookie)], None);
    assert!(
        page.body
            .contains("<p class=\"expiring\">Expiring FUEL: 35.0 on "),
        "{}",
        page.body
    );
    api.advance_secs(months(2));
    wait_for_balance(&api, "fuelup", &member, "0.0");
    let list = expiries(&api, "fuelup", &member);
    assert_eq!(list.len(), 1);
    api.verify();
}

#[test]
fn the_liability_report_reconciles_with_the_trial_balance() {
    let api = Api::start();
    let member = api.member("threads");
    api.earn("threads", &member, "100");
    spend(&api, "threads", "STYLE", &member, "40");
    api.advance_secs(months(25));
    wait_for_balance(&api, "threads", &member, "0");
    let other = api.member("aroma");
    api.earn("aroma", &other, "30");

    let token = api.finance_token(Role::Finance, None);
    let report = api.bearer(&token, "GET", "/v1/ledger/liability", None);
    assert_eq!(report.status, 200, "{}", report.body);
    let report = report.json();
    let trial = api
        .bearer(&token, "GET", "/v1/ledger/trial-balance", None)
        .json();
    // Every issuer account of the trial balance is a line, with the same figure.
    let issuer_accounts: Vec<&Value> = trial["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["account"].as_str().unwrap().starts_with("issuer:"))
        .collect();
    let lines = report["issuers"].as_array().unwrap();
    // Every configured point unit has a line; one whose issuer never issued has none out.
    assert_eq!(lines.len(), 5, "{report}");
    for l in lines {
        let name = format!(
            "issuer:{}:{}",
            l["issuer"].as_str().unwrap(),
            l["unit"].as_str().unwrap()
        );
        if !issuer_accounts
            .iter()
            .any(|a| a["account"] == name.as_str())
        {
            assert!(
                l["outstanding"]
                    .as_str()
                    .unwrap()
                    .chars()
                    .all(|c| c == '0' || c == '.'),
                "{l}"
            );
        }
    }
    for a in issuer_accounts {
        let name = a["account"].as_str().unwrap();
        let line = lines
            .iter()
            .find(|l| {
                format!(
                    "issuer:{}:{}",
                    l["issuer"].as_str().unwrap(),
                    l["unit"].as_str().unwrap()
                ) == name
            })
            .unwrap_or_else(|| panic!("no line for {name}: {report}"));
        assert_eq!(line["outstanding"], a["balance"], "{name}");
    }
    let line = |unit: &str| lines.iter().find(|l| l["unit"] == unit).unwrap().clone();
    let style = line("STYLE");
    // 100 earned 25 months ago is outside the trailing year; the expiry is inside it.
    assert_eq!(
        (
            &style["outstanding"],
            &style["earned"],
            &style["redeemed"],
            &style["expired"]
        ),
        (&json!("0"), &json!("0"), &json!("0"), &json!("60"))
    );
    assert_eq!(style["breakage_rate"], "1");
    let aroma = line("AROMA");
    assert_eq!(
        (&aroma["outstanding"], &aroma["value"], &aroma["earned"]),
        (&json!("30"), &json!("1.20"), &json!("30"))
    );
    assert_eq!(aroma["breakage_rate"], Value::Null);

    // As at today's midnight: the figures of every day before it.
    let midnight = api.now_secs() / 86_400 * 86_400;
    let at = jiff::Timestamp::from_second(midnight).unwrap().to_string();
    let past = api
        .bearer(
            &token,
            "GET",
            &format!("/v1/ledger/liability?at={at}"),
            None,
        )
        .json();
    let past_aroma = past["issuers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["unit"] == "AROMA")
        .unwrap()
        .clone();
    assert_eq!(past_aroma["outstanding"], "0", "{past}");
    let bad = api.bearer(
        &token,
        "GET",
        "/v1/ledger/liability?at=2026-01-01T10:00:00Z",
        None,
    );
    assert_eq!((bad.status, bad.code().as_str()), (400, "invalid_query"));

    // A partner's finance user sees its own unit only.
    let own = api.finance_token(Role::Finance, Some("aroma"));
    let mine = api.bearer(&own, "GET", "/v1/ledger/liability", None).json();
    let units: Vec<&str> = mine["issuers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["unit"].as_str().unwrap())
        .collect();
    assert_eq!(units, vec!["AROMA"]);
    api.verify();
}

/// `/console/liability`: the report as a table with a bar per issuer, its own for a partner's
/// finance user, in both languages; a date in the future is refused in words.
#[test]
fn the_console_shows_the_liability_report() {
    use crate::common::pages::{browse, signed_in};
    let api = Api::start();
    let member = api.member("aroma");
    api.earn("aroma", &member, "1250");
    let (cookie, _) = signed_in(&api, &api.finance_token(Role::Finance, None));
    let page = browse(
        &api,
        "GET",
        "/console/liability",
        &[("cookie", cookie.clone())],
        None,
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("<td>aroma</td><td>AROMA</td><td class=\"num\">1,250</td><td class=\"num\">50.00 ILS</td><td class=\"num\">1,250</td>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("<svg class=\"chart\""), "{}", page.body);
    let future = browse(
        &api,
        "GET",
        "/console/liability?date=2999-01-01&lang=he",
        &[("cookie", cookie)],
        None,
    );
    assert!(future.body.contains("dir=\"rtl\""), "{}", future.body);
    assert!(future.body.contains("role=\"alert\""), "{}", future.body);
    let (own, _) = signed_in(&api, &api.finance_token(Role::Finance, Some("books")));
    let theirs = browse(&api, "GET", "/console/liability", &[("cookie", own)], None);
    assert!(!theirs.body.contains("<td>aroma</td>"), "{}", theirs.body);
}

/// What the wallet and the liability report read is read by key, however many lots, members
/// and days there are (the plans checked on both databases, as for the profile).
#[test]
fn expiry_and_liability_reads_are_by_key() {
    use crate::profile_http::{assert_by_key, statements_of};
    use diesel::connection::SimpleConnection;
    let api = Api::start();
    let member = api.member("threads");
    for _ in 0..3 {
        api.earn("threads", &member, "10");
    }
    let postgres = api.svc.db.is_postgres();
    let mut conn = api.svc.db.raw();
    if postgres {
        conn.batch_execute(
            "INSERT INTO accounts SELECT 'member:m' || g || ':STYLE', 'member', 'STYLE', -5 \
               FROM generate_series(1, 20000) g; \
             INSERT INTO lots SELECT 'member:m' || g || ':STYLE', g, 'm' || g, 'STYLE', 0, 0, 5, g % 2 \
               FROM generate_series(1, 20000) g; \
             INSERT INTO member_activity SELECT 'm' || g, g FROM generate_series(1, 20000) g; \
             INSERT INTO issuer_days SELECT 'issuer:p' || a || ':U' || a, 'U' || a, d, 1, 0, 0, 1 \
               FROM generate_series(1, 40) a, generate_series(1, 5000) d; \
             INSERT INTO issuer_days SELECT 'issuer:threads:STYLE', 'STYLE', d, 1, 0, 0, 1 \
               FROM generate_series(1, 5000) d; \
             ANALYZE;",
        )
        .unwrap();
    }
    let names = vec![("issuer:threads:STYLE".to_string(), "STYLE".to_string())];
    let statements = statements_of(&mut conn, |c| {
        coalition::store::lots::member_open_lots(c, &member).unwrap();
        coalition::store::lots::last_active_us(c, &member).unwrap();
        coalition::store::liability::report(c, &names, 4000, Some(4500)).unwrap();
    });
    assert_eq!(statements.len(), 4, "{statements:#?}");
    assert_by_key(&mut conn, &statements, postgres);
}

/// The `points.expiring` events `rx` received, as their `data`.
fn notices(rx: &crate::common::receiver::Receiver) -> Vec<Value> {
    rx.delivered()
        .iter()
        .map(|r| r.json())
        .filter(|b| b["type"] == "points.expiring")
        .map(|b| b["data"].clone())
        .collect()
}

#[test]
fn issuers_hear_notice_days_ahead_once_per_member_and_day() {
    use crate::common::receiver::Receiver;
    let api = Api::start();
    let (threads_rx, fuel_rx) = (Receiver::start(&[]), Receiver::start(&[]));
    for (partner, rx) in [("threads", &threads_rx), ("fuelup", &fuel_rx)] {
        let r = api.signed(
            partner,
            "PUT",
            "/v1/webhooks",
            Some(&json!({ "url": rx.url(), "events": ["points.expiring"] }).to_string()),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let styled = api.member("threads");
    let fueled = api.member("fuelup");
    let earned_at = api.now_secs();
    api.earn("threads", &styled, "100");
    api.earn("fuelup", &fueled, "50.0");
    // Well before the notice window of either: nothing.
    api.advance_secs(300 * DAY_SECS);
    std::thread::sleep(Duration::from_millis(2_500));
    assert!(notices(&fuel_rx).is_empty() && notices(&threads_rx).is_empty());
    // FUEL (12 months of inactivity, 30 days' notice): 20 days before the end, its issuer hears.
    api.advance_secs(45 * DAY_SECS);
    fuel_rx.wait_delivered(1);
    let n = notices(&fuel_rx);
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(n[0]["member_id"], fueled.as_str());
    assert_eq!(
        (n[0]["unit"].as_str(), n[0]["points"].as_str()),
        (Some("FUEL"), Some("50.0"))
    );
    assert_eq!(n[0]["policy"], "inactivity");
    let at =
        coalition::clearing::time::parse_rfc3339(n[0]["expires_at"].as_str().unwrap()).unwrap();
    let days_after_earn = (at / 1_000_000 - earned_at) / i64::from(DAY_SECS);
    assert!((365..=366).contains(&days_after_earn), "{days_after_earn}");
    assert!(
        notices(&threads_rx).is_empty(),
        "STYLE is not due for notice yet"
    );
    // Sweeps later the same day and the next do not send it again.
    api.advance_secs(DAY_SECS);
    std::thread::sleep(Duration::from_millis(2_500));
    assert_eq!(notices(&fuel_rx).len(), 1);
    // STYLE (fixed, 24 months): its issuer hears 30 days or less before, once (day 711 of 731).
    api.advance_secs(365 * DAY_SECS);
    threads_rx.wait_delivered(1);
    api.advance_secs(DAY_SECS);
    std::thread::sleep(Duration::from_millis(2_500));
    let n = notices(&threads_rx);
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(
        (n[0]["member_id"].as_str(), n[0]["points"].as_str()),
        (Some(styled.as_str()), Some("100"))
    );
    assert_eq!(n[0]["policy"], "fixed");
    // Nobody else heard of either member.
    assert_eq!(notices(&fuel_rx).len(), 1);
}

#[test]
fn the_operator_undoes_an_expiry_of_a_network_unit_and_nobody_else_can() {
    let api = Api::with(
        coalition::clearing::DEFAULT_HOLD_TTL_SECS,
        coalition::api::ServerOptions::default(),
        |dir| {
            let path = dir.join("network.toml");
            let text = std::fs::read_to_string(&path).unwrap().replacen(
                "value = \"0.05\"",
                "value = \"0.05\"\nexpiry = { kind = \"fixed\", months = 12, notice_days = 30 }",
                1,
            );
            std::fs::write(&path, text).unwrap();
        },
    );
    let member = api.member("books");
    let r = api.post(
        "books",
        "/v1/earn",
        &json!({ "member_id": member, "unit": "COAL", "points": "40", "reference": "c" }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    api.advance_secs(months(13));
    // The sweep expires the 40 COAL; the entry names no partner (the network issued them).
    let token = api.member_token("books", &member);
    let deadline = Instant::now() + Duration::from_secs(20);
    let expiry = loop {
        let mine = api.bearer(&token, "GET", "/v1/me/entries", None).json();
        if let Some(e) = mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "points_expiry")
        {
            break e["entry_id"].as_str().unwrap().to_owned();
        }
        assert!(Instant::now() < deadline, "COAL never expired: {mine}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let body =
        json!({ "entry_id": expiry, "reference": "goodwill", "reason": "member complained" });
    let as_bearer = |token: &str, key: &str| {
        crate::common::send(
            "POST",
            &api.url("/v1/reversals"),
            &[
                ("authorization", format!("Bearer {token}")),
                ("content-type", "application/json".to_owned()),
                ("idempotency-key", key.to_owned()),
            ],
            Some(body.to_string().as_bytes()),
        )
    };
    // Not a partner's to undo, nor a finance user's.
    assert_eq!(
        api.post("books", "/v1/reversals", &body).code(),
        "not_found"
    );
    let finance = api.finance_token(Role::Finance, None);
    assert_eq!(as_bearer(&finance, "f1").code(), "forbidden");
    // The operator undoes it: the 40 COAL are back, their lot's clock starts again.
    let operator = api.finance_token(Role::Operator, None);
    let undone = as_bearer(&operator, "o1");
    assert_eq!(undone.status, 201, "{}", undone.body);
    assert_eq!(undone.json()["kind"], "reversal");
    assert_eq!(undone.json()["reverses"], expiry.as_str());
    assert_eq!(
        as_bearer(&operator, "o1").status,
        201,
        "the same key answers the same"
    );
    assert_eq!(as_bearer(&operator, "o2").code(), "not_reversible");
    let coal = wallet(&api, "books", &member)["balances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["unit"] == "COAL")
        .cloned()
        .unwrap();
    assert_eq!(coal["balance"], "40", "{coal}");
    api.verify();
}
