//! The member's wallet over real HTTP: a member token taken once for a `SameSite=Lax`
//! session, the card and balances with their value, what this session may spend (its brand's
//! units) and how to spend the rest, an authorisation code with its QR that a till can use,
//! consent per brand and link codes only with the token's scopes, CSRF on every form.

use crate::common::pages::{browse, csrf_field, pair, set_cookie};
use crate::common::{Api, Resp};

/// Opens the wallet with `token`; returns the session cookie.
pub(crate) fn opened(api: &Api, token: &str) -> String {
    let r = browse(api, "GET", &format!("/wallet?token={token}"), &[], None);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location").as_deref(), Some("/wallet"));
    pair(&set_cookie(&r, "coalition_wallet").expect("a wallet cookie"))
}

fn post(api: &Api, path: &str, cookie: &str, form: &str) -> Resp {
    browse(api, "POST", path, &[("cookie", cookie.into())], Some(form))
}

#[test]
fn a_wallet_link_opens_once_and_shows_what_this_app_may_spend() {
    let api = Api::start();
    let r = api.post(
        "aroma",
        "/v1/members",
        &serde_json::json!({ "external_id": "dana" }),
    );
    let dana = r.json()["member_id"].as_str().unwrap().to_owned();
    let card = r.json()["card_number"].as_str().unwrap().to_owned();
    api.earn("aroma", &dana, "100");
    api.link(&dana, "aroma", "books");
    api.earn("books", &dana, "50");
    let token = api.member_token("aroma", &dana);

    // Without a session: to the wallet's sign-in page.
    let away = browse(&api, "GET", "/wallet", &[], None);
    assert_eq!(away.header("location").as_deref(), Some("/wallet/login"));
    let r = browse(&api, "GET", &format!("/wallet?token={token}"), &[], None);
    assert_eq!(r.status, 303, "{}", r.body);
    let cookie = set_cookie(&r, "coalition_wallet").unwrap();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
            && cookie.contains("Path=/wallet"),
        "{cookie}"
    );
    let max_age: i64 = cookie
        .split("Max-Age=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=15 * 60).contains(&max_age),
        "never outlives the token: {max_age}"
    );
    let cookie = pair(&cookie);
    // The link is single use: its token was consumed.
    let again = browse(&api, "GET", &format!("/wallet?token={token}"), &[], None);
    assert_eq!(again.status, 401);
    assert!(again.body.contains("used already"), "{}", again.body);
    // A finance token, or nonsense, opens nothing.
    let finance = api.finance_token(coalition::clearing::tokens::Role::Finance, None);
    assert_eq!(
        browse(&api, "GET", &format!("/wallet?token={finance}"), &[], None).status,
        401
    );
    assert_eq!(
        browse(&api, "GET", "/wallet?token=x.y.z", &[], None).status,
        401
    );

    let page = browse(&api, "GET", "/wallet", &[("cookie", cookie.clone())], None);
    assert_eq!(page.status, 200, "{}", page.body);
    let grouped: Vec<&str> = (0..4).map(|i| &card[i * 4..i * 4 + 4]).collect();
    assert!(
        page.body.contains(&format!(
            "<p class=\"big\" id=\"card-number\">{}</p>",
            grouped.join(" ")
        )),
        "{}",
        page.body
    );
    // 100 AROMA at 0.04 ILS; 50 PAGES from the bookstore, spent from the bookstore's own app.
    assert!(page.body.contains("<td>AROMA</td><td>Aroma Café</td><td class=\"num\">100</td><td class=\"num\">4.00</td><td>can spend</td>"), "{}", page.body);
    assert!(
        page.body
            .contains("<td>PAGES</td><td>Tel Aviv Books</td><td class=\"num\">50</td>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("from its own app"));
    assert!(
        page.body.contains("<option value=\"AROMA\">")
            && !page.body.contains("<option value=\"PAGES\">")
    );
    assert!(
        page.body.contains("Earned 100 AROMA at Aroma Café"),
        "the history's reasons"
    );
    // The default token may not read or change links: the page says where that is done.
    assert!(!page.body.contains("action=\"/wallet/consent\""));
    assert!(!page.body.contains("action=\"/wallet/link-codes\""));

    // An authorisation code for the bookstore's till, with its QR; a forged form does nothing.
    let csrf = csrf_field(&page.body);
    assert_eq!(
        post(
            &api,
            "/wallet/authorizations",
            &cookie,
            "csrf=guess&unit=AROMA&partner=books&max_points=30"
        )
        .status,
        403
    );
    let made = post(
        &api,
        "/wallet/authorizations",
        &cookie,
        &format!("csrf={csrf}&unit=AROMA&partner=books&max_points=30"),
    );
    assert_eq!(made.status, 200, "{}", made.body);
    let code = made
        .body
        .split("id=\"shown-code\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    assert!(
        made.body.contains("<div class=\"qr\" id=\"shown-qr\"") && made.body.contains("<svg"),
        "{}",
        made.body
    );
    let spent = api.post(
        "books",
        "/v1/redemptions",
        &serde_json::json!({ "member_id": dana, "unit": "AROMA", "points": "30", "reference": "till-9", "authorization": code }),
    );
    assert_eq!(
        spent.status, 201,
        "the code works at the till: {}",
        spent.body
    );
    // PAGES is the bookstore's: a token from Aroma's app cannot move it.
    let refused = post(
        &api,
        "/wallet/authorizations",
        &cookie,
        &format!("csrf={csrf}&unit=PAGES&partner=aroma&max_points=5"),
    );
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("role=\"alert\""), "{}", refused.body);

    // A donation to the charity partner.
    let given = post(
        &api,
        "/wallet/donations",
        &cookie,
        &format!("csrf={csrf}&charity=hope-kitchen&unit=AROMA&points=20"),
    );
    assert_eq!(given.status, 200, "{}", given.body);
    assert!(
        given.body.contains("your donation was made"),
        "{}",
        given.body
    );
    assert_eq!(api.balance("aroma", &dana), "50");

    // Hebrew, right to left, kept in the session.
    let he = browse(
        &api,
        "GET",
        "/wallet?lang=he",
        &[("cookie", cookie.clone())],
        None,
    );
    assert!(he.body.contains("dir=\"rtl\"") && he.body.contains("הכרטיס שלכם"));

    // Sign-out ends the session server-side.
    assert_eq!(
        post(&api, "/wallet/logout", &cookie, "csrf=guess").status,
        403
    );
    let out = post(&api, "/wallet/logout", &cookie, &format!("csrf={csrf}"));
    assert_eq!(out.status, 303);
    let after = browse(&api, "GET", "/wallet", &[("cookie", cookie)], None);
    assert_eq!(after.header("location").as_deref(), Some("/wallet/login"));
    api.verify();
}

