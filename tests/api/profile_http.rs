//! The behaviour profile over real HTTP: a two-brand member's rows against the figures of what
//! they did, consent switched per brand, the rebuild agreeing with the live aggregates after
//! random traffic, and the read's query plans.

use serde_json::{Value, json};

use crate::common::{Api, Resp};

fn created(r: &Resp) -> Value {
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()
}

/// A capture or void of a hold: 200, it changes an entry that exists.
fn done(r: &Resp) -> Value {
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

fn purchase(api: &Api, partner: &str, member: &str, amount: &str) -> Value {
    created(&api.post(
        partner,
        "/v1/earn",
        &json!({ "member_id": member, "purchase": { "amount": amount, "currency": "ILS" }, "reference": "till" }),
    ))
}

fn redeem(api: &Api, partner: &str, body: Value) -> Resp {
    api.post(partner, "/v1/redemptions", &body)
}

/// A brand's row of a profile body.
fn row<'a>(profile: &'a Value, partner: &str) -> &'a Value {
    profile["brands"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["partner"] == partner)
        .unwrap_or_else(|| panic!("no {partner} row: {profile}"))
}

fn figures(b: &Value) -> (i64, &str, &str, &str) {
    (
        b["visits"].as_i64().unwrap(),
        b["spend"].as_str().unwrap(),
        b["earned"].as_str().unwrap(),
        b["redeemed"].as_str().unwrap(),
    )
}

/// Dana shops at Aroma (AROMA 0.04 ILS, 1 point per ILS) and the bookstore (PAGES 0.05 ILS,
/// 2 points per ILS): every figure of her profile is what she did, valued when she did it.
#[test]
fn a_two_brand_members_profile_is_what_they_did() {
    let api = Api::start();
    let dana = api.member("aroma");
    api.link(&dana, "aroma", "books");

    // Aroma: 120.00 ILS of coffee (120 AROMA, 4.80 ILS), 30 bonus points (1.20), 50 redeemed
    // (2.00), and 40 of the 120 refunded (a third of 4.80 and of 120.00 back).
    let first = purchase(&api, "aroma", &dana, "120.00");
    api.earn("aroma", &dana, "30");
    created(&redeem(
        &api,
        "aroma",
        json!({ "member_id": dana, "unit": "AROMA", "points": "50", "reference": "r1" }),
    ));
    created(&api.post(
        "aroma",
        "/v1/reversals",
        &json!({ "entry_id": first["entry_id"], "points": "40", "reference": "refund", "reason": "returned a mug" }),
    ));

    // The bookstore: 10.00 ILS of books (20 PAGES, 1.00), a hold of 10 PAGES captured at 6
    // (0.30; the hold alone is no visit), and 25 AROMA spent there under Dana's authorisation
    // (1.00 ILS of AROMA redeemed at the bookstore).
    purchase(&api, "books", &dana, "10.00");
    let hold = created(&redeem(
        &api,
        "books",
        json!({ "member_id": dana, "unit": "PAGES", "points": "10", "reference": "h", "capture": false }),
    ));
    let id = hold["entry_id"].as_str().unwrap();
    done(&api.post(
        "books",
        &format!("/v1/redemptions/{id}/capture"),
        &json!({ "points": "6" }),
    ));
    let aroma_token = api.scoped_token("aroma", &dana, &["authorizations", "profile"]);
    let auth = created(&api.bearer(
        &aroma_token,
        "POST",
        "/v1/me/authorizations",
        Some(&json!({ "partner": "books", "unit": "AROMA", "max_points": "25" })),
    ));
    created(&redeem(
        &api,
        "books",
        json!({ "member_id": dana, "unit": "AROMA", "points": "25", "reference": "x", "authorization": auth["code"] }),
    ));

    let mine = api.bearer(&aroma_token, "GET", "/v1/me/profile", None);
    assert_eq!(mine.status, 200, "{}", mine.body);
    let mine = mine.json();
    assert_eq!(mine["member_id"], dana.as_str());
    assert_eq!(mine["currency"], "ILS");
    assert!(mine["card_number"].as_str().unwrap().starts_with("6001"));
    assert_eq!(
        figures(row(&mine, "aroma")),
        (3, "80.00", "4.40", "2.00"),
        "{mine}"
    );
    assert_eq!(
        figures(row(&mine, "books")),
        (3, "10.00", "1.00", "1.30"),
        "{mine}"
    );
    assert_eq!(
        mine["totals"],
        json!({ "visits": 6, "brands_used": 2, "spend": "90.00", "earned_value": "5.40", "redeemed_value": "3.30" })
    );
    assert_eq!(mine["last_seen_at"], row(&mine, "books")["last_seen_at"]);
    assert!(mine["tier"].is_null());

    // A token without the scope reads nothing.
    let wallet_only = api.scoped_token("aroma", &dana, &["wallet"]);
    let refused = api.bearer(&wallet_only, "GET", "/v1/me/profile", None);
    assert_eq!(
        (refused.status, refused.code().as_str()),
        (403, "forbidden")
    );
    api.verify();
}

