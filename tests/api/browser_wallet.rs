//! The wallet in a real headless Chromium: a brand's app link opens it, the card and balances
//! show, an authorisation code is made and its QR — as the browser draws it — decodes to the
//! code; Hebrew reads right to left; sign-out. Skipped, saying so, without the browser.

use crate::common::Api;
use crate::common::webdriver::Browser;

/// What the QR code in `png` says (decoded with rqrr from the pixels the browser drew).
fn qr_text(png_bytes: &[u8]) -> String {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0u8; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    let (w, h) = (frame.width as usize, frame.height as usize);
    let channels = frame.color_type.samples();
    let luma: Vec<u8> = pixels[..frame.buffer_size()]
        .chunks(channels)
        .map(|p| {
            p[..channels.min(3)]
                .iter()
                .map(|&c| u32::from(c))
                .sum::<u32>() as usize
                / channels.min(3)
        })
        .map(|v| u8::try_from(v).unwrap())
        .collect();
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| luma[y * w + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the picture");
    grids[0].decode().unwrap().1
}

#[test]
fn a_member_opens_the_wallet_makes_a_code_whose_qr_decodes_and_reads_it_in_hebrew() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let api = Api::start();
    let dana = api.member("aroma");
    api.earn("aroma", &dana, "100");
    // 500.00 of the 2 000.00 Gold needs: a quarter of the way.
    let bought = api.post(
        "aroma",
        "/v1/earn",
        &serde_json::json!({ "member_id": dana, "purchase": { "amount": "500.00", "currency": "ILS" }, "reference": "p1" }),
    );
    assert_eq!(bought.status, 201, "{}", bought.body);
    api.link(&dana, "aroma", "books");
    let token = api.member_token("aroma", &dana);

    browser.goto(&api.url(&format!("/wallet?token={token}")));
    browser.wait_at("/wallet");
    let text = browser.text();
    assert!(
        text.contains("Your card") && text.contains("Aroma Café"),
        "{text}"
    );
    assert!(text.contains("24.00"), "600 AROMA at 0.04 ILS: {text}");
    // The tier, drawn by the browser's own progress bar: 250 of 1 000.
    assert!(
        text.contains("Your tier") && text.contains("Member"),
        "{text}"
    );
    assert_eq!(
        browser.eval("return document.getElementById('tier-progress').position;"),
        serde_json::json!(0.25)
    );
    assert!(text.contains("1,500.00 ILS to go"), "{text}");
    // The token is gone from the address bar, and the cookie from the page's reach.
    assert!(!browser.url().contains("token="));
    assert_eq!(browser.eval("return document.cookie;"), "");

    browser.eval("document.getElementById('auth-partner').value = 'books'; return true;");
    browser.type_into("#auth-max", "30");
    browser.click("form[action='/wallet/authorizations'] button");
    browser.wait_for("the code", |b| {
        b.eval("return !!document.getElementById('shown-code');") == true
    });
    let code = browser.eval("return document.getElementById('shown-code').textContent;");
    let code = code.as_str().unwrap().to_owned();
    assert_eq!(qr_text(&browser.element_png("#shown-qr svg")), code);
    // The till takes the code.
    let spent = api.post(
        "books",
        "/v1/redemptions",
        &serde_json::json!({ "member_id": dana, "unit": "AROMA", "points": "30", "reference": "till-1", "authorization": code }),
    );
    assert_eq!(spent.status, 201, "{}", spent.body);

    browser.click("a[hreflang=he]");
    browser.wait_for("Hebrew", |b| {
        b.eval("return document.documentElement.dir;") == "rtl"
    });
    assert!(browser.text().contains("הכרטיס שלכם"));
    assert!(browser.text().contains("הדרגה שלכם"));
    // Readable on a phone: nothing wider than the screen.
    browser.resize(360, 800);
    let (wide, room) = (
        browser.eval("return document.documentElement.scrollWidth;"),
        browser.eval("return document.documentElement.clientWidth;"),
    );
    assert!(
        wide.as_u64() <= room.as_u64(),
        "the page is {wide} px wide in {room}"
    );

    browser.click("form[action='/wallet/logout'] button");
    browser.wait_at("/wallet/login");
    browser.goto(&api.url("/wallet"));
    browser.wait_at("/wallet/login");
}
