//! The pages' screenshots in `docs/screenshots/`, taken by the same headless Chromium as the
//! browser tests over a small month of demo traffic: both languages, desktop and phone width.
//! Not part of the suite (`#[ignore]`); `scripts/screenshots.sh` runs it.

use coalition::clearing::tokens::Role;

use crate::common::Api;
use crate::common::webdriver::Browser;

/// Desktop and phone widths, in CSS pixels.
const DESKTOP_PX: u32 = 1100;
const PHONE_PX: u32 = 360;

fn save(browser: &Browser, name: &str, width_px: u32) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = browser.page_png(width_px);
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    eprintln!("docs/screenshots/{name}.png");
}

#[test]
#[ignore = "writes docs/screenshots: run by scripts/screenshots.sh"]
fn screenshots_of_the_main_pages() {
    let browser = Browser::start().expect("the screenshots need chromium and chromedriver");
    let api = Api::start();
    // A little traffic: Dana at Aroma and the bookstore, Eli at the bookstore, a closed cycle.
    let dana = api.member("aroma");
    api.earn("aroma", &dana, "120");
    api.link(&dana, "aroma", "books");
    api.earn("books", &dana, "35");
    let id = crate::console_files_http::closed_cycle(&api);
    let eli = api.member("books");
    api.earn("books", &eli, "60");

    browser.goto(&api.url("/console/login"));
    save(&browser, "console-sign-in-en", DESKTOP_PX);
    browser.type_into(
        "textarea[name=token]",
        &api.finance_token(Role::Finance, None),
    );
    browser.click("button[type=submit]");
    browser.wait_at("/console");
    save(&browser, "console-overview-en", DESKTOP_PX);
    browser.goto(&api.url(&format!("/console/settlements/{id}")));
    save(&browser, "console-cycle-en", DESKTOP_PX);
    browser.goto(&api.url(&format!("/console/settlements/{id}/statements/books")));
    save(&browser, "console-statement-en", DESKTOP_PX);
    browser.goto(&api.url("/console/entries?partner=books"));
    save(&browser, "console-entries-en", DESKTOP_PX);
    browser.goto(&api.url("/console/health"));
    save(&browser, "console-health-en", DESKTOP_PX);
    browser.goto(&api.url("/console?lang=he"));
    save(&browser, "console-overview-he", DESKTOP_PX);
    save(&browser, "console-overview-he-phone", PHONE_PX);

    let token = api.member_token("aroma", &dana);
    browser.goto(&api.url(&format!("/wallet?token={token}&lang=en")));
    browser.wait_at("/wallet");
    browser.eval("document.getElementById('auth-partner').value = 'books'; return true;");
    browser.type_into("#auth-max", "40");
    browser.click("form[action='/wallet/authorizations'] button");
    browser.wait_for("the code", |b| {
        b.eval("return !!document.getElementById('shown-code');") == true
    });
    save(&browser, "wallet-code-en", DESKTOP_PX);
    browser.goto(&api.url("/wallet?lang=en"));
    save(&browser, "wallet-en-phone", PHONE_PX);
    browser.goto(&api.url("/wallet?lang=he"));
    save(&browser, "wallet-he-phone", PHONE_PX);
}
