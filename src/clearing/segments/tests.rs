//! The definition's checks and the evaluation's rules on hand-made facts: what a partner knows
//! only with consent, what counts as its own brand, how time and tiers compare.

use serde_json::json;

use super::definition::{self, BrandFacts, ConditionInput, MemberFacts, Viewer};
use crate::clearing::time::DAY_US;
use crate::partners::Network;

fn demo() -> Network {
    Network::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("partners")).unwrap()
}

fn conditions(all: serde_json::Value) -> Vec<definition::Condition> {
    let input: Vec<ConditionInput> = serde_json::from_value(all).unwrap();
    definition::parse(&demo(), &input).unwrap()
}

const NOW: i64 = 1_000 * DAY_US;

/// A member linked to aroma (sharing their profile or not) who visited the bookstore once, 40
/// days ago, and Aroma three times in the last 30 days.
fn member(shares: bool) -> MemberFacts {
    let mut f = MemberFacts::default();
    f.links.insert("aroma".into(), shares);
    f.brands.insert(
        "aroma".into(),
        BrandFacts {
            visits_30d: 3,
            visits_90d: 3,
            spend_365d_minor: 12_000,
            last_visit_us: Some(NOW - 2 * DAY_US),
        },
    );
    f.brands.insert(
        "books".into(),
        BrandFacts {
            visits_30d: 0,
            visits_90d: 1,
            spend_365d_minor: 5_000,
            last_visit_us: Some(NOW - 40 * DAY_US),
        },
    );
    f.interactions_30d
        .insert(("aroma".into(), "review".into()), 2);
    f.interactions_30d
        .insert(("books".into(), "review".into()), 5);
    f
}

fn holds(all: serde_json::Value, f: &MemberFacts, viewer: Viewer<'_>) -> bool {
    definition::holds(&conditions(all), f, viewer, NOW)
}

#[test]
fn a_partner_measures_its_own_brand_and_others_only_with_consent() {
    let aroma = Viewer::Partner("aroma");
    for shares in [false, true] {
        let f = member(shares);
        assert!(holds(
            json!([{ "metric": "visits_90d", "op": "eq", "value": 3 }]),
            &f,
            aroma
        ));
        assert!(holds(
            json!([{ "metric": "spend_365d", "op": "eq", "value": "120.00" }]),
            &f,
            aroma
        ));
        assert!(holds(
            json!([{ "metric": "days_since_last_visit", "op": "eq", "value": 2 }]),
            &f,
            aroma
        ));
        assert!(holds(
            json!([{ "metric": "interactions_30d:review", "op": "eq", "value": 2 }]),
            &f,
            aroma
        ));
        assert!(holds(
            json!([{ "metric": "visited:aroma", "op": "eq", "value": true }]),
            &f,
            aroma
        ));
        // Other brands: known only when shared, and then as they are.
        assert_eq!(
            holds(
                json!([{ "metric": "visited:books", "op": "eq", "value": true }]),
                &f,
                aroma
            ),
            shares
        );
        assert!(!holds(
            json!([{ "metric": "visited:books", "op": "eq", "value": false }]),
            &f,
            aroma
        ));
        assert_eq!(
            holds(
                json!([{ "metric": "brands_used", "op": "eq", "value": 2 }]),
                &f,
                aroma
            ),
            shares
        );
        assert!(
            !holds(
                json!([{ "metric": "brands_used", "op": "lt", "value": 99 }]),
                &f,
                aroma
            ) || shares
        );
    }
    // Not linked to the segment's owner: never in it, whatever it asks.
    let f = member(true);
    assert!(!holds(
        json!([{ "metric": "visits_30d", "op": "ge", "value": 0 }]),
        &f,
        Viewer::Partner("books")
    ));
}

#[test]
fn the_network_measures_every_brand() {
    let f = member(false);
    let net = Viewer::Network;
    assert!(holds(
        json!([{ "metric": "visits_90d", "op": "eq", "value": 4 }]),
        &f,
        net
    ));
    assert!(holds(
        json!([{ "metric": "spend_365d", "op": "eq", "value": "170.00" }]),
        &f,
        net
    ));
    assert!(holds(
        json!([{ "metric": "days_since_last_visit", "op": "eq", "value": 2 }]),
        &f,
        net
    ));
    assert!(holds(
        json!([{ "metric": "interactions_30d:review", "op": "eq", "value": 7 }]),
        &f,
        net
    ));
    assert!(holds(
        json!([{ "metric": "brands_used", "op": "eq", "value": 2 }]),
        &f,
        net
    ));
    assert!(holds(
        json!([{ "metric": "visited:fuelup", "op": "eq", "value": false }]),
        &f,
        net
    ));
    // Every condition must hold.
    assert!(!holds(
        json!([{ "metric": "brands_used", "op": "eq", "value": 2 }, { "metric": "visits_30d", "op": "gt", "value": 3 }]),
        &f,
        net
    ));
}

#[test]
fn time_and_tiers_compare_as_they_should() {
    let mut f = MemberFacts::default();
    let net = Viewer::Network;
    // Never visited: no days since a last visit, so in no segment that asks.
    for op in ["lt", "ge", "ne"] {
        assert!(!holds(
            json!([{ "metric": "days_since_last_visit", "op": op, "value": 0 }]),
            &f,
            net
        ));
    }
    assert!(holds(
        json!([{ "metric": "tier", "op": "eq", "value": "Member" }]),
        &f,
        net
    ));
    f.tier_rank = 1;
    assert!(holds(
        json!([{ "metric": "tier", "op": "ge", "value": "Gold" }]),
        &f,
        net
    ));
    assert!(!holds(
        json!([{ "metric": "tier", "op": "ge", "value": "Club+" }]),
        &f,
        net
    ));
    assert!(holds(
        json!([{ "metric": "tier", "op": "ne", "value": "Member" }]),
        &f,
        net
    ));
}

#[test]
fn definitions_are_checked() {
    let net = demo();
    let bad = |all: serde_json::Value| {
        let input: Vec<ConditionInput> = serde_json::from_value(all).unwrap();
        definition::parse(&net, &input).unwrap_err().to_string()
    };
    assert!(bad(json!([])).contains("1 to 20"));
    let many: Vec<_> = (0..21)
        .map(|_| json!({ "metric": "visits_30d", "op": "ge", "value": 1 }))
        .collect();
    assert!(bad(json!(many)).contains("1 to 20"));
    assert!(bad(json!([{ "metric": "visits_30d", "op": "ge", "value": 1 }, { "metric": "x", "op": "ge", "value": 1 }]))
        .starts_with("all[1]: unknown metric `x`"));
    assert!(
        bad(json!([{ "metric": "visits_30d", "op": "ge", "value": -1 }])).contains("whole number")
    );
    assert!(
        bad(json!([{ "metric": "visits_30d", "op": "ge", "value": 1.5 }])).contains("whole number")
    );
    assert!(
        bad(json!([{ "metric": "spend_365d", "op": "ge", "value": "-1.00" }]))
            .contains("non-negative")
    );
    assert!(
        bad(json!([{ "metric": "visited:books", "op": "eq", "value": 1 }]))
            .contains("true or false")
    );
}
