//! Settlement over real HTTP: mixed traffic from a seed with every partner's net computed here
//! independently, statements in three formats, payments, the next cycle, reconciliation, and
//! the journal export checked by hledger, ledger and beancount.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use coalition::clearing::time;
use coalition::clearing::tokens::Role;
use serde_json::{Value, json};

use crate::common::{Api, Resp, TempDir};

/// Clearing value (cents, as an exact count of thousandths of a cent scaled) of `minor` points.
/// `per_step_milli` is the value of one smallest step in thousandths of a cent.
fn value_cents(minor: i64, per_step_micro: i64) -> i64 {
    // per_step_micro: value of one step in millionths of the currency; cents = /10_000.
    let micro = minor * per_step_micro;
    let (q, r) = (micro / 10_000, micro % 10_000);
    if r > 5_000 || (r == 5_000 && q % 2 == 1) {
        q + 1
    } else {
        q
    }
}

/// Unit → (issuer, scale, value of one step in millionths of a shekel).
fn units() -> BTreeMap<&'static str, (&'static str, u32, i64)> {
    BTreeMap::from([
        ("AROMA", ("aroma", 0, 40_000)),
        ("PAGES", ("books", 0, 50_000)),
        ("STYLE", ("threads", 0, 100_000)),
        ("FUEL", ("fuelup", 1, 1_000)),
        ("COAL", ("network", 0, 50_000)),
    ])
}

fn amount_text(minor: i64, scale: u32) -> String {
    if scale == 0 {
        minor.to_string()
    } else {
        format!("{}.{}", minor / 10, minor % 10)
    }
}

fn cents(text: &str) -> i64 {
    let neg = text.starts_with('-');
    let t = text.trim_start_matches('-');
    let (i, f) = t.split_once('.').unwrap_or((t, "00"));
    let v = i.parse::<i64>().unwrap() * 100 + format!("{f:0<2}")[..2].parse::<i64>().unwrap();
    if neg { -v } else { v }
}

struct Model {
    net: BTreeMap<String, i64>,
}

impl Model {
    /// `debtor` owes `creditor` `v` cents through the network.
    fn owes(&mut self, debtor: &str, creditor: &str, v: i64) {
        if debtor != creditor {
            *self.net.entry(debtor.to_owned()).or_default() -= v;
            *self.net.entry(creditor.to_owned()).or_default() += v;
        }
    }
}

fn ok(r: Resp, what: &str) -> Value {
    assert!(
        r.status == 201 || r.status == 200,
        "{what}: {} {}",
        r.status,
        r.body
    );
    r.json()
}

fn finance(api: &Api) -> String {
    api.finance_token(Role::Operator, None)
}

fn settle(api: &Api, cutoff_us: i64) -> Value {
    let r = api.bearer(
        &finance(api),
        "POST",
        "/v1/settlements",
        Some(&json!({ "cutoff": time::rfc3339(cutoff_us) })),
    );
    assert!(r.status == 201 || r.status == 200, "{}", r.body);
    r.json()
}

fn positions(s: &Value) -> BTreeMap<String, i64> {
    s["positions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["partner"].as_str().unwrap().to_owned(),
                cents(p["net"].as_str().unwrap()),
            )
        })
        .collect()
}

