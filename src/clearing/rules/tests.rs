//! The posting rules' examples: who owes whom, to the cent.

use std::collections::BTreeMap;
use std::str::FromStr;

use super::*;
use crate::ledger::{AccountKind, EntryKind, Scale, UnitCode, Units};

fn network(fee_bps: u32) -> Network {
    let ils: UnitCode = "ILS".parse().unwrap();
    let points = |code: &str, issuer: Party, value: &str| Unit {
        code: code.parse().unwrap(),
        scale: Scale::new(0).unwrap(),
        kind: UnitKind::Points {
            issuer,
            value: Decimal::from_str(value).unwrap(),
        },
    };
    Network {
        name: "test".into(),
        settlement_currency: ils.clone(),
        currency_scale: Scale::new(2).unwrap(),
        fee_bps,
        card_prefix: crate::ledger::CardPrefix::default(),
        units: Units::new([
            Unit {
                code: ils,
                scale: Scale::new(2).unwrap(),
                kind: UnitKind::Currency,
            },
            points("AROMA", Party::Partner("aroma".parse().unwrap()), "0.04"),
            points("TINY", Party::Partner("aroma".parse().unwrap()), "0.004"),
            points("ODD", Party::Partner("aroma".parse().unwrap()), "0.045"),
        ]),
        partners: BTreeMap::new(),
        key_owners: BTreeMap::new(),
        time_zone_name: "UTC".into(),
        time_zone: jiff::tz::TimeZone::UTC,
        tiers: None,
        expiry: Default::default(),
    }
}

fn pts(n: i64) -> Amount {
    Amount::from_minor(n, Scale::new(0).unwrap())
}

fn settlement_lines(draft: &EntryDraft) -> Vec<(String, String)> {
    draft
        .postings
        .iter()
        .filter(|p| !matches!(p.account.kind(), AccountKind::Member | AccountKind::Issuer))
        .map(|p| (p.account.to_string(), p.amount.to_string()))
        .collect()
}

#[test]
fn values_round_half_to_even() {
    let net = network(0);
    let odd = net.units.get(&"ODD".parse().unwrap()).unwrap().clone();
    // 0.045 a point: 1 → 0.045 → 0.04; 3 → 0.135 → 0.14; 5 → 0.225 → 0.22.
    for (n, want) in [(1, "0.04"), (3, "0.14"), (5, "0.22"), (7, "0.32")] {
        assert_eq!(
            clearing_value(pts(n), &odd, &net).unwrap().to_string(),
            want,
            "{n} points"
        );
    }
}

#[test]
fn fees_come_out_of_the_accepting_partners_share() {
    let net = network(250); // 2.5%
    let meta = EntryMeta::new(EntryKind::Redemption);
    let d = redeem(
        &net,
        &"books".parse().unwrap(),
        MemberId::random(),
        &"AROMA".parse().unwrap(),
        pts(50),
        meta,
    )
    .unwrap();
    assert_eq!(
        settlement_lines(&d),
        [
            ("settlement:aroma:ILS".to_owned(), "2.00".to_owned()),
            ("settlement:books:ILS".to_owned(), "-1.95".to_owned()),
            ("network:fees:ILS".to_owned(), "-0.05".to_owned()),
        ]
    );
    assert!(d.balance(&net.units).is_ok());
}

/// Books awards 100 AROMA and the network funds a 10-point tier bonus: Books owes Aroma
/// 4.00, the network 0.40, and Aroma is owed both on one line.
#[test]
fn a_network_funded_bonus_is_owed_by_the_network() {
    let net = network(250);
    let d = earn_with_bonus(
        &net,
        &"books".parse().unwrap(),
        MemberId::random(),
        &"AROMA".parse().unwrap(),
        (pts(100), pts(10)),
        EntryMeta::new(EntryKind::Earn),
    )
    .unwrap();
    assert_eq!(
        settlement_lines(&d),
        [
            ("settlement:books:ILS".to_owned(), "4.00".to_owned()),
            ("settlement:network:ILS".to_owned(), "0.40".to_owned()),
            ("settlement:aroma:ILS".to_owned(), "-4.40".to_owned()),
        ],
        "no fee on an earn"
    );
    let member_points: Vec<String> = d
        .postings
        .iter()
        .filter(|p| p.account.kind() == AccountKind::Member)
        .map(|p| p.amount.to_string())
        .collect();
    assert_eq!(member_points, ["-110"]);
    assert!(d.balance(&net.units).is_ok());
    // Aroma's own earn with the network's bonus: only the network owes.
    let own = earn_with_bonus(
        &net,
        &"aroma".parse().unwrap(),
        MemberId::random(),
        &"AROMA".parse().unwrap(),
        (pts(100), pts(10)),
        EntryMeta::new(EntryKind::Earn),
    )
    .unwrap();
    assert_eq!(
        settlement_lines(&own),
        [
            ("settlement:network:ILS".to_owned(), "0.40".to_owned()),
            ("settlement:aroma:ILS".to_owned(), "-0.40".to_owned()),
        ]
    );
}

#[test]
fn no_settlement_within_the_issuer_or_below_one_cent() {
    let net = network(0);
    let meta = || EntryMeta::new(EntryKind::Earn);
    let aroma: PartnerId = "aroma".parse().unwrap();
    let own = earn(
        &net,
        &aroma,
        MemberId::random(),
        &"AROMA".parse().unwrap(),
        pts(50),
        meta(),
    )
    .unwrap();
    assert!(settlement_lines(&own).is_empty());
    // 1 TINY point is worth 0.004 ILS: rounds to 0.00, so only points move.
    let books: PartnerId = "books".parse().unwrap();
    let tiny = earn(
        &net,
        &books,
        MemberId::random(),
        &"TINY".parse().unwrap(),
        pts(1),
        meta(),
    )
    .unwrap();
    assert!(settlement_lines(&tiny).is_empty());
    let more = earn(
        &net,
        &books,
        MemberId::random(),
        &"TINY".parse().unwrap(),
        pts(3),
        meta(),
    )
    .unwrap();
    assert_eq!(
        settlement_lines(&more),
        [
            ("settlement:books:ILS".to_owned(), "0.01".to_owned()),
            ("settlement:aroma:ILS".to_owned(), "-0.01".to_owned())
        ]
    );
}
