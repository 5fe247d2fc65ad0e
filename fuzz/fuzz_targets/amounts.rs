//! Amount parsing never panics and never accepts what does not round-trip.
#![no_main]

use coalition::ledger::{Amount, Scale};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&places, rest)) = data.split_first() else { return };
    let Ok(scale) = Scale::new(u32::from(places % 9)) else { return };
    let text = String::from_utf8_lossy(rest);
    if let Ok(a) = Amount::parse(&text, scale) {
        assert_eq!(Amount::from_minor(a.minor(), scale), a);
        assert_eq!(Amount::parse(&a.to_string(), scale).ok(), Some(a));
    }
});
