//! The earn rules' examples and laws.

use super::*;
use proptest::prelude::*;

/// Aroma's unit: 1 point per ILS, worth 0.04 ILS, whole points.
const AROMA: Earning = Earning {
    rate: Decimal::ONE,
    point_value: Decimal::from_parts(4, 0, 0, false, 2),
    unit_places: 0,
};

fn rule(id: &str, kind: RuleKind) -> Rule {
    Rule {
        id: id.to_owned(),
        kind,
        categories: None,
        days: None,
        hours: None,
        min_basket: None,
        tiers: None,
        first_purchase: false,
        valid_from: None,
        valid_until: None,
    }
}

fn at(weekday: Weekday, hh: u16, mm: u16) -> LocalTime {
    LocalTime {
        day: (2026, 12, 7),
        weekday,
        minute_of_day: hh * 60 + mm,
    }
}

fn line(category: &str, amount: &str) -> Line {
    Line {
        category: Some(category.to_owned()),
        amount: amount.parse().unwrap(),
    }
}

fn basket(lines: Vec<Line>) -> Basket {
    Basket {
        amount: lines.iter().map(|l| l.amount).sum(),
        lines,
    }
}

const MEMBER: MemberState<'static> = MemberState {
    tier: None,
    first_purchase: false,
};

fn points(awards: &[Awarded]) -> Vec<(&str, String)> {
    awards
        .iter()
        .map(|a| (a.rule.as_str(), a.points.to_string()))
        .collect()
}

#[test]
fn the_morning_double_doubles_coffee_on_weekday_mornings_only() {
    let mut double = rule(
        "morning-double",
        RuleKind::Multiplier {
            factor: Decimal::TWO,
        },
    );
    double.categories = Some(vec!["coffee".into()]);
    double.days = Some(vec![
        Weekday::Sun,
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
    ]);
    double.hours = Some(Hours {
        start_minute: 7 * 60,
        end_minute: 11 * 60,
    });
    let rules = [double];
    let b = basket(vec![line("coffee", "30.00"), line("pastry", "10.00")]);
    let earn = |when| award(AROMA, &rules, &b, MEMBER, when).unwrap();
    assert_eq!(
        points(&earn(at(Weekday::Mon, 8, 30))),
        [("base", "40".into()), ("morning-double", "30".into())]
    );
    // `hours` is [start, end): 11:00 is past it; Friday is not one of its days.
    assert_eq!(
        points(&earn(at(Weekday::Mon, 11, 0))),
        [("base", "40".into())]
    );
    assert_eq!(
        points(&earn(at(Weekday::Fri, 8, 30))),
        [("base", "40".into())]
    );
    // A basket without coffee matches no line: no points from the rule.
    let tea = basket(vec![line("tea", "40.00")]);
    assert_eq!(
        points(&award(AROMA, &rules, &tea, MEMBER, at(Weekday::Mon, 8, 30)).unwrap()),
        [("base", "40".into())]
    );
}

#[test]
fn hours_may_cross_midnight() {
    let late = Hours {
        start_minute: 22 * 60,
        end_minute: 2 * 60,
    };
    assert!(late.contains(23 * 60) && late.contains(0) && late.contains(2 * 60 - 1));
    assert!(!late.contains(2 * 60) && !late.contains(22 * 60 - 1));
}

#[test]
fn bonus_percent_tiers_first_purchase_and_validity_each_hold() {
    let mut big = rule(
        "big-basket",
        RuleKind::Bonus {
            points: "25".parse().unwrap(),
        },
    );
    big.min_basket = Some("100.00".parse().unwrap());
    let mut books = rule(
        "books-10",
        RuleKind::Percent {
            percent: "10".parse().unwrap(),
        },
    );
    books.tiers = Some(vec!["Gold".into()]);
    let mut welcome = rule(
        "welcome",
        RuleKind::Bonus {
            points: "50".parse().unwrap(),
        },
    );
    welcome.first_purchase = true;
    let mut december = rule(
        "december",
        RuleKind::Bonus {
            points: "5".parse().unwrap(),
        },
    );
    december.valid_from = Some((2026, 12, 1));
    december.valid_until = Some((2026, 12, 7));
    let rules = [big, books, welcome, december];
    let b = |amount: &str| basket(vec![line("novel", amount)]);
    let now = at(Weekday::Mon, 12, 0);
    // 99.99: under the minimum basket; not Gold; not a first purchase; 7 December is past
    // the exclusive end.
    assert_eq!(
        points(&award(AROMA, &rules, &b("99.99"), MEMBER, now).unwrap()),
        [("base", "99".into())]
    );
    let gold_first = MemberState {
        tier: Some("Gold"),
        first_purchase: true,
    };
    let mut on_the_6th = now;
    on_the_6th.day = (2026, 12, 6);
    // 10 % of 100 ILS is 10 ILS, at 0.04 ILS a point: 250 points.
    assert_eq!(
        points(&award(AROMA, &rules, &b("100.00"), gold_first, on_the_6th).unwrap()),
        [
            ("base", "100".into()),
            ("big-basket", "25".into()),
            ("books-10", "250".into()),
            ("welcome", "50".into()),
            ("december", "5".into())
        ]
    );
}