/// Drives a seeded mix of every kind of traffic and returns the nets it should produce.
fn traffic(api: &Api, seed: u64, rounds: usize, tag: &str) -> BTreeMap<String, i64> {
    let mut rng = seed;
    let mut next = |n: u64| {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (rng >> 33) % n
    };
    let u = units();
    let brands = ["aroma", "books", "threads", "fuelup"];
    let mut m = Model {
        net: BTreeMap::new(),
    };
    // Each member joined every brand with a link code, and holds a token of each: a token moves
    // value out of a unit only for the unit's issuer (the network's: for anyone but the receiver).
    let members: Vec<(String, BTreeMap<&str, String>)> = (0..3)
        .map(|_| {
            let id = api.member("aroma");
            for brand in ["books", "threads", "fuelup"] {
                api.link(&id, "aroma", brand);
            }
            let tokens = ["aroma", "books", "threads", "fuelup"]
                .into_iter()
                .map(|b| (b, api.member_token(b, &id)))
                .collect();
            (id, tokens)
        })
        .collect();
    let mut held: BTreeMap<(usize, &str), i64> = BTreeMap::new();
    let coupon_campaign = {
        let body = json!({ "name": "mix", "redeemable_at": ["aroma", "books", "fuelup"], "benefit": { "kind": "amount", "value": "15.00" },
            "currency": "ILS", "budget": "5000.00", "valid_from": time::rfc3339(coalition::ledger::clock::Clock::system().now_us() - 60_000_000),
            "valid_until": time::rfc3339(coalition::ledger::clock::Clock::system().now_us() + 86_400_000_000) });
        ok(api.post("threads", "/v1/campaigns", &body), "campaign")["campaign_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    for i in 0..rounds {
        let who = next(3) as usize;
        let (member, tokens) = &members[who];
        // The issuer's token for its units; for the network's, one not of the receiver's.
        let token_for = |issuer: &str, receiver: &str| -> &String {
            let brand = if issuer == "network" {
                ["aroma", "books"]
                    .into_iter()
                    .find(|b| *b != receiver)
                    .unwrap()
            } else {
                issuer
            };
            &tokens[brand]
        };
        let reference = format!("{tag}-{i}");
        match next(7) {
            // Earn any unit at any brand: the awarding brand owes the issuer the value.
            0 | 1 => {
                let at = brands[next(4) as usize];
                let unit = *u.keys().nth(next(5) as usize).unwrap();
                let (issuer, scale, per) = u[unit];
                let minor = 1 + next(300) as i64;
                let body = json!({ "member_id": member, "unit": unit, "points": amount_text(minor, scale), "reference": reference });
                let earned = ok(api.post(at, "/v1/earn", &body), "earn");
                m.owes(at, issuer, value_cents(minor, per));
                *held.entry((who, unit)).or_default() += minor;
                // Now and then the brand reverses the whole earn.
                if next(6) == 0 && *held.get(&(who, unit)).unwrap_or(&0) >= minor {
                    let body = json!({ "entry_id": earned["entry_id"], "reference": format!("{reference}-rev"), "reason": "mistake" });
                    ok(api.post(at, "/v1/reversals", &body), "reversal");
                    m.owes(issuer, at, value_cents(minor, per));
                    *held.get_mut(&(who, unit)).unwrap() -= minor;
                }
            }
            // Spend another brand's points with the member's authorisation.
            2 => {
                let unit = *u.keys().nth(next(5) as usize).unwrap();
                let (issuer, scale, per) = u[unit];
                let have = *held.get(&(who, unit)).unwrap_or(&0);
                let at = brands
                    .iter()
                    .copied()
                    .find(|b| *b != issuer)
                    .unwrap_or("aroma");
                if have == 0 {
                    continue;
                }
                let minor = 1 + next(have as u64) as i64;
                let auth = ok(api.bearer(token_for(issuer, at), "POST", "/v1/me/authorizations", Some(&json!({ "partner": at, "unit": unit, "max_points": amount_text(minor, scale) }))), "authorize");
                let body = json!({ "member_id": member, "unit": unit, "points": amount_text(minor, scale), "reference": reference, "authorization": auth["code"] });
                ok(api.post(at, "/v1/redemptions", &body), "redemption");
                m.owes(issuer, at, value_cents(minor, per));
                *held.get_mut(&(who, unit)).unwrap() -= minor;
            }
            // Convert AROMA into STYLE: 5 AROMA buy 2 STYLE exactly.
            3 => {
                let have = *held.get(&(who, "AROMA")).unwrap_or(&0);
                if have < 5 {
                    continue;
                }
                let offered = 5 * (1 + next((have / 5) as u64) as i64);
                ok(api.bearer(token_for("aroma", "threads"), "POST", "/v1/me/conversions", Some(&json!({ "from_unit": "AROMA", "to_unit": "STYLE", "points": offered.to_string() }))), "convert");
                let received = offered * 40_000 / 100_000;
                m.owes("aroma", "threads", value_cents(received, 100_000));
                *held.get_mut(&(who, "AROMA")).unwrap() -= offered;
                *held.entry((who, "STYLE")).or_default() += received;
            }
            // Donate PAGES to the charity.
            4 => {
                let have = *held.get(&(who, "PAGES")).unwrap_or(&0);
                if have == 0 {
                    continue;
                }
                let minor = 1 + next(have as u64) as i64;
                ok(api.bearer(token_for("books", "hope-kitchen"), "POST", "/v1/me/donations", Some(&json!({ "unit": "PAGES", "points": minor.to_string(), "charity": "hope-kitchen" }))), "donate");
                m.owes("books", "hope-kitchen", value_cents(minor, 50_000));
                *held.get_mut(&(who, "PAGES")).unwrap() -= minor;
            }
            // A Threads coupon used at another brand: Threads owes it the discount.
            _ => {
                let issued = ok(
                    api.post(
                        "threads",
                        &format!("/v1/campaigns/{coupon_campaign}/coupons"),
                        &json!({}),
                    ),
                    "issue",
                );
                let at = ["aroma", "books", "fuelup"][next(3) as usize];
                let purchase = 500 + next(3000) as i64;
                let body = json!({ "purchase_amount": format!("{}.{:02}", purchase / 100, purchase % 100), "reference": reference });
                ok(
                    api.post(
                        at,
                        &format!(
                            "/v1/coupons/{}/redemptions",
                            issued["code"].as_str().unwrap()
                        ),
                        &body,
                    ),
                    "coupon",
                );
                m.owes("threads", at, purchase.min(1500));
            }
        }
    }
    m.net.retain(|_, v| *v != 0);
    m.net
}

/// Verifies a detached JWS (RFC 7515 appendix F) over `body` with the JWKS key, using the
/// jsonwebtoken library's own signature check.
pub(crate) fn signature_verifies(api: &Api, signature: &str, body: &str) -> bool {
    let jwks = crate::common::send("GET", &api.url("/.well-known/jwks.json"), &[], None).json();
    let key = jsonwebtoken::DecodingKey::from_ed_components(jwks["keys"][0]["x"].as_str().unwrap())
        .unwrap();
    let parts: Vec<&str> = signature.split('.').collect();
    assert_eq!(parts.len(), 3);
    assert_eq!(parts[1], "", "the payload part of a detached JWS is empty");
    let message = format!("{}.{}", parts[0], URL_SAFE_NO_PAD.encode(body));
    jsonwebtoken::crypto::verify(
        parts[2],
        message.as_bytes(),
        &key,
        jsonwebtoken::Algorithm::EdDSA,
    )
    .unwrap_or(false)
}

fn statement(api: &Api, id: &str, partner: &str, accept: &str) -> Resp {
    crate::common::send(
        "GET",
        &api.url(&format!("/v1/settlements/{id}/statements/{partner}")),
        &[
            ("authorization", format!("Bearer {}", finance(api))),
            ("accept", accept.to_owned()),
        ],
        None,
    )
}

/// Checks the camt.053 document's structure with Python's XML parser.
fn check_camt053(xml: &str, entries: usize, closing: &str) {
    let dir = TempDir::new();
    let path = dir.path().join("s.xml");
    std::fs::write(&path, xml).unwrap();
    let script = r#"
import sys, xml.etree.ElementTree as ET
ns = {"c": "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"}
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "{urn:iso:std:iso:20022:tech:xsd:camt.053.001.08}Document", root.tag
stmt = root.find("c:BkToCstmrStmt/c:Stmt", ns)
assert root.find("c:BkToCstmrStmt/c:GrpHdr/c:MsgId", ns) is not None
bals = {b.find("c:Tp/c:CdOrPrtry/c:Cd", ns).text: b for b in stmt.findall("c:Bal", ns)}
assert set(bals) == {"OPBD", "CLBD"}, bals
clbd = bals["CLBD"]
signed = clbd.find("c:Amt", ns).text if clbd.find("c:CdtDbtInd", ns).text == "CRDT" else "-" + clbd.find("c:Amt", ns).text
total = 0
for n in stmt.findall("c:Ntry", ns):
    amt = int(n.find("c:Amt", ns).text.replace(".", ""))
    total += amt if n.find("c:CdtDbtInd", ns).text == "CRDT" else -amt
    assert n.find("c:Sts/c:Cd", ns).text == "BOOK"
    # Identifiers are Max35Text, the free text Max500Text (ISO 20022).
    for tag in ("c:NtryRef", "c:AcctSvcrRef", "c:NtryDtls/c:TxDtls/c:Refs/c:EndToEndId"):
        assert 1 <= len(n.find(tag, ns).text) <= 35, (tag, n.find(tag, ns).text)
    assert len(n.find("c:NtryDtls/c:TxDtls/c:AddtlTxInf", ns).text) <= 500
for path, longest in (("c:BkToCstmrStmt/c:GrpHdr/c:MsgId", 35), ("c:BkToCstmrStmt/c:Stmt/c:Id", 35),
                      ("c:BkToCstmrStmt/c:Stmt/c:Acct/c:Id/c:Othr/c:Id", 34)):
    text = root.find(path, ns).text
    assert 1 <= len(text) <= longest, (path, text)
print(len(stmt.findall("c:Ntry", ns)), signed, total)
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&path)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    let fields: Vec<&str> = printed.split_whitespace().collect();
    assert_eq!(fields[0].parse::<usize>().unwrap(), entries);
    assert_eq!(cents(fields[1]), cents(closing));
    assert_eq!(
        fields[2].parse::<i64>().unwrap(),
        cents(closing),
        "entry amounts sum to the closing balance"
    );
}

