//! `coalition bench --basket`: Aroma's earns carry a five-line basket and Aroma has ten earn
//! rules that all apply to it (no hours or days, so every run measures the same work), against
//! the plain purchase of the default run.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Value, json};

/// Ten rules over the basket's five categories: every kind, minimum basket, first purchase and
/// tiers, each matching.
const RULES: &str = r#"
[[earn.rules]]
id = "coffee-double"
kind = "multiplier"
factor = "2"
categories = ["coffee"]

[[earn.rules]]
id = "pastry-half"
kind = "multiplier"
factor = "1.5"
categories = ["pastry"]

[[earn.rules]]
id = "beans-bonus"
kind = "bonus"
points = "5"
categories = ["beans"]

[[earn.rules]]
id = "merch-back"
kind = "percent"
percent = "5"
categories = ["merch"]

[[earn.rules]]
id = "all-back"
kind = "percent"
percent = "2"

[[earn.rules]]
id = "basket-ten"
kind = "bonus"
points = "1"
min_basket = "10.00"

[[earn.rules]]
id = "gift-triple"
kind = "multiplier"
factor = "3"
categories = ["gift"]

[[earn.rules]]
id = "breakfast"
kind = "percent"
percent = "1"
categories = ["coffee", "pastry"]

[[earn.rules]]
id = "welcome"
kind = "bonus"
points = "2"
first_purchase = true

[[earn.rules]]
id = "members"
kind = "bonus"
points = "1"
tiers = ["Member", "Gold", "Club+"]
"#;

/// Gives Aroma's manifest in `partners` the ten rules, in place of its own.
pub fn add_rules(partners: &Path) -> Result<()> {
    let path = partners.join("aroma.toml");
    let text = std::fs::read_to_string(&path).context("aroma.toml in the bench's manifests")?;
    let mut table: toml::Table = toml::from_str(&text)?;
    let rules: toml::Table = toml::from_str(RULES)?;
    let earn = table
        .get_mut("earn")
        .and_then(toml::Value::as_table_mut)
        .context("aroma.toml needs an [earn] rate for the basket bench")?;
    earn.insert("rules".into(), rules["earn"]["rules"].clone());
    std::fs::write(&path, toml::to_string(&table)?)?;
    Ok(())
}

/// The earn of 12.50 ILS the bench posts: with five lines in basket mode, without otherwise.
pub fn earn_body(member: &str, reference: &str, basket: bool) -> Value {
    let lines = [
        ("coffee", "4.00"),
        ("pastry", "3.50"),
        ("beans", "2.00"),
        ("merch", "1.50"),
        ("gift", "1.50"),
    ];
    let mut purchase = json!({ "amount": "12.50", "currency": "ILS" });
    if basket {
        purchase["lines"] = lines
            .iter()
            .map(|(c, a)| json!({ "sku": format!("{c}-1"), "category": c, "amount": a, "quantity": 1 }))
            .collect();
    }
    json!({ "member_id": member, "purchase": purchase, "reference": reference })
}