#[test]
fn consent_and_link_codes_follow_the_tokens_scopes_and_brand() {
    let api = Api::start();
    let dana = api.member("aroma");
    api.link(&dana, "aroma", "books");
    let token = api.scoped_token("aroma", &dana, &["wallet", "links", "consent"]);
    let cookie = opened(&api, &token);
    let page = browse(&api, "GET", "/wallet", &[("cookie", cookie.clone())], None);
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = csrf_field(&page.body);
    // The bookstore's consent can be changed here; Aroma's own view cannot be widened by Aroma's app.
    assert!(
        page.body.contains("name=\"partner\" value=\"books\""),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("name=\"partner\" value=\"aroma\""),
        "{}",
        page.body
    );
    let saved = post(
        &api,
        "/wallet/consent",
        &cookie,
        &format!("csrf={csrf}&partner=books&share_balances=on"),
    );
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert!(
        api.link_shares(&api.scoped_token("aroma", &dana, &["links"]))
            .contains(&("books".into(), true))
    );
    let widen = post(
        &api,
        "/wallet/consent",
        &cookie,
        &format!("csrf={csrf}&partner=aroma&share_balances=on"),
    );
    assert_eq!(widen.status, 422, "{}", widen.body);
    // A link code for joining another brand, with its QR.
    let code = post(
        &api,
        "/wallet/link-codes",
        &cookie,
        &format!("csrf={csrf}&partner=threads"),
    );
    assert_eq!(code.status, 200, "{}", code.body);
    assert!(code.body.contains("id=\"shown-code\"") && code.body.contains("<svg"));
    // Without the `authorizations` scope there is no code form, and a post is refused on the page.
    assert!(!page.body.contains("action=\"/wallet/authorizations\""));
    let no = post(
        &api,
        "/wallet/authorizations",
        &cookie,
        &format!("csrf={csrf}&unit=AROMA&partner=books&max_points=1"),
    );
    assert_eq!(no.status, 422);
    assert!(no.body.contains("not given permission"), "{}", no.body);
}

/// The wallet shows the member's tier, their qualifying spend and progress to the next tier
/// (only with the token's `profile` scope), and each earn's points rule by rule; the console's
/// entry shows the same rules.
#[test]
fn the_wallet_shows_the_tier_and_every_earns_rules() {
    let api = Api::start();
    let dana = api.member("books");
    let earn = |amount: &str, reference: &str| {
        let r = api.post(
            "books",
            "/v1/earn",
            &serde_json::json!({ "member_id": dana, "purchase": { "amount": amount, "currency": "ILS",
                "lines": [{ "category": "books", "amount": amount }] }, "reference": reference }),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        r.json()
    };
    earn("2500.00", "big");
    // Gold now: the bookstore's member accrual (10 % of books at 0.05 a PAGE) and Gold's bonus.
    let second = earn("100.00", "after");
    assert_eq!(second["tier"], "Gold");
    let token = api.scoped_token("books", &dana, &["wallet", "entries", "profile"]);
    let cookie = opened(&api, &token);
    let page = browse(&api, "GET", "/wallet", &[("cookie", cookie)], None);
    assert_eq!(page.status, 200, "{}", page.body);
    let body = &page.body;
    assert!(
        body.contains(r#"<p class="big" id="tier-name">Gold</p>"#),
        "{body}"
    );
    assert!(body.contains("2,600.00 ILS"), "qualifying spend: {body}");
    // 2 600 of Club+'s 5 000: 520 per mille.
    assert!(
        body.contains(r#"<progress id="tier-progress" max="1000" value="520">"#),
        "{body}"
    );
    assert!(
        body.contains("<strong>Club+</strong>: 2,400.00 ILS to go"),
        "{body}"
    );
    // 100.00 → base 200, member-accrual 10 % = 10.00 ILS = 200 PAGES, Gold 10 % of 400 = 40.
    assert!(
        body.contains("(base 200 · member-accrual 200 · Gold 40)"),
        "{body}"
    );
    // Without the profile scope, no tier.
    let token = api.scoped_token("books", &dana, &["wallet", "entries"]);
    let cookie = opened(&api, &token);
    let page = browse(&api, "GET", "/wallet", &[("cookie", cookie)], None);
    assert!(!page.body.contains("tier-name"), "{}", page.body);
}