#[test]
fn each_rule_is_rounded_down_on_its_own() {
    let earning = Earning {
        rate: "1.5".parse().unwrap(),
        ..AROMA
    };
    let half = rule(
        "half-more",
        RuleKind::Multiplier {
            factor: "1.5".parse().unwrap(),
        },
    );
    let b = basket(vec![line("coffee", "3.33")]);
    // base 4.995 → 4; the rule 0.5 × 1.5 × 3.33 = 2.4975 → 2 (never summed before rounding).
    assert_eq!(
        points(&award(earning, &[half], &b, MEMBER, at(Weekday::Mon, 9, 0)).unwrap()),
        [("base", "4".into()), ("half-more", "2".into())]
    );
    assert_eq!(
        tier_bonus("45".parse().unwrap(), "10".parse().unwrap(), 0)
            .unwrap()
            .to_string(),
        "4"
    );
    assert_eq!(
        tier_bonus("45".parse().unwrap(), "10".parse().unwrap(), 1)
            .unwrap()
            .to_string(),
        "4.5"
    );
}

#[test]
fn baskets_that_do_not_add_up_are_refused() {
    let mut b = basket(vec![line("coffee", "10.00"), line("tea", "5.00")]);
    b.amount = "15.01".parse().unwrap();
    assert!(matches!(
        check_basket(&b),
        Err(BasketError::LinesDoNotAddUp { .. })
    ));
    let zero = Basket {
        amount: Decimal::ONE,
        lines: vec![line("coffee", "1.00"), line("tea", "0")],
    };
    assert_eq!(check_basket(&zero), Err(BasketError::LineNotPositive(2)));
    let long = basket((0..=MAX_BASKET_LINES).map(|_| line("x", "1")).collect());
    assert_eq!(check_basket(&long), Err(BasketError::TooManyLines));
    let none = Basket {
        amount: "12.50".parse().unwrap(),
        lines: vec![],
    };
    assert_eq!(check_basket(&none), Ok(()));
}

fn weekday() -> impl Strategy<Value = Weekday> {
    prop_oneof![
        Just(Weekday::Mon),
        Just(Weekday::Tue),
        Just(Weekday::Wed),
        Just(Weekday::Thu),
        Just(Weekday::Fri),
        Just(Weekday::Sat),
        Just(Weekday::Sun)
    ]
}

fn cents(max: i64) -> impl Strategy<Value = Decimal> {
    (1..max).prop_map(|c| Decimal::new(c, 2))
}

fn any_rule() -> impl Strategy<Value = Rule> {
    let kind = prop_oneof![
        (100i64..500).prop_map(|f| RuleKind::Multiplier {
            factor: Decimal::new(f, 2)
        }),
        (0i64..1000).prop_map(|p| RuleKind::Bonus {
            points: Decimal::new(p, 1)
        }),
        (0i64..5000).prop_map(|p| RuleKind::Percent {
            percent: Decimal::new(p, 2)
        }),
    ];
    (
        kind,
        proptest::option::of(Just(vec!["coffee".to_owned()])),
        proptest::option::of(weekday()),
        proptest::option::of((0u16..1440, 0u16..1440)),
        proptest::option::of(cents(20_000)),
        any::<bool>(),
    )
        .prop_filter("hours are never empty", |(.., h, _, _)| {
            h.is_none_or(|(s, e)| s != e)
        })
        .prop_map(
            |(kind, categories, day, hours, min_basket, first_purchase)| Rule {
                id: "r".into(),
                kind,
                categories,
                days: day.map(|d| vec![d]),
                hours: hours.map(|(s, e)| Hours {
                    start_minute: s,
                    end_minute: e,
                }),
                min_basket,
                tiers: None,
                first_purchase,
                valid_from: None,
                valid_until: None,
            },
        )
}

fn any_basket() -> impl Strategy<Value = Basket> {
    proptest::collection::vec(
        (prop_oneof![Just("coffee"), Just("tea")], cents(100_000)),
        0..6,
    )
    .prop_flat_map(|lines| {
        let lines: Vec<Line> = lines
            .into_iter()
            .map(|(c, a)| Line {
                category: Some(c.to_owned()),
                amount: a,
            })
            .collect();
        let fallback = cents(100_000);
        (Just(lines), fallback).prop_map(|(lines, fallback)| Basket {
            amount: if lines.is_empty() {
                fallback
            } else {
                lines.iter().map(|l| l.amount).sum()
            },
            lines,
        })
    })
}

