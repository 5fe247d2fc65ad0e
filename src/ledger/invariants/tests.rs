//! The invariants `verify` checks, each shown to find what it is for.
use rust_decimal::Decimal;

use super::*;
use crate::ledger::amount::Scale;
use crate::ledger::chain::RawPosting;
use crate::ledger::ids::Party;
use crate::ledger::unit::{Unit, UnitKind};

fn units() -> Units {
    Units::new([Unit {
        code: "AROMA".parse().unwrap(),
        scale: Scale::new(0).unwrap(),
        kind: UnitKind::Points {
            issuer: Party::Partner("aroma".parse().unwrap()),
            value: Decimal::ONE,
        },
    }])
}

const MEMBER: &str = "member:0190f7a4-0000-7000-8000-000000000001:AROMA";

fn chain(n: i64) -> Vec<RawEntry> {
    let mut prev = ChainHash::GENESIS.to_string();
    (1..=n)
        .map(|seq| {
            let mut e = RawEntry {
                id: format!("e{seq}"),
                seq,
                kind: "earn".into(),
                created_at_us: seq,
                partner: None,
                member: Some("0190f7a4-0000-7000-8000-000000000001".into()),
                reference: None,
                reverses: None,
                key_id: None,
                signature: None,
                memo: None,
                postings: vec![
                    RawPosting {
                        account: "issuer:aroma:AROMA".into(),
                        unit: "AROMA".into(),
                        amount_minor: 10,
                    },
                    RawPosting {
                        account: MEMBER.into(),
                        unit: "AROMA".into(),
                        amount_minor: -10,
                    },
                ],
                prev_hash: prev.clone(),
                hash: String::new(),
            };
            e.hash = e.compute_hash().to_string();
            prev = e.hash.clone();
            e
        })
        .collect()
}

fn balances(n: i64) -> Vec<RawBalance> {
    vec![
        RawBalance {
            account: "issuer:aroma:AROMA".into(),
            unit: "AROMA".into(),
            balance_minor: 10 * n,
        },
        RawBalance {
            account: MEMBER.into(),
            unit: "AROMA".into(),
            balance_minor: -10 * n,
        },
    ]
}

fn run(entries: &[RawEntry], balances: &[RawBalance]) -> Vec<Check> {
    let units = units();
    let mut v = Verifier::new(&units);
    entries.iter().for_each(|e| v.entry(e));
    v.finish(balances)
}

fn failed(checks: &[Check]) -> Vec<&str> {
    checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.name.as_str())
        .collect()
}

#[test]
fn a_sound_ledger_passes_every_check() {
    let checks = run(&chain(3), &balances(3));
    assert_eq!(checks.len(), 12);
    assert!(failed(&checks).is_empty(), "{checks:?}");
}

/// An earn that makes somebody other than its partner owe, or that credits another member,
/// is found; a network settlement line needs a network-funded tier bonus in the memo.
#[test]
fn earns_only_make_their_partner_or_a_funding_network_owe() {
    let with = |postings: Vec<(&str, &str, i64)>, memo: Option<&str>| {
        let mut entries = chain(1);
        let e = &mut entries[0];
        e.partner = Some("books".into());
        e.memo = memo.map(str::to_owned);
        e.postings = postings
            .into_iter()
            .map(|(account, unit, amount_minor)| RawPosting {
                account: account.into(),
                unit: unit.into(),
                amount_minor,
            })
            .collect();
        e.hash = e.compute_hash().to_string();
        failed(&run(&entries, &[])).contains(&"earns_owe_the_issuer")
    };
    let points = [("issuer:aroma:AROMA", "AROMA", 10), (MEMBER, "AROMA", -10)];
    let owed = |debtor: &'static str| {
        let mut p = points.to_vec();
        p.push((debtor, "ILS", 40));
        p.push(("settlement:aroma:ILS", "ILS", -40));
        p
    };
    assert!(
        !with(owed("settlement:books:ILS"), None),
        "its partner owes"
    );
    assert!(
        with(owed("settlement:threads:ILS"), None),
        "another partner owes"
    );
    assert!(
        with(owed("settlement:network:ILS"), None),
        "the network owes, unfunded"
    );
    let funded = r#"{"tier_bonus":{"tier":"Gold","points":"1","funded_by":"network"}}"#;
    assert!(!with(owed("settlement:network:ILS"), Some(funded)));
    let mut elsewhere = owed("settlement:books:ILS");
    elsewhere[3].0 = "settlement:threads:ILS";
    assert!(with(elsewhere, None), "owed to somebody not the issuer");
    let other_member = vec![
        ("issuer:aroma:AROMA", "AROMA", 10),
        (
            "member:0190f7a4-0000-7000-8000-000000000002:AROMA",
            "AROMA",
            -10,
        ),
    ];
    assert!(with(other_member, None), "credits another member");
}

/// A subscription only makes its seller owe the network's fees.
#[test]
fn subscriptions_only_make_their_seller_owe_fees() {
    let with = |debtor: &str| {
        let mut entries = chain(1);
        let e = &mut entries[0];
        e.kind = "subscription".into();
        e.partner = Some("books".into());
        e.postings = vec![
            RawPosting {
                account: debtor.into(),
                unit: "ILS".into(),
                amount_minor: 9_900,
            },
            RawPosting {
                account: "network:fees:ILS".into(),
                unit: "ILS".into(),
                amount_minor: -9_900,
            },
        ];
        e.hash = e.compute_hash().to_string();
        failed(&run(&entries, &[])).contains(&"subscriptions_are_fees")
    };
    assert!(!with("settlement:books:ILS"));
    assert!(with("settlement:aroma:ILS"));
    assert!(with("settlement:network:ILS"));
}

