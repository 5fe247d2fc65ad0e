//! Partner manifests: errors name the file and the key; the migration trees match.

use std::path::Path;

use coalition::partners::{ManifestError, Network};

use crate::common::{TempDir, demo_partners};

/// The demo network copied to a folder, with one file replaced.
fn network_with(file: &str, contents: &str) -> (TempDir, Result<Network, ManifestError>) {
    let dir = TempDir::new();
    for entry in std::fs::read_dir(demo_partners()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    std::fs::write(dir.path().join(file), contents).unwrap();
    let loaded = Network::load(dir.path());
    (dir, loaded)
}

fn demo_file(name: &str) -> String {
    std::fs::read_to_string(demo_partners().join(name)).unwrap()
}

fn expect_error(file: &str, contents: &str, key: &str, words: &str) {
    let (_dir, loaded) = network_with(file, contents);
    let err = loaded.expect_err("the manifest must be refused");
    let shown = err.to_string();
    assert!(err.file.ends_with(file), "file not named: {shown}");
    assert_eq!(err.key.as_deref(), Some(key), "key not named: {shown}");
    assert!(shown.contains(file) && shown.contains(key), "{shown}");
    assert!(shown.contains(words), "expected {words:?} in: {shown}");
}

#[test]
fn the_demo_network_loads() {
    let net = Network::load(&demo_partners()).unwrap();
    assert_eq!(net.partners.len(), 5);
    assert_eq!(net.settlement_currency.as_str(), "ILS");
    assert!(net.partners.values().filter(|p| p.charity).count() == 1);
    assert!(net.partners.values().all(|p| !p.keys.is_empty()));
    assert_eq!(net.units.iter().filter(|u| u.is_points()).count(), 5);
}

#[test]
fn unknown_keys_are_named() {
    let aroma = demo_file("aroma.toml").replace(
        "name = \"Aroma Café\"",
        "name = \"Aroma Café\"\ncolour = \"red\"",
    );
    expect_error("aroma.toml", &aroma, "colour", "unknown field");
    let aroma = demo_file("aroma.toml").replace("scale = 0", "scale = 0\nsymbol = \"A\"");
    expect_error("aroma.toml", &aroma, "unit.symbol", "unknown field");
    let net = demo_file("network.toml").replace("fee_bps = 0", "fee_bps = 0\nfees = 3");
    expect_error("network.toml", &net, "fees", "unknown field");
    // Named by where serde was, not by the text around the error's position.
    let net = format!("bogus = 1\n{}", demo_file("network.toml"));
    expect_error("network.toml", &net, "bogus", "unknown field");
    let net = demo_file("network.toml").replacen("[[units]]", "[[units]]\nextra = true", 2);
    expect_error("network.toml", &net, "units[0].extra", "unknown field");
}

#[test]
fn bad_values_are_named() {
    let aroma = demo_file("aroma.toml");
    expect_error(
        "aroma.toml",
        &aroma.replace("scale = 0", "scale = \"zero\""),
        "unit.scale",
        "invalid type",
    );
    expect_error(
        "aroma.toml",
        &aroma.replace("scale = 0", "scale = 9"),
        "unit.scale",
        "above the largest",
    );
    expect_error(
        "aroma.toml",
        &aroma.replace("value = \"0.04\"", "value = \"four cents\""),
        "unit.value",
        "not a plain decimal",
    );
    expect_error(
        "aroma.toml",
        &aroma.replace("value = \"0.04\"", "value = \"-0.04\""),
        "unit.value",
        "not a plain decimal",
    );
    expect_error(
        "aroma.toml",
        &aroma.replace("code = \"AROMA\"", "code = \"aroma\""),
        "unit.code",
        "not a valid unit code",
    );
    expect_error(
        "aroma.toml",
        &aroma.replace("id = \"aroma\"", "id = \"caffe\""),
        "id",
        "must match the file name",
    );
    // Files load in name order: the later file is the one refused, and both are named.
    let threads = demo_file("threads.toml");
    expect_error(
        "threads.toml",
        &threads.replace("code = \"STYLE\"", "code = \"PAGES\""),
        "unit.code",
        "already defined in",
    );
    expect_error(
        "aroma.toml",
        &aroma.replace("MCowBQYDK2VwAyEA", "MCowBQYDK2VwAyEB"),
        "keys[0].public_key",
        "Ed25519",
    );
    expect_error(
        "threads.toml",
        &threads.replace("id = \"threads-2026\"", "id = \"books-2026\""),
        "keys[0].id",
        "already registered to books",
    );
    let net = demo_file("network.toml");
    expect_error(
        "network.toml",
        &net.replace("fee_bps = 0", "fee_bps = 10001"),
        "fee_bps",
        "above",
    );
    expect_error(
        "network.toml",
        &net.replace(
            "settlement_currency = \"ILS\"",
            "settlement_currency = \"₪\"",
        ),
        "settlement_currency",
        "not a valid unit code",
    );
}

#[test]
fn a_missing_network_file_is_named() {
    let dir = TempDir::new();
    let err = Network::load(dir.path()).unwrap_err();
    assert!(err.to_string().contains("network.toml"), "{err}");
}

#[test]
fn migration_trees_match() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let names = |backend: &str| {
        let mut v: Vec<String> = std::fs::read_dir(root.join(backend))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let sqlite = names("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(
        sqlite,
        names("postgres"),
        "every migration needs a twin in both backends"
    );
    for backend in ["sqlite", "postgres"] {
        for m in &sqlite {
            for f in ["up.sql", "down.sql"] {
                assert!(
                    root.join(backend).join(m).join(f).is_file(),
                    "{backend}/{m}/{f} is missing"
                );
            }
        }
    }
}

/// The key an error names comes from where the parser was, so it is right in an array of tables
/// and for a missing field too (the text around the error's position named `scale` for the
/// network's first unit, and the first unit for the second).
#[test]
fn keys_are_named_by_their_path() {
    let net = demo_file("network.toml");
    expect_error(
        "network.toml",
        &net.replace("scale = 0", "scale = \"x\""),
        "units[0].scale",
        "invalid type",
    );
    expect_error(
        "network.toml",
        &format!("{net}\n[[units]]\ncode = \"X\"\n"),
        "units[1].code",
        "not a valid unit code",
    );
    expect_error(
        "network.toml",
        &net.replace("name = \"Demo Coalition\"", ""),
        "name",
        "missing field",
    );
}

#[test]
fn the_programme_loads() {
    let net = Network::load(&demo_partners()).unwrap();
    assert_eq!(net.time_zone_name, "Asia/Jerusalem");
    let tiers = net.tiers.as_ref().expect("the demo has a ladder");
    let names: Vec<&str> = tiers.levels.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["Member", "Gold", "Club+"]);
    assert!(tiers.levels[2].paid.is_some() && tiers.levels[1].paid.is_none());
    for p in net.partners.values().filter(|p| p.earn_rate.is_some()) {
        let purchase = p
            .earn_rules
            .iter()
            .filter(|r| {
                !matches!(
                    r.kind,
                    coalition::partners::programme::RuleKind::Interaction { .. }
                )
            })
            .count();
        assert_eq!(purchase, 2, "{} has two purchase rules", p.id);
    }
    let aroma = &net.partners[&"aroma".parse().unwrap()];
    assert!(
        aroma.earn_rules.iter().any(|r| matches!(
            &r.kind,
            coalition::partners::programme::RuleKind::Interaction { max_per_day: 1, .. }
        )),
        "Aroma thanks a review once a day"
    );
}

