//! The finance console's sign-in, session and safety over real HTTP (the browser tests of the
//! pages come with the rest of them): a finance token for an `HttpOnly`, `SameSite=Strict`
//! session, CSRF on every form, a strict Content-Security-Policy, and Hebrew right to left.

use coalition::clearing::tokens::Role;

use crate::common::Api;
use crate::common::pages::{browse, csrf_field, pair, set_cookie, signed_in};

#[test]
fn a_finance_token_signs_in_to_the_console_and_out_again() {
    let api = Api::start();
    // No session: to the sign-in form.
    let away = browse(&api, "GET", "/console", &[], None);
    assert_eq!(away.status, 303);
    assert_eq!(away.header("location").as_deref(), Some("/console/login"));

    let form = browse(&api, "GET", "/console/login", &[], None);
    assert_eq!(form.status, 200, "{}", form.body);
    let csp = form.header("content-security-policy").unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert!(form.body.contains("name=\"token\""));
    let login_cookie = pair(&set_cookie(&form, "coalition_console_login").unwrap());
    let csrf = csrf_field(&form.body);
    let token = api.finance_token(Role::Finance, None);

    // A sign-in posted from elsewhere (no matching CSRF cookie) is refused.
    let forged = browse(
        &api,
        "POST",
        "/console/login",
        &[],
        Some(&format!("token={token}&csrf={csrf}")),
    );
    assert_eq!(forged.status, 403);
    // A token that is not a finance token is refused on the form.
    let member = api.member("aroma");
    let member_token = api.member_token("aroma", &member);
    let wrong = browse(
        &api,
        "POST",
        "/console/login",
        &[("cookie", login_cookie.clone())],
        Some(&format!("token={member_token}&csrf={csrf}")),
    );
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("role=\"alert\""));

    let signed_in = browse(
        &api,
        "POST",
        "/console/login",
        &[("cookie", login_cookie)],
        Some(&format!("token={token}&csrf={csrf}")),
    );
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    assert_eq!(signed_in.header("location").as_deref(), Some("/console"));
    let session = set_cookie(&signed_in, "coalition_console").unwrap();
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Strict"),
        "{session}"
    );
    let cookie = pair(&session);

    let page = browse(&api, "GET", "/console", &[("cookie", cookie.clone())], None);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("dir=\"ltr\""));
    assert!(page.body.contains("Aroma Café") && page.body.contains("Tel Aviv Books"));
    assert!(page.header("content-security-policy").is_some());
    // In Hebrew, right to left; the choice stays with the session.
    let hebrew = browse(
        &api,
        "GET",
        "/console?lang=he",
        &[("cookie", cookie.clone())],
        None,
    );
    assert!(hebrew.body.contains("dir=\"rtl\"") && hebrew.body.contains("lang=\"he\""));
    assert!(hebrew.body.contains("סקירה"));
    let again = browse(&api, "GET", "/console", &[("cookie", cookie.clone())], None);
    assert!(again.body.contains("dir=\"rtl\""));

    // Sign-out needs the session's CSRF token; then the session is gone server-side.
    let forged_out = browse(
        &api,
        "POST",
        "/console/logout",
        &[("cookie", cookie.clone())],
        Some("csrf=guess"),
    );
    assert_eq!(forged_out.status, 403);
    let out = browse(
        &api,
        "POST",
        "/console/logout",
        &[("cookie", cookie.clone())],
        Some(&format!("csrf={}", csrf_field(&page.body))),
    );
    assert_eq!(out.status, 303);
    let after = browse(&api, "GET", "/console", &[("cookie", cookie)], None);
    assert_eq!(
        (after.status, after.header("location").as_deref()),
        (303, Some("/console/login"))
    );
}

/// A partner's finance user sees its own partner's figures only.
#[test]
fn a_partners_finance_user_sees_only_its_partner() {
    let api = Api::start();
    let m = api.member("aroma");
    api.earn("aroma", &m, "70");
    let form = browse(&api, "GET", "/console/login", &[], None);
    let login_cookie = pair(&set_cookie(&form, "coalition_console_login").unwrap());
    let token = api.finance_token(Role::Finance, Some("books"));
    let signed_in = browse(
        &api,
        "POST",
        "/console/login",
        &[("cookie", login_cookie)],
        Some(&format!("token={token}&csrf={}", csrf_field(&form.body))),
    );
    let cookie = pair(&set_cookie(&signed_in, "coalition_console").unwrap());
    let page = browse(&api, "GET", "/console", &[("cookie", cookie)], None);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Tel Aviv Books"));
    assert!(!page.body.contains("Aroma Café"), "{}", page.body);
    // The operator sees Aroma's 70 points outstanding, worth 2.80 ILS.
    let form = browse(&api, "GET", "/console/login", &[], None);
    let login_cookie = pair(&set_cookie(&form, "coalition_console_login").unwrap());
    let operator = api.finance_token(Role::Operator, None);
    let signed_in = browse(
        &api,
        "POST",
        "/console/login",
        &[("cookie", login_cookie)],
        Some(&format!("token={operator}&csrf={}", csrf_field(&form.body))),
    );
    let cookie = pair(&set_cookie(&signed_in, "coalition_console").unwrap());
    let page = browse(&api, "GET", "/console", &[("cookie", cookie)], None);
    assert!(
        page.body
            .contains("<td class=\"num\">70</td><td class=\"num\">2.80</td>"),
        "{}",
        page.body
    );
}

