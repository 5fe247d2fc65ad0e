//! The demo's programme step: earn rules on a basket (quoted, then earned), a paid tier sold at
//! the bookstore's till, the member's tier, and an earn with the tier's bonus.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::demo_client::Partner;

/// `id points · id points …` of a receipt's or a quote's rules, and its tier bonus.
fn rules(v: &Value) -> String {
    let mut parts: Vec<String> = v["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            format!(
                "{} {}",
                r["id"].as_str().unwrap_or(""),
                r["points"].as_str().unwrap_or("")
            )
        })
        .collect();
    if let Some(bonus) = v["tier_bonus"].as_str().filter(|b| *b != "0") {
        parts.push(format!(
            "{} bonus {bonus}",
            v["tier"].as_str().unwrap_or("tier")
        ));
    }
    parts.join(" · ")
}

pub(super) fn programme(
    aroma: &Partner<'_>,
    books: &Partner<'_>,
    agent: &ureq::Agent,
    url: &dyn Fn(&str) -> String,
    dana: &str,
    token: &str,
) -> Result<()> {
    println!("\n13. The programme: earn rules, tiers and a paid tier (partners/*.toml).");
    let basket = json!({ "member_id": dana, "purchase": { "amount": "32.00", "currency": "ILS", "lines": [
        { "sku": "ESP-2", "category": "coffee", "amount": "18.00", "quantity": 2 },
        { "sku": "CRO-1", "category": "pastry", "amount": "14.00" } ] } });
    let quote = aroma.send("POST", "/v1/earn/quote", Some(&basket), None)?;
    if quote.status != 200 {
        bail!("quote failed: {}", quote.body);
    }
    let mut earn = basket.clone();
    earn["reference"] = json!("aroma-pos-1107");
    let earned = aroma.expect("/v1/earn", earn, 201)?;
    println!(
        "    A basket at Aroma (coffee 18.00, pastry 14.00; coffee earns double Sunday to Thursday 07:00-11:00, Jerusalem time): quoted {} AROMA, earned {} ({}); quote equals earn: {}",
        quote.body["points"].as_str().unwrap_or(""),
        earned["points"].as_str().unwrap_or(""),
        rules(&earned),
        quote.body["points"] == earned["points"] && quote.body["rules"] == earned["rules"]
    );
    let club = books.expect(
        &format!("/v1/members/{dana}/subscriptions"),
        json!({ "tier": "Club+", "reference": "books-pos-club" }),
        201,
    )?;
    println!(
        "    The bookstore sells Dana Club+ for {} ILS (it owes the price to the network's fees): until {}",
        club["price"].as_str().unwrap_or(""),
        club["ends_at"].as_str().unwrap_or("")
    );
    let tier: Value = agent
        .get(&url("/v1/me/tier"))
        .header("Authorization", &format!("Bearer {token}"))
        .call()?
        .body_mut()
        .read_json()?;
    println!(
        "    GET /v1/me/tier: {} since {}, qualifying spend {} ILS — {}",
        tier["tier"].as_str().unwrap_or(""),
        tier["since"].as_str().unwrap_or(""),
        tier["qualifying"].as_str().unwrap_or(""),
        tier["history"][0]["reason"].as_str().unwrap_or("")
    );
    let books_basket = json!({ "member_id": dana, "reference": "books-pos-93", "purchase": { "amount": "100.00", "currency": "ILS", "lines": [
        { "sku": "978-0", "category": "books", "amount": "80.00" },
        { "sku": "PEN-1", "category": "stationery", "amount": "20.00" } ] } });
    let at_books = books.expect("/v1/earn", books_basket, 201)?;
    println!(
        "    100.00 ILS at the bookstore as Club+: {} PAGES ({}); the network pays for the tier bonus",
        at_books["points"].as_str().unwrap_or(""),
        rules(&at_books)
    );
    let listed = at_books["rules"]
        .as_array()
        .context("rules on the receipt")?;
    if listed.is_empty() {
        bail!("the receipt lists no rules");
    }
    Ok(())
}