/// Aroma's manifest with one more rule appended (given as its TOML body).
fn aroma_with_rule(body: &str) -> String {
    let aroma = demo_file("aroma.toml");
    let keys = aroma.find("[[keys]]").unwrap();
    format!(
        "{}[[earn.rules]]\n{body}\n\n{}",
        &aroma[..keys],
        &aroma[keys..]
    )
}

/// Every refusal names the file, the rule by its place and its id, and the key.
#[test]
fn bad_rules_are_named() {
    let third = |k: &str| format!("earn.rules[3].{k}");
    let cases: &[(&str, &str, &str)] = &[
        (
            "id = \"r\"\nkind = \"bonus\"\npoints = \"5\"\ncolour = \"red\"",
            "colour",
            "unknown field `colour`",
        ),
        (
            "id = \"r\"\nkind = \"double\"",
            "kind",
            "unknown variant `double`",
        ),
        (
            "id = \"r\"\nkind = \"bonus\"\npoints = \"5\"\ntiers = [\"Platinum\"]",
            "tiers",
            "rule `r`: unknown tier `Platinum` (the ladder has Member, Gold, Club+)",
        ),
        (
            "id = \"r\"\nkind = \"bonus\"\npoints = \"5\"\nvalid_from = \"2027-01-01\"\nvalid_until = \"2026-12-01\"",
            "valid_until",
            "rule `r`: must be after valid_from",
        ),
        (
            "id = \"r\"\nkind = \"bonus\"\npoints = \"5\"\nvalid_from = \"2027-01-01\"\nvalid_until = \"2027-01-01\"",
            "valid_until",
            "empty or inverted",
        ),
        (
            "id = \"r\"\nkind = \"bonus\"\npoints = \"5\"\nvalid_from = \"2027-02-30\"",
            "valid_from",
            "is not a date",
        ),
        (
            "id = \"r\"\nkind = \"bonus\"\npoints = \"5\"\nhours = \"7-11\"",
            "hours",
            "rule `r`: `7-11` is not a time range",
        ),
        (
            "id = \"r\"\nkind = \"bonus\"\npoints = \"5\"\nhours = \"25:00-26:00\"",
            "hours",
            "not a time range",
        ),
        (
            "id = \"r\"\nkind = \"bonus\"\npoints = \"5\"\nhours = \"09:00-09:00\"",
            "hours",
            "empty range",
        ),
        (
            "id = \"morning-double\"\nkind = \"bonus\"\npoints = \"5\"",
            "id",
            "rule `morning-double`: the id is used by an earlier rule",
        ),
        (
            "id = \"base\"\nkind = \"bonus\"\npoints = \"5\"",
            "id",
            "names the base rate",
        ),
        (
            "id = \"r\"\nkind = \"multiplier\"\nfactor = \"0.5\"",
            "factor",
            "must be greater than 1",
        ),
        (
            "id = \"r\"\nkind = \"multiplier\"",
            "factor",
            "a multiplier rule needs `factor`",
        ),
        (
            "id = \"r\"\nkind = \"bonus\"\npoints = \"-5\"",
            "points",
            "not a plain non-negative decimal",
        ),
        (
            "id = \"r\"\nkind = \"percent\"\npercent = \"0\"",
            "percent",
            "must be above zero",
        ),
        (
            "id = \"r\"\nkind = \"bonus\"\npoints = \"5\"\nfactor = \"2\"",
            "factor",
            "a bonus rule takes `points`",
        ),
        (
            "id = \"r\"\nkind = \"bonus\"\npoints = \"5\"\ncategories = []",
            "categories",
            "list 1 to",
        ),
        (
            "id = \"r\"\nkind = \"bonus\"\npoints = \"5\"\ndays = [\"mon\", \"mon\"]",
            "days",
            "listed twice",
        ),
        (
            "id = \"r\"\nkind = \"bonus\"\npoints = \"5\"\ndays = [\"monday\"]",
            "days[0]",
            "unknown variant",
        ),
        (
            "id = \"r\"\nkind = \"bonus\"\npoints = \"5\"\nmin_basket = \"30.001\"",
            "min_basket",
            "more than the currency's 2 decimal places",
        ),
        (
            "id = \"r\"\nkind = \"interaction\"\npoints = \"5\"",
            "interaction",
            "an interaction rule needs `interaction`",
        ),
        (
            "id = \"r\"\nkind = \"interaction\"\ninteraction = \"like\"\npoints = \"5\"",
            "interaction",
            "unknown interaction kind `like`",
        ),
        (
            "id = \"r\"\nkind = \"interaction\"\ninteraction = \"review\"\npoints = \"5\"\nmax_per_day = 0",
            "max_per_day",
            "must be 1 to 100",
        ),
        (
            "id = \"r\"\nkind = \"interaction\"\ninteraction = \"review\"\npoints = \"5\"\ncategories = [\"coffee\"]",
            "categories",
            "an interaction rule has none",
        ),
        (
            "id = \"r\"\nkind = \"bonus\"\npoints = \"5\"\ninteraction = \"review\"",
            "interaction",
            "belongs to an interaction rule",
        ),
    ];
    for (body, key, words) in cases {
        expect_error("aroma.toml", &aroma_with_rule(body), &third(key), words);
        let (_dir, loaded) = network_with("aroma.toml", &aroma_with_rule(body));
        let shown = loaded.unwrap_err().to_string();
        let id = if body.contains("\"r\"") {
            "r"
        } else {
            &body[6..body.find('\n').unwrap() - 1]
        };
        assert!(
            shown.contains(&format!("rule `{id}`")),
            "the rule is not named: {shown}"
        );
    }
}