/// What each brand sees of the profile follows that brand's link: its own row always, the rest
/// and the totals only while the member shares; an unlinked brand gets 404, by id or by card.
#[test]
fn consent_per_brand_decides_what_a_brand_sees_of_the_profile() {
    let api = Api::start();
    let dana = api.member("aroma");
    api.link(&dana, "aroma", "books");
    purchase(&api, "aroma", &dana, "50.00");
    purchase(&api, "books", &dana, "20.00");
    let card = api
        .bearer(
            &api.scoped_token("aroma", &dana, &["wallet"]),
            "GET",
            "/v1/me/wallet",
            None,
        )
        .json()["card_number"]
        .as_str()
        .unwrap()
        .to_owned();

    let seen_by = |partner: &str, by: &str| -> Value {
        let r = api.get(partner, &format!("/v1/members/{by}/profile"));
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()
    };
    let partners = |p: &Value| -> Vec<String> {
        p["brands"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["partner"].as_str().unwrap().to_owned())
            .collect()
    };
    // Nothing shared: the bookstore sees its own row, no totals, when Dana joined it.
    let books_view = seen_by("books", &dana);
    assert_eq!(partners(&books_view), ["books"]);
    assert!(books_view["totals"].is_null(), "{books_view}");
    assert_eq!(figures(row(&books_view, "books")).1, "20.00");
    assert_eq!(partners(&seen_by("books", &card)), ["books"], "by card too");

    // Dana shares her profile with the bookstore only (asked in Aroma's app).
    let consent = api.scoped_token("aroma", &dana, &["consent", "links"]);
    let on = api.bearer(
        &consent,
        "PUT",
        "/v1/me/links/books",
        Some(&json!({ "share_profile": true })),
    );
    assert_eq!(on.status, 200, "{}", on.body);
    let shared = seen_by("books", &dana);
    assert_eq!(partners(&shared), ["aroma", "books"]);
    assert_eq!(shared["totals"]["spend"], "70.00");
    assert_eq!(shared["totals"]["brands_used"], 2);
    // Aroma's link did not change: it still sees only its own row.
    assert_eq!(partners(&seen_by("aroma", &dana)), ["aroma"]);
    // Aroma's own token cannot widen Aroma's view.
    let widen = api.bearer(
        &consent,
        "PUT",
        "/v1/me/links/aroma",
        Some(&json!({ "share_profile": true })),
    );
    assert_eq!((widen.status, widen.code().as_str()), (403, "forbidden"));
    assert_eq!(partners(&seen_by("aroma", &dana)), ["aroma"]);

    // Switched off again: back to the bookstore's own row.
    let off = api.bearer(
        &consent,
        "PUT",
        "/v1/me/links/books",
        Some(&json!({ "share_profile": false })),
    );
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(partners(&seen_by("books", &dana)), ["books"]);

    // A brand Dana never joined: as for a member that does not exist, by id and by card.
    for by in [dana.as_str(), card.as_str()] {
        let r = api.get("threads", &format!("/v1/members/{by}/profile"));
        assert_eq!((r.status, r.code().as_str()), (404, "not_found"), "{by}");
    }
    let nobody = api.get(
        "threads",
        &format!("/v1/members/{}/profile", uuid::Uuid::new_v4()),
    );
    assert_eq!((nobody.status, nobody.code().as_str()), (404, "not_found"));
}