/// A reward claim is a redemption at its partner: the issuer owes, only the reward's partner
/// (and the network's fees) is owed, and only its member's points move.
#[test]
fn reward_claims_are_found_when_somebody_else_is_paid() {
    let with = |paid: &str, member_line: &str| {
        let mut entries = chain(1);
        let e = &mut entries[0];
        e.kind = "reward_claim".into();
        e.partner = Some("books".into());
        let line = |account: &str, unit: &str, amount_minor: i64| RawPosting {
            account: account.into(),
            unit: unit.into(),
            amount_minor,
        };
        e.postings = vec![
            line(member_line, "AROMA", 250),
            line("issuer:aroma:AROMA", "AROMA", -250),
            line("settlement:aroma:ILS", "ILS", 1_000),
            line(paid, "ILS", -1_000),
        ];
        e.hash = e.compute_hash().to_string();
        failed(&run(&entries, &[])).contains(&"reward_claims_are_redemptions")
    };
    assert!(!with("settlement:books:ILS", MEMBER));
    assert!(!with("network:fees:ILS", MEMBER));
    assert!(with("settlement:fuelup:ILS", MEMBER));
    assert!(with(
        "settlement:books:ILS",
        "member:00000000-0000-4000-8000-000000000099:AROMA"
    ));
}

#[test]
fn an_empty_ledger_passes() {
    assert!(failed(&run(&[], &[])).is_empty());
}

#[test]
fn tampering_is_found() {
    let mut entries = chain(3);
    entries[1].postings[0].amount_minor = 11;
    let checks = run(&entries, &balances(3));
    assert_eq!(
        failed(&checks),
        ["hash_chain", "entries_balance", "balances_match_postings"]
    );

    let mut entries = chain(3);
    entries.remove(1);
    assert_eq!(failed(&run(&entries, &balances(2))), ["hash_chain"]);
}

/// A forfeiture (and a points expiry) gives the member's points back to their issuer and
/// does nothing else: one that also moves money, or takes points from another member, is
/// found.
#[test]
fn forfeitures_and_expiries_only_release_liability() {
    for (kind, check) in [
        ("forfeiture", "forfeitures_release_liability"),
        ("points_expiry", "expiries_release_liability"),
    ] {
        releases_only(kind, check);
    }
}

fn releases_only(kind: &str, check: &str) {
    let forfeit = |postings: Vec<(&str, &str, i64)>| -> Vec<RawEntry> {
        let mut entries = chain(2);
        let last = &mut entries[1];
        last.kind = kind.into();
        last.member = Some("0190f7a4-0000-7000-8000-000000000001".into());
        last.postings = postings
            .into_iter()
            .map(|(account, unit, amount_minor)| RawPosting {
                account: account.into(),
                unit: unit.into(),
                amount_minor,
            })
            .collect();
        last.hash = last.compute_hash().to_string();
        entries
    };
    let sound = forfeit(vec![
        (MEMBER, "AROMA", 10),
        ("issuer:aroma:AROMA", "AROMA", -10),
    ]);
    let names = |entries: &[RawEntry]| -> Vec<String> {
        let checks = run(entries, &balances(0));
        failed(&checks).iter().map(|s| (*s).to_owned()).collect()
    };
    assert!(!names(&sound).contains(&check.to_owned()));
    let with_money = forfeit(vec![
        (MEMBER, "AROMA", 10),
        ("issuer:aroma:AROMA", "AROMA", -10),
        ("settlement:aroma:ILS", "ILS", 40),
        ("settlement:books:ILS", "ILS", -40),
    ]);
    assert!(names(&with_money).contains(&check.to_owned()));
    let other = "member:0190f7a4-0000-7000-8000-000000000002:AROMA";
    let someone_else = forfeit(vec![
        (other, "AROMA", 10),
        ("issuer:aroma:AROMA", "AROMA", -10),
    ]);
    assert!(names(&someone_else).contains(&check.to_owned()));
}

#[test]
fn coupon_reservations_must_match_commitments() {
    let campaign = "campaign:0190f7a4-0000-7000-8000-000000000009:ILS";
    let mut b = balances(3);
    b.push(RawBalance {
        account: campaign.into(),
        unit: "ILS".into(),
        balance_minor: -1500,
    });
    b.push(RawBalance {
        account: "commitment:books:ILS".into(),
        unit: "ILS".into(),
        balance_minor: 1500,
    });
    let units = units();
    let mut v = Verifier::new(&units);
    chain(3).iter().for_each(|e| v.entry(e));
    let checks = v.finish(&b);
    assert!(
        checks
            .iter()
            .find(|c| c.name == "coupon_reservations_backed")
            .unwrap()
            .ok
    );
    b[3].balance_minor = 1400;
    let mut v = Verifier::new(&units);
    chain(3).iter().for_each(|e| v.entry(e));
    let checks = v.finish(&b);
    assert!(
        !checks
            .iter()
            .find(|c| c.name == "coupon_reservations_backed")
            .unwrap()
            .ok
    );
}

#[test]
fn balance_drift_is_found() {
    let mut b = balances(3);
    b[1].balance_minor += 10;
    b[0].balance_minor -= 10;
    assert_eq!(failed(&run(&chain(3), &b)), ["balances_match_postings"]);
    let mut b = balances(3);
    b[1].balance_minor = 5;
    assert_eq!(
        failed(&run(&chain(3), &b)),
        [
            "balances_match_postings",
            "trial_balance_zero",
            "no_negative_member_balance",
            "points_backed_by_issuer"
        ]
    );
}