#[test]
fn bad_tiers_and_time_zones_are_named() {
    let net = demo_file("network.toml");
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "time_zone = \"Asia/Jerusalem\"",
            "time_zone = \"Middle Earth/Shire\"",
            "time_zone",
            "not an IANA time zone",
        ),
        (
            "min = \"2000\"",
            "min = \"6000\"",
            "tiers.levels[2].min",
            "must need more than `Gold`",
        ),
        (
            "min = \"0\"",
            "min = \"10\"",
            "tiers.levels[0].min",
            "must be \"0\"",
        ),
        (
            "name = \"Gold\"",
            "name = \"Member\"",
            "tiers.levels[1].name",
            "listed twice",
        ),
        (
            "period_days = 365",
            "",
            "tiers.levels[2].period_days",
            "needs its period_days",
        ),
        (
            "window_days = 365",
            "window_days = 0",
            "tiers.window_days",
            "must be 1 to",
        ),
        (
            "bonus_funded_by = \"network\"",
            "bonus_funded_by = \"nobody\"",
            "tiers.bonus_funded_by",
            "unknown variant",
        ),
        (
            "grace_days = 30",
            "grace_days = 30\nstretch = 1",
            "tiers.stretch",
            "unknown field",
        ),
    ];
    for (from, to, key, words) in cases {
        assert!(net.contains(from), "{from}");
        expect_error("network.toml", &net.replacen(from, to, 1), key, words);
    }
    // A rule naming a tier needs a ladder.
    let (start, end) = (net.find("# The tier ladder").unwrap(), net.len());
    let (_dir, loaded) = network_with("network.toml", &net[..start]);
    let err = loaded.expect_err("books names tiers the network no longer has");
    assert!(err.to_string().contains("books.toml"), "{err}");
    assert!(err.to_string().contains("no [tiers]"), "{err}");
    assert!(end > start);
}
