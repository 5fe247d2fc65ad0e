//! The finance console's sign-in, session and safety over real HTTP (the browser tests of the
//! pages come with the rest of them): a finance token for an `HttpOnly`, `SameSite=Strict`
//! session, CSRF on every form, a strict Content-Security-Policy, and Hebrew right to left.

use coalition::clearing::tokens::Role;

use crate::common::{Api, Resp};

/// Sends a request as a browser would, without following redirects.
fn browse(
    api: &Api,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    form: Option<&str>,
) -> Resp {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut builder = ureq::http::Request::builder()
        .method(method)
        .uri(api.url(path));
    for (n, v) in headers {
        builder = builder.header(*n, v);
    }
    if form.is_some() {
        builder = builder.header("content-type", "application/x-www-form-urlencoded");
    }
    let request = builder
        .body(form.unwrap_or_default().as_bytes().to_vec())
        .unwrap();
    let mut response = agent.run(request).unwrap();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    Resp {
        status: response.status().as_u16(),
        headers,
        body: response.body_mut().read_to_string().unwrap(),
    }
}

/// The `name=value` of a `Set-Cookie` named `name`.
fn set_cookie(r: &Resp, name: &str) -> Option<String> {
    r.headers
        .iter()
        .filter(|(n, _)| n == "set-cookie")
        .map(|(_, v)| v.clone())
        .find(|v| v.starts_with(&format!("{name}=")))
}

fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

/// The value of the hidden `csrf` field of a page.
fn csrf_field(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    page[at..].split('"').next().unwrap().to_owned()
}

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
