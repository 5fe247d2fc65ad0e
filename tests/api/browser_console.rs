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

/// Signs in through the form as a person would.
fn sign_in(browser: &Browser, api: &Api, token: &str) {
    browser.goto(&api.url("/console/login"));
    browser.type_into("textarea[name=token]", token);
    browser.click("button[type=submit]");
    browser.wait_at("/console");
}

#[test]
fn month_end_files_download_and_upload_in_the_browser_and_a_forged_form_is_refused() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let api = Api::start();
    let id = crate::console_files_http::closed_cycle(&api);
    sign_in(&browser, &api, &api.finance_token(Role::Finance, None));

    // The bookstore's statement: its page, the signature, and the CSV as a file.
    browser.goto(&api.url(&format!("/console/settlements/{id}")));
    browser.click(&format!(
        "a[href='/console/settlements/{id}/statements/books']"
    ));
    browser.wait_for("the statement", |b| b.text().contains("Signature"));
    let shown = browser.eval("return document.getElementById('statement-signature').textContent;");
    assert_eq!(
        shown.as_str().unwrap().split('.').count(),
        3,
        "a compact JWS: {shown}"
    );
    browser.click(&format!(
        "a[href='/console/settlements/{id}/statements/books/csv']"
    ));
    let csv = String::from_utf8(browser.downloaded(&format!("statement-{id}-books.csv"))).unwrap();
    assert!(csv.contains("till-7"), "{csv}");

    // Reconciliation: the bookstore's own file, with a line the network never saw.
    let file = browser.downloads.path().join("books-november.csv");
    std::fs::write(
        &file,
        format!(
            "{}\ntill-7,earn,40,COAL,\ntill-8,earn,5,COAL,\n",
            coalition::clearing::reconcile::HEADER
        ),
    )
    .unwrap();
    browser.click("a[href='/console/reconciliation']");
    browser.wait_at("/console/reconciliation");
    browser.eval("document.getElementById('partner').value = 'books'; return true;");
    browser.type_into("#file", file.to_str().unwrap());
    browser.click("form[action='/console/reconciliation'] button");
    browser.wait_for("the report", |b| b.text().contains("Report"));
    assert_eq!(
        browser.eval("return document.getElementById('matched').textContent;"),
        "1"
    );
    assert!(browser.text().contains("till-8"), "{}", browser.text());

    // The entry behind the statement's line, found by its reference, with its proofs.
    browser.click("a[href='/console/entries']");
    browser.wait_at("/console/entries");
    browser.type_into("#reference", "till-7");
    browser.click("form.search button");
    browser.wait_for("the entry", |b| b.url().contains("reference=till-7"));
    browser.click("details summary");
    let entry = browser.text();
    assert!(
        entry.contains("earn") && entry.contains("Hash (SHA-256)"),
        "{entry}"
    );
    // Ledger health: every check passes.
    browser.click("a[href='/console/health']");
    browser.wait_at("/console/health");
    let health = browser.text();
    assert!(
        health.contains("hash_chain") && !health.contains("FAILED"),
        "{health}"
    );

    // A form whose CSRF token is not the session's is refused, and changes nothing.
    browser.goto(&api.url("/console/settlements"));
    browser.eval("document.querySelector('form[action=\"/console/logout\"] input[name=csrf]').value = 'forged'; return true;");
    browser.click("form[action='/console/logout'] button");
    browser.wait_for("the refusal", |b| b.text().contains("not this session's"));
    browser.goto(&api.url("/console"));
    browser.wait_for("still signed in", |b| {
        b.text().contains("Outstanding points")
    });
}