#[test]
fn a_cycle_settles_to_the_cent_and_the_next_holds_only_later_entries() {
    let api = Api::start();
    let expected = traffic(&api, 0x5e771e, 60, "c1");
    assert!(
        expected.len() >= 5,
        "the mix moved money between many parties: {expected:?}"
    );
    std::thread::sleep(std::time::Duration::from_millis(5));
    let cutoff = coalition::ledger::clock::Clock::system().now_us();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let s = settle(&api, cutoff);
    assert_eq!(
        positions(&s),
        expected,
        "every position, computed independently"
    );
    assert_eq!(positions(&s).values().sum::<i64>(), 0);
    assert_eq!(s["status"], "open");
    let id = s["settlement_id"].as_str().unwrap().to_owned();
    // Obligations are the gross amounts behind the nets: for each party, what it is owed minus
    // what it owes equals its net.
    let mut from_obligations: BTreeMap<String, i64> = BTreeMap::new();
    for o in s["obligations"].as_array().unwrap() {
        let a = cents(o["amount"].as_str().unwrap());
        *from_obligations
            .entry(o["from"].as_str().unwrap().to_owned())
            .or_default() -= a;
        *from_obligations
            .entry(o["to"].as_str().unwrap().to_owned())
            .or_default() += a;
    }
    from_obligations.retain(|_, v| *v != 0);
    assert_eq!(from_obligations, expected);
    // The same cut-off gives the same settlement; an earlier or a future one is refused.
    let again = settle(&api, cutoff);
    assert_eq!(again["settlement_id"], s["settlement_id"]);
    let early = api.bearer(
        &finance(&api),
        "POST",
        "/v1/settlements",
        Some(&json!({ "cutoff": time::rfc3339(cutoff - 60_000_000) })),
    );
    assert_eq!(
        (early.status, early.code().as_str()),
        (422, "invalid_request")
    );
    let future = api.bearer(
        &finance(&api),
        "POST",
        "/v1/settlements",
        Some(&json!({ "cutoff": time::rfc3339(coalition::ledger::clock::Clock::system().now_us() + 3_600_000_000) })),
    );
    assert_eq!(
        (future.status, future.code().as_str()),
        (422, "invalid_request")
    );

    // Statements in three formats agree with the position, and their signatures verify.
    for (party, net) in &expected {
        let json_st = statement(&api, &id, party, "application/json");
        assert_eq!(json_st.status, 200, "{}", json_st.body);
        assert!(
            signature_verifies(
                &api,
                &json_st.header("statement-signature").unwrap(),
                &json_st.body
            ),
            "{party} JSON"
        );
        let doc = json_st.json();
        let lines = doc["entries"].as_array().unwrap();
        assert_eq!(
            lines
                .iter()
                .map(|l| cents(l["amount"].as_str().unwrap()))
                .sum::<i64>(),
            *net,
            "{party}"
        );
        assert_eq!(cents(doc["closing_balance"].as_str().unwrap()), *net);

        let csv = statement(&api, &id, party, "text/csv");
        assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
        assert!(
            signature_verifies(&api, &csv.header("statement-signature").unwrap(), &csv.body),
            "{party} CSV"
        );
        let rows: Vec<&str> = csv.body.lines().skip(1).collect();
        assert_eq!(rows.len(), lines.len());
        assert_eq!(
            rows.iter()
                .map(|r| cents(r.rsplit(',').next().unwrap()))
                .sum::<i64>(),
            *net,
            "{party} CSV"
        );

        let xml = statement(&api, &id, party, "application/xml");
        assert!(
            signature_verifies(&api, &xml.header("statement-signature").unwrap(), &xml.body),
            "{party} XML"
        );
        check_camt053(&xml.body, lines.len(), doc["net"].as_str().unwrap());
        // A changed byte does not verify.
        assert!(!signature_verifies(
            &api,
            &xml.header("statement-signature").unwrap(),
            &xml.body.replacen("BOOK", "PDNG", 1)
        ));
    }
    // A partner's finance user sees its own statement only.
    let books_finance = api.finance_token(Role::Finance, Some("books"));
    let own = crate::common::send(
        "GET",
        &api.url(&format!("/v1/settlements/{id}/statements/books")),
        &[("authorization", format!("Bearer {books_finance}"))],
        None,
    );
    assert_eq!(own.status, 200);
    let other = crate::common::send(
        "GET",
        &api.url(&format!("/v1/settlements/{id}/statements/aroma")),
        &[("authorization", format!("Bearer {books_finance}"))],
        None,
    );
    assert_eq!(other.status, 403);
    let seen = api
        .bearer(
            &books_finance,
            "GET",
            &format!("/v1/settlements/{id}"),
            None,
        )
        .json();
    assert!(
        seen["positions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["partner"] == "books")
    );

    // Payments: over-payment refused; paying every partner settles it.
    let (first_party, first_net) = expected
        .iter()
        .find(|(p, _)| p.as_str() != "network")
        .unwrap();
    let pay = |party: &str, amount: i64, reference: &str| {
        let body = json!({ "partner": party, "amount": format!("{}.{:02}", amount / 100, amount % 100), "bank_reference": reference });
        api.bearer(
            &finance(&api),
            "POST",
            &format!("/v1/settlements/{id}/payments"),
            Some(&body),
        )
    };
    let over = pay(first_party, first_net.abs() + 1, "too-much");
    assert_eq!(
        (over.status, over.code().as_str()),
        (422, "overpayment"),
        "{}",
        over.body
    );
    let partners: Vec<(&String, &i64)> = expected
        .iter()
        .filter(|(p, _)| p.as_str() != "network")
        .collect();
    for (n, (party, net)) in partners.iter().enumerate() {
        let half = net.abs() / 2;
        if half > 0 {
            let r = pay(party, half, &format!("bank-{n}a"));
            assert_eq!(r.status, 201, "{}", r.body);
            assert_eq!(r.json()["status"], "partially_paid");
        }
        let r = pay(party, net.abs() - half, &format!("bank-{n}b"));
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let paid = api
        .bearer(
            &finance(&api),
            "GET",
            &format!("/v1/settlements/{id}"),
            None,
        )
        .json();
    assert_eq!(paid["status"], "settled");

    // The next cycle holds exactly the entries after the cut-off.
    let later = traffic(&api, 0xbeef, 12, "c2");
    let cutoff2 = coalition::ledger::clock::Clock::system().now_us();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let s2 = settle(&api, cutoff2);
    assert_eq!(s2["first_seq"], s["last_seq"]);
    assert_eq!(positions(&s2), later);
    let verify = api
        .bearer(&finance(&api), "GET", "/v1/ledger/verify", None)
        .json();
    assert_eq!(verify["ok"], true, "{verify}");
    assert!(
        verify["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "settlements_net_to_zero" && c["ok"] == true)
    );
}

#[test]
fn reconciliation_finds_planted_differences() {
    let api = Api::start();
    let from = time::rfc3339(coalition::ledger::clock::Clock::system().now_us() - 1_000_000);
    let dana = api.member("aroma");
    let mut lines = vec![coalition::clearing::reconcile::HEADER.to_owned()];
    for i in 0..6 {
        let r = api.post("aroma", "/v1/earn", &json!({ "member_id": dana, "points": (10 + i).to_string(), "reference": format!("pos-{i}") }));
        assert_eq!(r.status, 201);
        lines.push(format!("pos-{i},earn,{},AROMA,", 10 + i));
    }
    // A reference with a comma: the export quotes it, and so may the partner's file.
    let r = api.post(
        "aroma",
        "/v1/earn",
        &json!({ "member_id": dana, "points": "7", "reference": "order 17, table 4" }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    lines.push("\"order 17, table 4\",earn,7,AROMA,".into());
    let to = time::rfc3339(coalition::ledger::clock::Clock::system().now_us() + 1_000_000);
    // Plant: pos-1 changed, pos-2 missing from the partner's file, pos-99 unknown to the network.
    lines[2] = "pos-1,earn,999,AROMA,".into();
    lines.remove(3);
    lines.push("pos-99,earn,5,AROMA,2026-11-22T10:00:00Z".into());
    // The same reference in another unit is another amount: pos-0's AROMA line still matches.
    lines.push("pos-0,earn,10,PAGES,".into());
    // Ten of the largest amounts under one reference: their sum is beyond an i64.
    for _ in 0..10 {
        lines.push("pos-big,earn,999999999999999999,AROMA,".into());
    }
    let csv = lines.join("\n") + "\n";
    let token = api.finance_token(Role::Finance, Some("aroma"));
    let post = |body: &str, token: &str| {
        crate::common::send(
            "POST",
            &api.url(&format!(
                "/v1/reconciliations?partner=aroma&from={}&to={}",
                from.replace('+', "%2B"),
                to.replace('+', "%2B")
            )),
            &[
                ("authorization", format!("Bearer {token}")),
                ("content-type", "text/csv".into()),
            ],
            Some(body.as_bytes()),
        )
    };
    let r = post(&csv, &token);
    assert_eq!(r.status, 200, "{}", r.body);
    let rep = r.json();
    assert_eq!(rep["matched"], 5, "{}", r.body);
    assert_eq!(rep["mismatched"].as_array().unwrap().len(), 1);
    assert_eq!(rep["mismatched"][0]["reference"], "pos-1");
    assert_eq!(
        (
            rep["mismatched"][0]["partner_amount"].as_str(),
            rep["mismatched"][0]["network_amount"].as_str()
        ),
        (Some("999 AROMA"), Some("11 AROMA"))
    );
    assert_eq!(rep["missing_in_partner"][0]["reference"], "pos-2");
    let missing: Vec<(&str, &str, &str)> = rep["missing_in_network"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["reference"].as_str().unwrap(),
                l["unit"].as_str().unwrap(),
                l["amount"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        missing,
        [
            ("pos-0", "PAGES", "10"),
            ("pos-99", "AROMA", "5"),
            ("pos-big", "AROMA", "9999999999999999990"),
        ]
    );
    // A malformed file is refused, naming the line.
    let bad = post(
        &format!(
            "{}\npos-1,earn,ten,AROMA,\n",
            coalition::clearing::reconcile::HEADER
        ),
        &token,
    );
    assert_eq!((bad.status, bad.code().as_str()), (422, "invalid_csv"));
    assert!(
        bad.json()["detail"]
            .as_str()
            .unwrap()
            .starts_with("line 2:"),
        "{}",
        bad.body
    );
    // A quote left open is not CSV: refused, naming the line.
    let open = post(
        &format!(
            "{}\n\"pos-1,earn,10,AROMA,\n",
            coalition::clearing::reconcile::HEADER
        ),
        &token,
    );
    assert_eq!(
        (open.status, open.code().as_str()),
        (422, "invalid_csv"),
        "{}",
        open.body
    );
    // Another partner's finance user may not reconcile Aroma.
    assert_eq!(
        post(&csv, &api.finance_token(Role::Finance, Some("books"))).status,
        403
    );
}

/// Runs an accounting tool if it is installed (CI installs them; `.ci/run` says how).
fn tool(name: &str, args: &[&str]) -> Option<std::process::Output> {
    match std::process::Command::new(name).args(args).output() {
        Ok(out) => Some(out),
        Err(_) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("{name} is not installed here: its check is skipped (CI installs it)");
            None
        }
        Err(e) => panic!("{name} must be installed in CI: {e}"),
    }
}

/// A partner's reference reaches the finance team's CSV files inert: a spreadsheet reads no
/// formula from it and no bidi control reorders it (OWASP CSV injection), in the journal export
/// and in a statement.
#[test]
fn references_reach_csv_files_inert() {
    let api = Api::start();
    let member = api.member("aroma");
    api.link(&member, "aroma", "books");
    let hostile = [
        "=HYPERLINK(\"http://example.invalid\",\"x\")",
        "@SUM(A1)",
        "+1+1",
        "-2",
        "inv\u{202e}fdp.exe",
    ];
    for reference in hostile {
        // Aroma points awarded at the bookstore: a money line, so the statement shows it too.
        let r = api.post(
            "books",
            "/v1/earn",
            &json!({ "member_id": member, "unit": "AROMA", "points": "1", "reference": reference }),
        );
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let export = api.bearer(&finance(&api), "GET", "/v1/ledger/export?format=csv", None);
    assert_eq!(export.status, 200, "{}", export.body);
    let cutoff = coalition::ledger::clock::Clock::system().now_us();
    let id = settle(&api, cutoff)["settlement_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let statement = statement(&api, &id, "books", "text/csv");
    assert_eq!(statement.status, 200, "{}", statement.body);
    for csv in [&export.body, &statement.body] {
        assert!(!csv.contains('\u{202e}'), "a bidi control reached the file");
        let cells: Vec<&str> = csv.lines().flat_map(|l| l.split(',')).collect();
        for lead in ['=', '+', '@'] {
            assert!(
                !cells
                    .iter()
                    .any(|c| c.trim_start_matches('"').starts_with(lead)),
                "a cell starts with {lead}: {csv}"
            );
        }
        assert!(csv.contains("'=HYPERLINK") && csv.contains("'@SUM(A1)") && csv.contains("'-2"));
    }
}

#[test]
fn the_export_is_accepted_by_hledger_ledger_and_beancount() {
    let api = Api::start();
    traffic(&api, 7, 30, "x");
    settle(&api, coalition::ledger::clock::Clock::system().now_us());
    let dir = TempDir::new();
    let export = |format: &str| {
        let r = api.bearer(
            &finance(&api),
            "GET",
            &format!("/v1/ledger/export?format={format}"),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let path = dir.path().join(format!("journal.{format}"));
        std::fs::write(&path, &r.body).unwrap();
        (path.display().to_string(), r.body)
    };
    let tb = api
        .bearer(&finance(&api), "GET", "/v1/ledger/trial-balance", None)
        .json();
    let expected: BTreeMap<String, String> = tb["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| {
            a["balance"]
                .as_str()
                .unwrap()
                .trim_start_matches('-')
                .chars()
                .any(|c| c != '0' && c != '.')
        })
        .map(|a| {
            (
                a["account"].as_str().unwrap().to_owned(),
                format!(
                    "{} {}",
                    a["balance"].as_str().unwrap(),
                    a["unit"].as_str().unwrap()
                ),
            )
        })
        .collect();

    let (csv_path, csv) = export("csv");
    assert!(csv.starts_with("seq,entry_id,"));
    let _ = csv_path;

    let (ledger_path, _) = export("ledger");
    if let Some(out) = tool(
        "hledger",
        &[
            "-f",
            &ledger_path,
            "balance",
            "--flat",
            "--no-total",
            "-O",
            "csv",
        ],
    ) {
        assert!(
            out.status.success(),
            "hledger: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let got: BTreeMap<String, String> = text
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<String> = l
                    .split("\",\"")
                    .map(|s| s.trim_matches('"').to_owned())
                    .collect();
                (f[0].clone(), f[1].clone())
            })
            .collect();
        assert!(got.len() > 10, "{text}");
        assert_eq!(got, expected, "hledger's balances equal the trial balance");
    }
    if let Some(out) = tool(
        "ledger",
        &[
            "-f",
            &ledger_path,
            "balance",
            "--flat",
            "--no-total",
            "issuer:aroma:AROMA",
        ],
    ) {
        assert!(
            out.status.success(),
            "ledger: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        if let Some(want) = expected.get("issuer:aroma:AROMA") {
            assert!(
                text.contains(want.split(' ').next().unwrap()),
                "ledger says {text}, trial balance {want}"
            );
        }
    }
    let (bean_path, _) = export("beancount");
    if let Some(out) = tool("bean-check", &[&bean_path]) {
        assert!(
            out.status.success(),
            "bean-check: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
