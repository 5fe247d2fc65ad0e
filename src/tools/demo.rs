//! `coalition demo`: a scripted tour of the demo network on a throwaway SQLite file, over the
//! real HTTP API with signed requests.

use std::fs;
use std::path::Path;

use crate::api::RunningServer;
use crate::clearing::{Clearing, Settings};
use crate::crypto::PublicKey;
use crate::crypto::ed25519::write_private;
use crate::partners::GeneratedKey;
use anyhow::{Context, Result, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::demo_client::Partner;

fn show(receipt: &Value) {
    println!(
        "    entry {} #{} ({}, {}), hash {}…",
        receipt["entry_id"].as_str().unwrap_or(""),
        receipt["seq"],
        receipt["kind"].as_str().unwrap_or(""),
        receipt["status"].as_str().unwrap_or(""),
        receipt["hash"]
            .as_str()
            .unwrap_or("")
            .get(..12)
            .unwrap_or("")
    );
    for p in receipt["postings"].as_array().into_iter().flatten() {
        let amount = p["amount"].as_str().unwrap_or("");
        let (shown, side) = match amount.strip_prefix('-') {
            Some(a) => (a, "cr"),
            None => (amount, "dr"),
        };
        println!(
            "      {:<58} {:>10} {side}",
            p["account"].as_str().unwrap_or(""),
            shown
        );
    }
}

/// Checks a receipt's compact JWS against the network key published at the JWKS endpoint.
fn receipt_verifies(receipt: &Value, jwks: &Value) -> bool {
    let token = receipt["receipt"].as_str().unwrap_or("");
    let parts: Vec<&str> = token.split('.').collect();
    let x = jwks["keys"][0]["x"].as_str().unwrap_or("");
    let (Ok(x), [header, payload, signature]) = (URL_SAFE_NO_PAD.decode(x), parts.as_slice())
    else {
        return false;
    };
    let (Ok(x), Ok(signature)) = (<[u8; 32]>::try_from(x), URL_SAFE_NO_PAD.decode(signature))
    else {
        return false;
    };
    PublicKey::from_bytes(x).verify(format!("{header}.{payload}").as_bytes(), &signature)
}

/// The tour; with `stay` (an address to listen on) the service keeps running afterwards, with
/// links to the console and to Dana's wallet, until Ctrl-C.
pub fn run(source: &Path, keep: bool, stay: Option<&str>) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("coalition-demo-{}", uuid::Uuid::new_v4()));
    fs::create_dir_all(&dir)?;
    let outcome = tour(source, &dir, stay);
    if keep {
        println!("\nThe demo's folder is kept: {}", dir.display());
    } else {
        let _ = fs::remove_dir_all(&dir);
    }
    outcome
}

fn tour(source: &Path, dir: &Path, stay: Option<&str>) -> Result<()> {
    println!(
        "Coalition demo — a throwaway network in {}\n",
        dir.display()
    );
    if !source.join(crate::partners::NETWORK_FILE).is_file() {
        bail!(
            "{} has no network.toml: run the demo from the repository root or pass --partners DIR",
            source.display()
        );
    }
    let manifests = dir.join("partners");
    let keys = crate::partners::copy_with_generated_keys(source, &manifests, "demo")?;
    fs::create_dir_all(dir.join("keys"))?;
    for k in &keys {
        write_private(
            &dir.join("keys").join(format!("{}.pem", k.key_id)),
            &k.key.to_pem(),
        )?;
    }
    println!(
        "1. Generated a fresh Ed25519 key for every partner (private keys in {}/keys).",
        dir.display()
    );
    let database = format!("sqlite://{}", dir.join("demo.db").display()).parse()?;
    // Aroma's webhook receiver listens on this machine's loopback: allowed for the demo only.
    let settings = Settings::new(database, manifests)
        .with_network_key(Some(dir.join("network-key.pem")))
        .with_private_webhooks(true);
    let clearing = Clearing::start(&settings)?;
    let server = RunningServer::start(clearing.clone(), stay.unwrap_or("127.0.0.1:0"))?;
    println!(
        "2. Started the service on {} (SQLite file demo.db).",
        server.url("")
    );
    let outcome = story(&clearing, &server, &keys).and_then(|dana| match stay {
        Some(_) => super::demo_pages::stay(&clearing, &server, &keys, &dana),
        None => Ok(()),
    });
    drop(server);
    clearing.shutdown();
    outcome?;
    println!("\nDone. Start the real thing with `cargo run --release -- serve`.");
    Ok(())
}