/// A small deterministic generator (xorshift64*), so a failure can be replayed.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// After random traffic (earns, redemptions, holds captured in part or voided, partial
/// reversals, cross-brand spending, over several days), `rebuild-aggregates` recomputes from the
/// journal exactly what the writer kept: every row and every day bucket.
#[test]
fn the_rebuild_agrees_with_the_live_aggregates_after_random_traffic() {
    let api = Api::start();
    let brands = [("aroma", "AROMA"), ("books", "PAGES"), ("threads", "STYLE")];
    let mut dice = Dice(0x5eed_cafe_f00d_0001);
    let members: Vec<(String, &'static str)> = (0..6)
        .map(|i| {
            let home = brands[i % brands.len()].0;
            let m = api.member(home);
            for (other, _) in brands {
                if other != home && dice.below(2) == 0 {
                    api.link(&m, home, other);
                }
            }
            (m, home)
        })
        .collect();
    let linked = |m: &str, home: &'static str| -> Vec<&'static str> {
        let mut at = vec![home];
        for (b, _) in brands {
            if b != home && api.get(b, &format!("/v1/members/{m}/balances")).status == 200 {
                at.push(b);
            }
        }
        at
    };
    let places: Vec<Vec<&str>> = members.iter().map(|(m, h)| linked(m, h)).collect();
    let mut reversible: Vec<(String, String)> = Vec::new();
    let mut visits = 0;
    for step in 0..160 {
        let who = usize::try_from(dice.below(members.len() as u64)).unwrap();
        let member = members[who].0.as_str();
        let at = places[who][usize::try_from(dice.below(places[who].len() as u64)).unwrap()];
        let unit = brands.iter().find(|(b, _)| *b == at).unwrap().1;
        let points = (1 + dice.below(40)).to_string();
        let reference = format!("s{step}");
        match dice.below(7) {
            6 => {
                // A touch point: a visit of its own; a review at Aroma may earn (once a day),
                // its earn is not a second visit.
                let kind =
                    ["review", "workshop", "app_open"][usize::try_from(dice.below(3)).unwrap()];
                let r = api.post(
                    at,
                    "/v1/interactions",
                    &json!({ "member_id": member, "kind": kind, "reference": reference }),
                );
                let body = created(&r);
                if let Some(id) = body["entry_id"].as_str() {
                    reversible.push((at.to_owned(), id.to_owned()));
                }
                visits += 1;
            }
            0 | 1 => {
                let amount = format!("{}.{:02}", 1 + dice.below(150), dice.below(100));
                let r = purchase(&api, at, member, &amount);
                reversible.push((at.to_owned(), r["entry_id"].as_str().unwrap().to_owned()));
                visits += 1;
            }
            2 => {
                let r = api.post(
                    at,
                    "/v1/earn",
                    &json!({ "member_id": member, "points": points, "reference": reference }),
                );
                created(&r);
                visits += 1;
            }
            3 => {
                let r = redeem(
                    &api,
                    at,
                    json!({ "member_id": member, "unit": unit, "points": points, "reference": reference }),
                );
                if r.status == 201 {
                    reversible.push((
                        at.to_owned(),
                        r.json()["entry_id"].as_str().unwrap().to_owned(),
                    ));
                    visits += 1;
                } else {
                    assert_eq!(r.code(), "insufficient_balance", "{}", r.body);
                }
            }
            4 => {
                let r = redeem(
                    &api,
                    at,
                    json!({ "member_id": member, "unit": unit, "points": points, "reference": reference, "capture": false }),
                );
                if r.status != 201 {
                    assert_eq!(r.code(), "insufficient_balance", "{}", r.body);
                    continue;
                }
                let id = r.json()["entry_id"].as_str().unwrap().to_owned();
                if dice.below(3) == 0 {
                    done(&api.post(at, &format!("/v1/redemptions/{id}/void"), &json!({})));
                } else {
                    let part = (1 + dice.below(points.parse().unwrap())).to_string();
                    let c = done(&api.post(
                        at,
                        &format!("/v1/redemptions/{id}/capture"),
                        &json!({ "points": part }),
                    ));
                    reversible.push((at.to_owned(), c["entry_id"].as_str().unwrap().to_owned()));
                    visits += 1;
                }
            }
            _ => {
                if reversible.is_empty() {
                    continue;
                }
                let i = usize::try_from(dice.below(reversible.len() as u64)).unwrap();
                let (by, id) = reversible[i].clone();
                let mut body =
                    json!({ "entry_id": id, "reference": reference, "reason": "random" });
                if dice.below(2) == 0 {
                    body["points"] = json!((1 + dice.below(5)).to_string());
                }
                let r = api.post(&by, "/v1/reversals", &body);
                if r.status != 201 {
                    let code = r.code();
                    assert!(
                        ["not_reversible", "invalid_amount", "insufficient_balance"]
                            .contains(&code.as_str()),
                        "{}",
                        r.body
                    );
                }
            }
        }
        if dice.below(8) == 0 {
            api.advance_secs(u32::try_from(3_600 * (1 + dice.below(30))).unwrap());
        }
    }
    let store = api.svc.clearing.store().clone();
    let live = store
        .read_blocking(coalition::store::profiles::dump)
        .unwrap();
    assert_eq!(
        live.0.iter().map(|r| r.visits).sum::<i64>(),
        visits,
        "every visit counted once"
    );
    assert!(
        live.1.len() > live.0.len(),
        "the traffic spans several days"
    );
    assert!(
        live.1
            .iter()
            .any(|d| d.earned_minor < 0 || d.redeemed_minor < 0),
        "some reversal landed on a day of its own"
    );
    let counts = store
        .read_blocking(coalition::store::interactions::dump_counts)
        .unwrap();
    assert!(!counts.is_empty(), "the traffic had interactions");
    let read = api.svc.clearing.rebuild_aggregates(&|_| {}).unwrap();
    assert_eq!(read, api.entry_count());
    let rebuilt = store
        .read_blocking(coalition::store::profiles::dump)
        .unwrap();
    assert_eq!(rebuilt, live);
    let recounted = store
        .read_blocking(coalition::store::interactions::dump_counts)
        .unwrap();
    assert_eq!(recounted, counts, "interaction counts rebuilt equal");
    api.verify();
}

/// The statements `f` runs on `conn`, as diesel shows them (`SQL -- binds: [...]`).
pub(crate) fn statements_of(
    conn: &mut coalition::store::DbConn,
    f: impl FnOnce(&mut coalition::store::DbConn),
) -> Vec<String> {
    use diesel::connection::{Connection, InstrumentationEvent};
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink = seen.clone();
    conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            sink.lock().unwrap().push(query.to_string());
        }
    });
    f(conn);
    conn.set_instrumentation(|_: InstrumentationEvent<'_>| {});
    seen.lock().unwrap().clone()
}

