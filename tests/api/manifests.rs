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