#[expect(
    clippy::too_many_lines,
    reason = "the demo is a narrated script, read top to bottom"
)]
fn story(clearing: &Clearing, server: &RunningServer, keys: &[GeneratedKey]) -> Result<String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let partner = |id: &str| -> Result<Partner<'_>> {
        let key = keys
            .iter()
            .find(|k| k.partner.as_str() == id)
            .context("demo partner")?;
        Ok(Partner {
            base: server.url(""),
            key,
            agent: agent.clone(),
            clock: clearing.clock().clone(),
        })
    };
    let (aroma, books, threads) = (partner("aroma")?, partner("books")?, partner("threads")?);

    let network: Value = agent
        .get(&server.url("/v1/network"))
        .call()?
        .body_mut()
        .read_json()?;
    println!(
        "\n3. GET /v1/network — {} settles in {}:",
        network["name"].as_str().unwrap_or(""),
        network["settlement_currency"].as_str().unwrap_or("")
    );
    for p in network["partners"].as_array().into_iter().flatten() {
        let unit = p["unit"].as_str().unwrap_or("-");
        let charity = if p["charity"] == json!(true) {
            " (charity)"
        } else {
            ""
        };
        println!(
            "     {:<14} {:<26} unit {unit:<6}{charity}",
            p["id"].as_str().unwrap_or(""),
            p["name"].as_str().unwrap_or("")
        );
    }
    for u in network["units"].as_array().into_iter().flatten() {
        println!(
            "     unit {:<6} issued by {:<8} worth {} ILS a point",
            u["code"].as_str().unwrap_or(""),
            u["issuer"].as_str().unwrap_or(""),
            u["value"].as_str().unwrap_or("")
        );
    }
    let jwks: Value = agent
        .get(&server.url("/.well-known/jwks.json"))
        .call()?
        .body_mut()
        .read_json()?;
    println!(
        "   GET /.well-known/jwks.json — the network signs with key {}",
        jwks["keys"][0]["kid"].as_str().unwrap_or("-")
    );

    let hooks = super::demo_webhooks::Receiver::start()?;
    super::demo_webhooks::register(&aroma, &hooks)?;

    println!("\n4. Aroma Café enrols Dana (POST /v1/members, signed with RFC 9421).");
    let dana = aroma.expect(
        "/v1/members",
        json!({ "external_id": "dana-0542", "consent": { "share_balances": true } }),
        201,
    )?;
    let card = dana["card_number"].as_str().unwrap_or("").to_owned();
    let dana = dana["member_id"].as_str().context("member id")?.to_owned();
    println!("    member {dana}, card {card}");

    println!("\n5. Dana buys coffee for 120.00 ILS: Aroma's earn rate gives 120 AROMA.");
    let earn = json!({ "member_id": dana, "purchase": { "amount": "120.00", "currency": "ILS" }, "reference": "aroma-pos-1001" });
    let first = aroma.send("POST", "/v1/earn", Some(&earn), Some("aroma-pos-1001"))?;
    if first.status != 201 {
        bail!("earn failed: {}", first.body);
    }
    show(&first.body);
    println!(
        "    receipt JWS verifies against the JWKS: {}",
        receipt_verifies(&first.body, &jwks)
    );
    let retry = aroma.send("POST", "/v1/earn", Some(&earn), Some("aroma-pos-1001"))?;
    println!(
        "    the POS retries with the same Idempotency-Key: same entry {} (Idempotent-Replayed: {}), nothing posted twice",
        retry.body["entry_id"] == first.body["entry_id"],
        retry.replayed
    );

    println!(
        "\n6. Aroma awards Dana 40 COAL, the network's coalition unit: Aroma owes the network 40 × 0.05 = 2.00 ILS."
    );
    show(&aroma.expect(
        "/v1/earn",
        json!({ "member_id": dana, "unit": "COAL", "points": "40", "reference": "aroma-promo-7" }),
        201,
    )?);

    println!("\n7. Dana spends 50 AROMA at Aroma.");
    let spent = aroma.expect("/v1/redemptions", json!({ "member_id": dana, "unit": "AROMA", "points": "50", "reference": "aroma-pos-1002" }), 201)?;
    show(&spent);

    println!(
        "\n8. Aroma's app holds 30 AROMA for a pre-order, then captures 20: the other 10 go back."
    );
    let hold = aroma.expect("/v1/redemptions", json!({ "member_id": dana, "unit": "AROMA", "points": "30", "reference": "app-77", "capture": false }), 201)?;
    show(&hold);
    let hold_id = hold["entry_id"].as_str().context("hold id")?;
    show(&aroma.expect(
        &format!("/v1/redemptions/{hold_id}/capture"),
        json!({ "points": "20" }),
        200,
    )?);

    println!("\n9. Half of the 50-point redemption is refunded (a partial reversal).");
    show(&aroma.expect("/v1/reversals", json!({ "entry_id": spent["entry_id"], "points": "25", "reference": "refund-1", "reason": "wrong order" }), 201)?);

    println!(
        "\n10. Threads sponsors a coupon campaign: spend 50.00 at Aroma, get 10 % off (at most 20.00) at the bookstore."
    );
    let now = clearing.clock().now_us();
    let campaign = threads.expect(
        "/v1/campaigns",
        json!({
            "name": "Coffee, then a book",
            "redeemable_at": ["books"],
            "benefit": { "kind": "percent", "value": "10", "max_discount": "20.00" },
            "currency": "ILS",
            "budget": "500.00",
            "valid_from": crate::clearing::time::rfc3339(now - 60_000_000),
            "valid_until": crate::clearing::time::rfc3339(now + 30 * 86_400_000_000),
            "per_member_limit": 1,
            "trigger": { "partner": "aroma", "min_purchase": "50.00" }
        }),
        201,
    )?;
    let coffee = aroma.expect(
        "/v1/earn",
        json!({ "member_id": dana, "purchase": { "amount": "80.00", "currency": "ILS" }, "reference": "aroma-pos-1003" }),
        201,
    )?;
    let code = coffee["coupons_issued"][0]["code"]
        .as_str()
        .context("the purchase issued no coupon")?
        .to_owned();
    println!(
        "    Dana's 80.00 at Aroma earned 80 AROMA and coupon {code}, reserving 20.00 of the budget."
    );
    let used = books.expect(
        &format!("/v1/coupons/{code}/redemptions"),
        json!({ "purchase_amount": "120.00", "reference": "books-pos-88", "member_id": dana }),
        201,
    )?;
    println!(
        "    At the bookstore she buys a 120.00 book: discount {} ILS, owed to Books by Threads.",
        used["discount"].as_str().unwrap_or("")
    );
    show(&used["receipt"]);
    let again = books.post(
        &format!("/v1/coupons/{code}/redemptions"),
        json!({ "purchase_amount": "120.00", "reference": "books-pos-89" }),
    )?;
    println!(
        "    The same code again: {} {}",
        again.status,
        again.body["code"].as_str().unwrap_or("")
    );
    let id = campaign["campaign_id"].as_str().unwrap_or("");
    let view = threads
        .send("GET", &format!("/v1/campaigns/{id}"), None, None)?
        .body;
    println!(
        "    Campaign: budget {}, reserved {}, used {}, remaining {}",
        view["budget"].as_str().unwrap_or(""),
        view["reserved"].as_str().unwrap_or(""),
        view["used"].as_str().unwrap_or(""),
        view["remaining"].as_str().unwrap_or("")
    );

    println!("\n11. Refusals that change nothing, and a member authorising another brand:");
    let overdraft = aroma.post(
        "/v1/redemptions",
        json!({ "member_id": dana, "unit": "AROMA", "points": "1000", "reference": "x" }),
    )?;
    println!(
        "    Aroma asks for 1000 AROMA: {} {}",
        overdraft.status,
        overdraft.body["code"].as_str().unwrap_or("")
    );
    let foreign = books.post(
        "/v1/redemptions",
        json!({ "member_id": dana, "unit": "AROMA", "points": "10", "reference": "x" }),
    )?;
    println!(
        "    The bookstore, which Dana has not joined, tries to spend her AROMA: {} {} (to it she is a stranger)",
        foreign.status,
        foreign.body["code"].as_str().unwrap_or("")
    );
    println!(
        "    So Dana authorises it in her wallet app (a member token from Aroma, then POST /v1/me/authorizations):"
    );
    let token = aroma.expect(
        &format!("/v1/members/{dana}/tokens"),
        json!({ "ttl_seconds": 300 }),
        201,
    )?;
    let token = token["token"].as_str().context("member token")?.to_owned();
    let authorization: Value = agent
        .post(&server.url("/v1/me/authorizations"))
        .header("Authorization", &format!("Bearer {token}"))
        .send_json(json!({ "partner": "books", "unit": "AROMA", "max_points": "60" }))?
        .body_mut()
        .read_json()?;
    let code = authorization["code"]
        .as_str()
        .context("authorization code")?;
    println!(
        "    code {code}: the bookstore may spend up to 60 AROMA of hers. It spends 50; Aroma owes Books 50 × 0.04 = 2.00 ILS."
    );
    show(&books.expect(
        "/v1/redemptions",
        json!({ "member_id": dana, "unit": "AROMA", "points": "50", "reference": "books-pos-90", "authorization": code }),
        201,
    )?);
    let over = books.post("/v1/redemptions", json!({ "member_id": dana, "unit": "AROMA", "points": "11", "reference": "books-pos-91", "authorization": code }))?;
    println!(
        "    11 more would pass the 60 she allowed: {} {}",
        over.status,
        over.body["code"].as_str().unwrap_or("")
    );

    println!("\n12. One member across brands:");
    let at_books = books.expect(
        "/v1/earn",
        json!({ "card_number": card, "points": "30", "reference": "books-pos-92" }),
        201,
    )?;
    println!(
        "    Dana shows her card at the bookstore: 30 PAGES to the same member {} — showing the card made Books one of her brands.",
        at_books["member_id"].as_str().unwrap_or("")
    );
    let wallet_token = aroma.expect(
        &format!("/v1/members/{dana}/tokens"),
        json!({ "scope": ["links", "profile"], "ttl_seconds": 300 }),
        201,
    )?;
    let wallet_token = wallet_token["token"].as_str().context("member token")?;
    let link: Value = agent
        .post(&server.url("/v1/me/links"))
        .header("Authorization", &format!("Bearer {wallet_token}"))
        .send_json(json!({ "partner": "threads" }))?
        .body_mut()
        .read_json()?;
    let joined = threads.expect(
        "/v1/members",
        json!({ "external_id": "th-dana", "link_code": link["code"] }),
        201,
    )?;
    println!(
        "    She joins Threads with link code {} from her wallet: member {} (linked: {}), no second wallet.",
        link["code"].as_str().unwrap_or(""),
        joined["member_id"].as_str().unwrap_or(""),
        joined["linked"]
    );

    let profile: Value = agent
        .get(&server.url("/v1/me/profile"))
        .header("Authorization", &format!("Bearer {wallet_token}"))
        .call()?
        .body_mut()
        .read_json()?;
    println!("    Her profile (GET /v1/me/profile), valued in ILS when each entry was posted:");
    for b in profile["brands"].as_array().into_iter().flatten() {
        let f = |k: &str| b[k].as_str().unwrap_or("").to_owned();
        let (visits, spend) = (&b["visits"], f("spend"));
        let (earned, redeemed) = (f("earned"), f("redeemed"));
        println!(
            "     {:<8} {visits} visits, spent {spend:>6}, earned {earned:>5}, redeemed {redeemed:>5}",
            f("partner")
        );
    }

    super::demo_programme::programme(
        &aroma,
        &books,
        &agent,
        &|path| server.url(path),
        &dana,
        wallet_token,
    )?;

    super::demo_offers::offers(
        &aroma,
        &books,
        &agent,
        &|path| server.url(path),
        clearing,
        &dana,
    )?;

    println!("\n15. Balances as Aroma sees them (Dana shares her balances):");
    let balances = aroma.send("GET", &format!("/v1/members/{dana}/balances"), None, None)?;
    for b in balances.body["balances"].as_array().into_iter().flatten() {
        println!(
            "     Dana holds {:>6} {}",
            b["balance"].as_str().unwrap_or(""),
            b["unit"].as_str().unwrap_or("")
        );
    }

    println!(
        "\n16. Month end: the network's finance team settles (coalition token --role finance, POST /v1/settlements)."
    );
    let finance = clearing.context().tokens.mint_finance(
        crate::clearing::tokens::Role::Finance,
        None,
        600,
        clearing.clock().now_secs(),
    )?;
    let bearer = format!("Bearer {finance}");
    let cutoff = crate::clearing::time::rfc3339(clearing.clock().now_us());
    std::thread::sleep(std::time::Duration::from_millis(2));
    let settlement: Value = agent
        .post(&server.url("/v1/settlements"))
        .header("Authorization", &bearer)
        .send_json(json!({ "cutoff": cutoff }))?
        .body_mut()
        .read_json()?;
    let id = settlement["settlement_id"]
        .as_str()
        .context("settlement id")?
        .to_owned();
    println!(
        "    settlement {id} at {cutoff}: each party's multilateral net (above zero the network pays it):"
    );
    for p in settlement["positions"].as_array().into_iter().flatten() {
        println!(
            "      {:<14} {:>8} {}",
            p["partner"].as_str().unwrap_or(""),
            p["net"].as_str().unwrap_or(""),
            p["currency"].as_str().unwrap_or("")
        );
    }
    for o in settlement["obligations"].as_array().into_iter().flatten() {
        println!(
            "      behind it: {} owes {} {}",
            o["from"].as_str().unwrap_or(""),
            o["to"].as_str().unwrap_or(""),
            o["amount"].as_str().unwrap_or("")
        );
    }
    let mut statement = agent
        .get(&server.url(&format!("/v1/settlements/{id}/statements/books")))
        .header("Authorization", &bearer)
        .header("Accept", "text/csv")
        .call()?;
    let signed = statement
        .headers()
        .get("statement-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let csv = statement.body_mut().read_to_string()?;
    let parts: Vec<&str> = signed.split('.').collect();
    let jwk_x = URL_SAFE_NO_PAD
        .decode(jwks["keys"][0]["x"].as_str().unwrap_or(""))
        .unwrap_or_default();
    let verified = match (<[u8; 32]>::try_from(jwk_x), parts.as_slice()) {
        (Ok(x), [header, "", sig]) => URL_SAFE_NO_PAD.decode(sig).is_ok_and(|sig| {
            PublicKey::from_bytes(x).verify(
                format!("{header}.{}", URL_SAFE_NO_PAD.encode(&csv)).as_bytes(),
                &sig,
            )
        }),
        _ => false,
    };
    println!("    The bookstore's statement (CSV, Statement-Signature verifies: {verified}):");
    for line in csv.lines() {
        println!("      {line}");
    }
    for p in settlement["positions"].as_array().into_iter().flatten() {
        let party = p["partner"].as_str().unwrap_or("");
        let net = p["net"].as_str().unwrap_or("0");
        if party == "network"
            || net
                .trim_start_matches('-')
                .chars()
                .all(|c| c == '0' || c == '.')
        {
            continue;
        }
        agent
            .post(&server.url(&format!("/v1/settlements/{id}/payments")))
            .header("Authorization", &bearer)
            .send_json(json!({ "partner": party, "amount": net.trim_start_matches('-'), "bank_reference": format!("wire-{party}") }))?;
    }
    let after: Value = agent
        .get(&server.url(&format!("/v1/settlements/{id}")))
        .header("Authorization", &bearer)
        .call()?
        .body_mut()
        .read_json()?;
    println!(
        "    After the bank transfers are confirmed, the settlement is {}.",
        after["status"].as_str().unwrap_or("")
    );

    super::demo_expiry::expiry(&threads, &agent, &|path| server.url(path), clearing, &dana)?;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    println!(
        "\n   Meanwhile, Aroma's own systems heard of everything it was party to (docs/webhooks.md):"
    );
    super::demo_webhooks::drain(&aroma)?;
    super::demo_webhooks::report(&hooks, &jwks)?;
    println!("\n18. coalition verify — every invariant over the whole ledger:");
    let checks = runtime.block_on(clearing.verify())?;
    for c in &checks {
        println!(
            "     {} {:<34} {}",
            if c.ok { "ok  " } else { "FAIL" },
            c.name,
            c.detail
        );
    }
    if !checks.iter().all(|c| c.ok) {
        bail!("the ledger failed verification");
    }
    Ok(dana)
}