/// A statement as diesel shows it, with its binds written in as literals (for `EXPLAIN`).
fn with_literals(shown: &str, postgres: bool) -> String {
    let (sql, binds) = shown.split_once(" -- binds: [").unwrap();
    let binds = binds.trim_end_matches(']');
    let literals: Vec<String> = binds
        .split(", ")
        .filter(|b| !b.is_empty())
        .map(|b| match b.strip_prefix('"') {
            Some(text) => format!("'{}'", text.trim_end_matches('"')),
            None => b.to_owned(),
        })
        .collect();
    let mut out = sql.to_owned();
    if postgres {
        for (i, literal) in literals.iter().enumerate().rev() {
            out = out.replace(&format!("${}", i + 1), literal);
        }
    } else {
        for literal in &literals {
            out = out.replacen('?', literal, 1);
        }
    }
    out
}

/// Each line of the plan the database chooses for `sql`.
fn plan(conn: &mut coalition::store::DbConn, sql: &str) -> Vec<String> {
    use diesel::RunQueryDsl;
    use diesel::sql_types::Text;
    #[derive(diesel::QueryableByName)]
    struct Sqlite {
        #[diesel(sql_type = Text)]
        detail: String,
    }
    #[derive(diesel::QueryableByName)]
    struct Postgres {
        #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
        line: String,
    }
    match conn {
        coalition::store::DbConn::Sqlite(c) => {
            diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
                .load::<Sqlite>(c)
                .unwrap()
                .into_iter()
                .map(|s| s.detail)
                .collect()
        }
        coalition::store::DbConn::Postgres(c) => diesel::sql_query(format!("EXPLAIN {sql}"))
            .load::<Postgres>(c)
            .unwrap()
            .into_iter()
            .map(|s| s.line)
            .collect(),
    }
}