/// The insights page in the browser: reached from the navigation, a partner chosen from the
/// form, its tier chart drawn with one bar per tier, and the overlap withheld under 10.
#[test]
fn insights_are_charted_for_the_partner_chosen() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let api = Api::start();
    for i in 0..3 {
        let r = api.post(
            "aroma",
            "/v1/members",
            &serde_json::json!({ "external_id": format!("s-{i}"),
                "consent": { "share_balances": false, "share_profile": true } }),
        );
        let m = r.json()["member_id"].as_str().unwrap().to_owned();
        api.earn("aroma", &m, "5");
        api.link(&m, "aroma", "books");
        api.earn("books", &m, "5");
    }
    api.svc
        .block_on(api.svc.clearing.refresh_insights())
        .unwrap();
    sign_in(&browser, &api, &api.finance_token(Role::Operator, None));
    browser.click("nav a[href='/console/insights']");
    browser.wait_at("/console/insights");
    browser.eval("document.querySelector('select[name=partner]').value = 'books'; return true;");
    browser.click("form[action='/console/insights'] button");
    browser.wait_for("books' insights", |b| b.url().ends_with("partner=books"));
    assert_eq!(
        browser.eval(
            "return document.querySelectorAll('section[aria-labelledby=tier-mix] svg rect').length;"
        ),
        1,
        "one tier, one bar"
    );
    let counts = browser.eval("return document.getElementById('insight-counts').innerText;");
    assert!(counts.as_str().unwrap().contains('3'), "{counts}");
    let overlap = browser.eval("return document.getElementById('cross-brand').innerText;");
    assert!(
        overlap.as_str().unwrap().contains("<10"),
        "three members: withheld, {overlap}"
    );
}

/// The liability page in the browser: reached from the navigation, one bar per issuer with
/// points out, and a month end chosen by date shows the figures as they were then.
#[test]
fn the_liability_report_is_charted_and_read_as_at_a_date() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let api = Api::start();
    let m = api.member("aroma");
    api.earn("aroma", &m, "40");
    let b = api.member("books");
    api.earn("books", &b, "10");
    sign_in(&browser, &api, &api.finance_token(Role::Finance, None));
    browser.click("nav a[href='/console/liability']");
    browser.wait_at("/console/liability");
    assert_eq!(
        browser.eval(
            "return [...document.querySelectorAll('svg.chart rect')].filter(r => r.getAttribute('width') !== '0').length;"
        ),
        2,
        "two issuers with points out, two bars (the others' are empty)"
    );
    let table = browser.eval("return document.getElementById('liability').innerText;");
    assert!(
        table.as_str().unwrap().contains("1.60"),
        "40 AROMA at 0.04: {table}"
    );
    // Today's start: before any of it was earned.
    let today = jiff::Timestamp::from_second(api.now_secs())
        .unwrap()
        .strftime("%Y-%m-%d")
        .to_string();
    browser.eval(&format!(
        "document.querySelector('input[name=date]').value = '{today}'; return true;"
    ));
    browser.click("form[action='/console/liability'] button");
    browser.wait_for("the report as at today's start", |b| {
        b.url().contains(&format!("date={today}"))
    });
    let then = browser.eval("return document.getElementById('liability').innerText;");
    assert!(!then.as_str().unwrap().contains("1.60"), "{then}");
}

#[test]
fn the_webhooks_page_shows_a_disabled_endpoint() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let api = Api::start();
    let gone =
        crate::common::receiver::Receiver::start(&[crate::common::receiver::Answer::Status(410)]);
    let put = api.signed(
        "aroma",
        "PUT",
        "/v1/webhooks",
        Some(&serde_json::json!({ "url": gone.url(), "events": ["entry.posted"] }).to_string()),
        None,
    );
    assert_eq!(put.status, 200, "{}", put.body);
    let m = api.member("aroma");
    api.earn("aroma", &m, "5");
    gone.wait_received(1);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while api.get("aroma", "/v1/webhooks").json()["enabled"] != false {
        assert!(
            std::time::Instant::now() < deadline,
            "the 410 never disabled it"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    sign_in(&browser, &api, &api.finance_token(Role::Operator, None));
    browser.click("nav a[href='/console/webhooks']");
    browser.wait_at("/console/webhooks");
    let table = browser.eval("return document.getElementById('webhooks').innerText;");
    let text = table.as_str().unwrap();
    assert!(
        text.contains("aroma") && text.contains("disabled") && text.contains("410"),
        "{text}"
    );
}