proptest! {
    /// The engine's laws: no rule gives negative or zero points; each award is already at
    /// the unit's scale and is what its rule gives rounded down (never up); the base comes
    /// first; another rule never changes what the others give.
    #[test]
    fn awards_are_positive_at_scale_and_independent(
        rules in proptest::collection::vec(any_rule(), 0..10),
        extra in any_rule(),
        b in any_basket(),
        day in weekday(),
        minute in 0u16..1440,
        first in any::<bool>(),
        places in 0u32..3,
        rate in (1i64..500).prop_map(|r| Decimal::new(r, 2)),
    ) {
        let earning = Earning { rate, point_value: Decimal::new(4, 2), unit_places: places };
        let member = MemberState { tier: None, first_purchase: first };
        let when = LocalTime { day: (2026, 12, 7), weekday: day, minute_of_day: minute };
        let awards = award(earning, &rules, &b, member, when).unwrap();
        for a in &awards {
            prop_assert!(a.points > Decimal::ZERO);
            prop_assert_eq!(a.points, round_down(a.points, places));
        }
        let base = round_down(rate * b.amount, places);
        if base > Decimal::ZERO {
            prop_assert_eq!(&awards[0], &Awarded { rule: BASE_RULE_ID.into(), points: base });
        }
        let mut more = rules.clone();
        more.push(Rule { id: "extra".into(), ..extra });
        let with_extra = award(earning, &more, &b, member, when).unwrap();
        prop_assert_eq!(&with_extra[..awards.len()], &awards[..]);
        prop_assert!(with_extra.len() <= awards.len() + 1);
    }

    /// A basket whose lines do not add up to its amount earns nothing: refused.
    #[test]
    fn a_basket_off_by_a_cent_is_refused(b in any_basket(), off in prop_oneof![Just(-1i64), Just(1i64)]) {
        prop_assume!(!b.lines.is_empty());
        let mut wrong = b.clone();
        wrong.amount += Decimal::new(off, 2);
        prop_assume!(wrong.amount > Decimal::ZERO);
        let refused = award(AROMA, &[], &wrong, MEMBER, at(Weekday::Mon, 9, 0));
        let is_refused = matches!(refused, Err(BasketError::LinesDoNotAddUp { .. }));
        prop_assert!(is_refused);
    }
}

/// Rule times are Jerusalem's wall clock across both daylight-saving changes of 2026 (Friday
/// 27 March 02:00 → 03:00, Sunday 25 October 02:00 → 01:00), from the zone database in the binary.
#[test]
fn local_time_follows_jerusalem_across_daylight_saving() {
    let zone = jiff::tz::db().get("Asia/Jerusalem").unwrap();
    let local = |utc: &str| {
        let us = utc.parse::<jiff::Timestamp>().unwrap().as_microsecond();
        let t = LocalTime::at(&zone, us).unwrap();
        (t.day, t.weekday, t.minute_of_day / 60, t.minute_of_day % 60)
    };
    // Winter time (UTC+2) up to the change, summer time (UTC+3) from it: 02:00 local never is.
    assert_eq!(
        local("2026-03-26T23:59:00Z"),
        ((2026, 3, 27), Weekday::Fri, 1, 59)
    );
    assert_eq!(
        local("2026-03-27T00:00:00Z"),
        ((2026, 3, 27), Weekday::Fri, 3, 0)
    );
    // A morning rule 07:00-11:00 starts an hour earlier in UTC after the change.
    assert_eq!(
        local("2026-03-26T05:00:00Z"),
        ((2026, 3, 26), Weekday::Thu, 7, 0)
    );
    assert_eq!(
        local("2026-03-29T04:00:00Z"),
        ((2026, 3, 29), Weekday::Sun, 7, 0)
    );
    // In October 01:00-02:00 local happens twice: both are 01:xx, the second in winter time.
    assert_eq!(
        local("2026-10-24T22:30:00Z"),
        ((2026, 10, 25), Weekday::Sun, 1, 30)
    );
    assert_eq!(
        local("2026-10-24T23:30:00Z"),
        ((2026, 10, 25), Weekday::Sun, 1, 30)
    );
    assert_eq!(
        local("2026-10-25T00:00:00Z"),
        ((2026, 10, 25), Weekday::Sun, 2, 0)
    );
    // The local day changes at local midnight, not at UTC's.
    assert_eq!(
        local("2026-12-06T22:00:00Z"),
        ((2026, 12, 7), Weekday::Mon, 0, 0)
    );
    assert_eq!(
        local("2026-12-06T21:59:00Z"),
        ((2026, 12, 6), Weekday::Sun, 23, 59)
    );
}

#[test]
fn hours_parse_as_the_manifest_writes_them() {
    let h: Hours = "07:00-11:00".parse().unwrap();
    assert_eq!((h.start_minute, h.end_minute), (420, 660));
    let night: Hours = "22:30-02:00".parse().unwrap();
    assert!(night.contains(23 * 60) && night.contains(60) && !night.contains(120));
    let to_midnight: Hours = "18:00-24:00".parse().unwrap();
    assert!(to_midnight.contains(23 * 60 + 59) && !to_midnight.contains(0));
    for bad in [
        "7-11",
        "07:00",
        "07:60-08:00",
        "24:00-01:00",
        "09:00-09:00",
        "00:00-24:00",
        "7:00-11:00",
    ] {
        assert!(bad.parse::<Hours>().is_err(), "{bad} must be refused");
    }
}