/// `GET /v1/members/{id}/profile` reads the same few rows by key for a member with one entry
/// and for one with hundreds: the same statements, each an index look-up on both backends (on
/// PostgreSQL over tables grown to thousands of rows and analysed, so the planner has a choice).
#[test]
fn the_profile_is_read_by_key_whatever_the_history() {
    use diesel::connection::SimpleConnection;
    let api = Api::start();
    let busy = api.member("aroma");
    api.link(&busy, "aroma", "books");
    for _ in 0..150 {
        api.earn("aroma", &busy, "2");
        purchase(&api, "books", &busy, "3.00");
    }
    let quiet = api.member("aroma");
    api.earn("aroma", &quiet, "1");
    // What the handler answers is what the statements below read.
    let r = api.get("aroma", &format!("/v1/members/{busy}/profile"));
    assert_eq!(r.json()["brands"][0]["visits"], 150, "{}", r.body);

    let postgres = api.svc.db.is_postgres();
    let mut conn = api.svc.db.raw();
    if postgres {
        conn.batch_execute(
            "INSERT INTO members (id, share_balances, created_at_us, share_profile) \
               SELECT 'm' || g, 0, 0, 0 FROM generate_series(1, 20000) g; \
             INSERT INTO member_links (partner, external_id, member_id, created_at_us, share_balances, share_profile) \
               SELECT 'aroma', 'x' || g, 'm' || g, 0, 0, 0 FROM generate_series(1, 20000) g; \
             INSERT INTO cards (number, member_id, issued_at_us) \
               SELECT 'c' || g, 'm' || g, 0 FROM generate_series(1, 20000) g; \
             INSERT INTO member_profiles \
               SELECT 'm' || g, p, 1, 0, 0, 0, 0, 0 FROM generate_series(1, 20000) g, \
               (VALUES ('aroma'), ('books'), ('threads')) AS partners (p); \
             ANALYZE;",
        )
        .unwrap();
    }
    let read = |conn: &mut coalition::store::DbConn, member: &str| {
        statements_of(conn, |c| {
            coalition::store::profiles::read(c, member, Some("aroma")).unwrap();
        })
    };
    let for_busy = read(&mut conn, &busy);
    let for_quiet = read(&mut conn, &quiet);
    assert_eq!(for_busy.len(), 4, "{for_busy:#?}");
    assert_eq!(for_quiet.len(), for_busy.len());
    assert_by_key(&mut conn, &for_busy, postgres);
}

/// Each statement's plan is a look-up by key: an index on PostgreSQL and no sequential scan; an
/// index or the primary key for every step on SQLite.
pub(crate) fn assert_by_key(
    conn: &mut coalition::store::DbConn,
    statements: &[String],
    postgres: bool,
) {
    for shown in statements {
        let sql = with_literals(shown, postgres);
        let lines = plan(conn, &sql);
        let by_key = if postgres {
            lines.iter().any(|l| l.contains("Index"))
                && !lines.iter().any(|l| l.contains("Seq Scan"))
        } else {
            lines.iter().all(|l| {
                l.contains("USING INDEX")
                    || l.contains("USING PRIMARY KEY")
                    || l.contains("USING COVERING INDEX")
                    || l.contains("USING INTEGER PRIMARY KEY")
            })
        };
        assert!(by_key, "{sql}: {lines:#?}");
    }
}

/// A database with entries from before the profile (no build recorded, no rows) gets its profile
/// built from the journal when the service starts, the same as the writer had kept it.
#[test]
fn a_database_from_before_the_profile_is_built_at_start() {
    use diesel::connection::SimpleConnection;
    let api = Api::start();
    let dana = api.member("aroma");
    api.link(&dana, "aroma", "books");
    purchase(&api, "aroma", &dana, "42.00");
    purchase(&api, "books", &dana, "8.50");
    let store = api.svc.clearing.store().clone();
    let kept = store
        .read_blocking(coalition::store::profiles::dump)
        .unwrap();
    assert_eq!(kept.0.len(), 2);
    api.svc
        .db
        .raw()
        .batch_execute(
            "DELETE FROM member_profiles; DELETE FROM member_profile_days; \
             DELETE FROM aggregate_builds;",
        )
        .unwrap();
    // The service starts again on the same database.
    let dir = crate::common::TempDir::new();
    let settings =
        coalition::clearing::Settings::new(api.svc.db.url.clone(), crate::common::demo_partners())
            .with_network_key(Some(dir.path().join("network-key.pem")));
    let again = coalition::clearing::Clearing::start(&settings).unwrap();
    let built = again
        .store()
        .read_blocking(coalition::store::profiles::dump)
        .unwrap();
    again.shutdown();
    assert_eq!(built, kept);
}
