//! Driving the pages as a browser would, over plain HTTP: redirects answered rather than
//! followed, cookies and CSRF fields read from the responses.

use super::{Api, Resp, send_unfollowed};

/// Sends a request as a browser would, answering a redirect rather than following it.
pub fn browse(
    api: &Api,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    form: Option<&str>,
) -> Resp {
    let mut all = headers.to_vec();
    if form.is_some() {
        all.push(("content-type", "application/x-www-form-urlencoded".into()));
    }
    send_unfollowed(method, &api.url(path), &all, form.map(str::as_bytes))
}

/// The `name=value` of a `Set-Cookie` named `name`.
pub fn set_cookie(r: &Resp, name: &str) -> Option<String> {
    r.headers
        .iter()
        .filter(|(n, _)| n == "set-cookie")
        .map(|(_, v)| v.clone())
        .find(|v| v.starts_with(&format!("{name}=")))
}

pub fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

/// The value of the hidden `csrf` field of a page.
pub fn csrf_field(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    page[at..].split('"').next().unwrap().to_owned()
}

/// Signs in with `token` and returns the session cookie and the overview's CSRF token.
pub fn signed_in(api: &Api, token: &str) -> (String, String) {
    let form = browse(api, "GET", "/console/login", &[], None);
    let login_cookie = pair(&set_cookie(&form, "coalition_console_login").unwrap());
    let r = browse(
        api,
        "POST",
        "/console/login",
        &[("cookie", login_cookie)],
        Some(&format!("token={token}&csrf={}", csrf_field(&form.body))),
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let cookie = pair(&set_cookie(&r, "coalition_console").unwrap());
    let page = browse(api, "GET", "/console", &[("cookie", cookie.clone())], None);
    (cookie.clone(), csrf_field(&page.body))
}
