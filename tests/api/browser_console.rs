//! The console in a real headless Chromium (Debian's, over WebDriver): sign in by pasting a
//! token, read the overview, switch to Hebrew (right to left), sign out. Skipped, saying so,
//! where the browser is not installed; CI installs it.

use coalition::clearing::tokens::Role;

use crate::common::Api;
use crate::common::webdriver::Browser;

#[test]
fn a_finance_user_signs_in_reads_the_overview_in_two_languages_and_signs_out() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let api = Api::start();
    let dana = api.member("aroma");
    api.earn("aroma", &dana, "70");
    // 40 COAL from the bookstore: it owes the network 2.00 ILS at the next cycle.
    let eli = api.member("books");
    let r = api.post(
        "books",
        "/v1/earn",
        &serde_json::json!({ "member_id": eli, "unit": "COAL", "points": "40", "reference": "c" }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    api.advance_secs(2);

    browser.goto(&api.url("/console"));
    browser.wait_at("/console/login");
    browser.type_into("textarea[name=token]", "not a token");
    browser.click("button[type=submit]");
    browser.wait_for("the refusal", |b| b.text().contains("was not accepted"));

    let token = api.finance_token(Role::Finance, None);
    browser.type_into("textarea[name=token]", &token);
    browser.click("button[type=submit]");
    browser.wait_at("/console");
    let text = browser.text();
    assert!(
        text.contains("Outstanding points") && text.contains("Aroma Café"),
        "{text}"
    );
    assert!(text.contains("2.80"), "70 AROMA at 0.04: {text}");
    assert_eq!(browser.eval("return document.documentElement.dir;"), "ltr");
    // The session cookie is out of the page's reach.
    assert_eq!(browser.eval("return document.cookie;"), "");

    // Month end: review the cut-off, confirm, and read the cycle's positions.
    browser.click("a[href='/console/settlements']");
    browser.wait_at("/console/settlements");
    browser.click("form[action='/console/settlements/close'] button");
    browser.wait_for("the confirmation", |b| {
        b.text().contains("cannot be undone")
    });
    browser.click("form[action='/console/settlements/close'] button");
    browser.wait_for("the cycle's page", |b| b.text().contains("Positions"));
    let cycle = browser.text();
    assert!(
        cycle.contains("-2.00") && cycle.contains("network"),
        "{cycle}"
    );
    // The bookstore's transfer arrives: record it against its position.
    browser.eval("document.getElementById('partner').value = 'books'; return true;");
    browser.type_into("#amount", "2.00");
    browser.type_into("#bank_reference", "TRF-881");
    browser.click("form[action$='/payments'] button");
    browser.wait_for("the payment", |b| b.text().contains("-2.00\t2.00"));

    browser.click("a[hreflang=he]");
    browser.wait_for("Hebrew", |b| b.url().ends_with("?lang=he"));
    assert_eq!(browser.eval("return document.documentElement.dir;"), "rtl");
    assert!(browser.text().contains("פוזיציות"), "{}", browser.text());
    // The language stays with the session.
    browser.click("nav a[href='/console']");
    browser.wait_for("the overview", |b| b.text().contains("נקודות במחזור"));
    assert_eq!(browser.eval("return document.documentElement.dir;"), "rtl");

    browser.click("form[action='/console/logout'] button");
    browser.wait_at("/console/login");
    browser.goto(&api.url("/console"));
    browser.wait_at("/console/login");
}