/// Closing a cycle from the console takes a confirmation, the session's CSRF token and a
/// network-wide user; the cycle's page then shows what each party owes.
#[test]
fn a_cycle_is_closed_from_the_console_after_a_confirmation() {
    let api = Api::start();
    let m = api.member("books");
    // 40 COAL awarded by the bookstore: it owes the network 2.00 ILS.
    let r = api.post(
        "books",
        "/v1/earn",
        &serde_json::json!({ "member_id": m, "unit": "COAL", "points": "40", "reference": "c" }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    // The cut-off, in whole seconds, must fall after the earn.
    api.advance_secs(2);
    let (cookie, csrf) = signed_in(&api, &api.finance_token(Role::Finance, None));
    // Before the close, the overview shows the open cycle's running positions.
    let running =
        |cookie: &str| browse(&api, "GET", "/console", &[("cookie", cookie.into())], None).body;
    let before = running(&cookie);
    assert!(
        before.contains("<tr><td>books</td><td class=\"num\">-2.00</td></tr>")
            && before.contains("<tr><td>network</td><td class=\"num\">2.00</td></tr>"),
        "{before}"
    );
    let list = browse(
        &api,
        "GET",
        "/console/settlements",
        &[("cookie", cookie.clone())],
        None,
    );
    assert!(
        list.body.contains("action=\"/console/settlements/close\""),
        "{}",
        list.body
    );
    let cutoff = coalition::clearing::time::rfc3339(api.now_secs() * 1_000_000);
    let post = |body: String| {
        browse(
            &api,
            "POST",
            "/console/settlements/close",
            &[("cookie", cookie.clone())],
            Some(&body),
        )
    };
    // A forged form changes nothing.
    assert_eq!(
        post(format!("csrf=guess&cutoff={cutoff}&confirm=yes")).status,
        403
    );
    // First the confirmation step, which closes nothing.
    let review = post(format!("csrf={csrf}&cutoff={cutoff}"));
    assert_eq!(review.status, 200);
    assert!(review.body.contains("cannot be undone") && review.body.contains("name=\"confirm\""));
    let none = browse(
        &api,
        "GET",
        "/console/settlements",
        &[("cookie", cookie.clone())],
        None,
    );
    assert!(none.body.contains("No cycle has been closed yet."));
    // A cut-off in the future is refused on the page.
    let later = coalition::clearing::time::rfc3339((api.now_secs() + 86_400) * 1_000_000);
    let refused = post(format!("csrf={csrf}&cutoff={later}&confirm=yes"));
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("role=\"alert\""));
    let closed = post(format!("csrf={csrf}&cutoff={cutoff}&confirm=yes"));
    assert_eq!(closed.status, 303, "{}", closed.body);
    let at = closed.header("location").unwrap();
    assert!(at.starts_with("/console/settlements/"), "{at}");
    assert!(running(&cookie).contains("Nothing has moved since the last cut-off."));
    let cycle = browse(&api, "GET", &at, &[("cookie", cookie.clone())], None);
    let position = |who: &str, net: &str| {
        format!("<tr><td>{who}</td><td class=\"num\">{net}</td><td class=\"num\">0.00</td><td>")
    };
    assert!(
        cycle.body.contains(&position("books", "-2.00")),
        "{}",
        cycle.body
    );
    assert!(
        cycle.body.contains(&position("network", "2.00")),
        "{}",
        cycle.body
    );
    assert!(
        cycle
            .body
            .contains("<td>books</td><td>network</td><td class=\"num\">2.00</td>")
    );

    // Payments: the bookstore pays its 2.00; more than is left is refused on the page.
    let pay = |body: String| {
        browse(
            &api,
            "POST",
            &format!("{at}/payments"),
            &[("cookie", cookie.clone())],
            Some(&body),
        )
    };
    assert_eq!(
        pay("csrf=guess&partner=books&amount=2.00&bank_reference=t1".into()).status,
        403
    );
    let over = pay(format!(
        "csrf={csrf}&partner=books&amount=5.00&bank_reference=t1"
    ));
    assert_eq!(over.status, 422);
    assert!(over.body.contains("role=\"alert\""), "{}", over.body);
    let paid = pay(format!(
        "csrf={csrf}&partner=books&amount=2.00&bank_reference=TRF-881"
    ));
    assert_eq!(paid.status, 303, "{}", paid.body);
    let cycle = browse(&api, "GET", &at, &[("cookie", cookie.clone())], None);
    assert!(
        cycle.body.contains(
            "<tr><td>books</td><td class=\"num\">-2.00</td><td class=\"num\">2.00</td><td>"
        ),
        "{}",
        cycle.body
    );

    // A partner's finance user sees the cycle, its own position only, and cannot close one.
    let (theirs, their_csrf) = signed_in(&api, &api.finance_token(Role::Finance, Some("books")));
    let list = browse(
        &api,
        "GET",
        "/console/settlements",
        &[("cookie", theirs.clone())],
        None,
    );
    assert!(!list.body.contains("action=\"/console/settlements/close\""));
    let own = browse(&api, "GET", &at, &[("cookie", theirs.clone())], None);
    assert!(
        own.body
            .contains("<td>books</td><td class=\"num\">-2.00</td>"),
        "{}",
        own.body
    );
    assert!(!own.body.contains("/payments\""), "no payment form");
    assert!(
        !own.body.contains(&position("network", "2.00")),
        "{}",
        own.body
    );
    let not_theirs = browse(
        &api,
        "POST",
        "/console/settlements/close",
        &[("cookie", theirs)],
        Some(&format!("csrf={their_csrf}&cutoff={cutoff}&confirm=yes")),
    );
    assert_eq!(not_theirs.status, 403);
    api.verify();
}

/// Ledger health: every invariant passes on a sound ledger, with the trial balance per unit;
/// a partner's finance user is refused.
#[test]
fn the_ledger_health_page_shows_verify_and_the_trial_balance() {
    let api = Api::start();
    let m = api.member("aroma");
    api.earn("aroma", &m, "70");
    let (cookie, _) = signed_in(&api, &api.finance_token(Role::Operator, None));
    let page = browse(&api, "GET", "/console/health", &[("cookie", cookie)], None);
    assert_eq!(page.status, 200, "{}", page.body);
    for check in [
        "hash_chain",
        "entries_balance",
        "forfeitures_release_liability",
        "trial_balance_zero",
    ] {
        assert!(
            page.body
                .contains(&format!("<tr><td>{check}</td><td>passed</td>")),
            "{check}: {}",
            page.body
        );
    }
    assert!(!page.body.contains("FAILED"));
    assert!(page.body.contains("<tr><td>AROMA</td><td class=\"num\">70</td><td class=\"num\">70</td><td class=\"num\">0</td></tr>"), "{}", page.body);
    let (theirs, _) = signed_in(&api, &api.finance_token(Role::Finance, Some("aroma")));
    assert_eq!(
        browse(&api, "GET", "/console/health", &[("cookie", theirs)], None).status,
        403
    );
}

/// Session fixation: an id planted in the browser before sign-in is never the signed-in
/// session; the wallet's likewise.
#[test]
fn a_planted_session_id_never_becomes_the_signed_in_session() {
    let api = Api::start();
    let planted =
        "coalition_console=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let form = browse(
        &api,
        "GET",
        "/console/login",
        &[("cookie", planted.into())],
        None,
    );
    let login_cookie = pair(&set_cookie(&form, "coalition_console_login").unwrap());
    let token = api.finance_token(Role::Finance, None);
    let r = browse(
        &api,
        "POST",
        "/console/login",
        &[("cookie", format!("{planted}; {login_cookie}"))],
        Some(&format!("token={token}&csrf={}", csrf_field(&form.body))),
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let given = pair(&set_cookie(&r, "coalition_console").unwrap());
    assert_ne!(given, planted, "a new id at sign-in");
    let with_planted = browse(&api, "GET", "/console", &[("cookie", planted.into())], None);
    assert_eq!(with_planted.status, 303, "the planted id signs nobody in");
    assert_eq!(
        browse(&api, "GET", "/console", &[("cookie", given)], None).status,
        200
    );
    // The wallet: a link opened in a browser holding a planted id gets a new one.
    let dana = api.member("aroma");
    let token = api.member_token("aroma", &dana);
    let planted =
        "coalition_wallet=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    let opened = browse(
        &api,
        "GET",
        &format!("/wallet?token={token}"),
        &[("cookie", planted.into())],
        None,
    );
    assert_eq!(opened.status, 303, "{}", opened.body);
    assert_ne!(
        pair(&set_cookie(&opened, "coalition_wallet").unwrap()),
        planted
    );
    let with_planted = browse(&api, "GET", "/wallet", &[("cookie", planted.into())], None);
    assert_eq!(
        with_planted.header("location").as_deref(),
        Some("/wallet/login")
    );
}
