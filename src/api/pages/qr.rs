//! QR codes as inline SVG, drawn server-side (no script, no image request): a till's scanner
//! reads the code straight off the member's phone.

/// The smallest the drawn symbol may be, in CSS pixels.
const MIN_SIDE_PX: u32 = 200;

/// `text` as an SVG QR code (medium error correction), or `None` if it does not fit one.
pub fn svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M).ok()?;
    let drawn = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(MIN_SIDE_PX, MIN_SIDE_PX)
        .quiet_zone(true)
        .build();
    // Inline in HTML: the XML declaration has no place there.
    let start = drawn.find("<svg")?;
    Some(drawn[start..].to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_code_draws_as_an_svg_without_its_xml_declaration() {
        let svg = super::svg("K7QF-2M9X").unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"), "{svg}");
        assert!(!svg.contains("<?xml"));
        // Only shapes and their colours: nothing a page's policy would have to allow.
        assert!(!svg.contains("style=") && !svg.contains("<script"));
    }
}
