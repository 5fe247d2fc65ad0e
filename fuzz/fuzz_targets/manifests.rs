//! Manifest loading reports errors, never panics, on any network.toml and partner file.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("coalition-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let text = String::from_utf8_lossy(data);
    let (network, partner) = text.split_once("\n---\n").unwrap_or((&text, ""));
    let _ = std::fs::write(dir.join("network.toml"), network);
    let _ = std::fs::write(dir.join("fuzzed.toml"), partner);
    let _ = coalition::partners::Network::load(&dir);
});
