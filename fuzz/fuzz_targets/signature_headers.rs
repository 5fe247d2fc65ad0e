//! Signature-Input / Signature / Content-Digest parsing never panics, whatever the bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (input, signature) = text.split_once('\n').unwrap_or((&text, ""));
    let _ = coalition::httpsig::parse(input, signature);
    let _ = coalition::httpsig::check_content_digest(&text, data);
});
