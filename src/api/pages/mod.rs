//! Pages for people, from the same binary: server-rendered HTML (askama templates in
//! `templates/`, every value escaped), one stylesheet, no JavaScript. `/console` for finance
//! and operators, `/wallet` for members. Every page is sent with a strict
//! Content-Security-Policy that also forbids framing.

pub mod console;
pub mod entries;
pub mod format;
pub mod health;
pub mod i18n;
pub mod insights;
pub mod liability;
pub mod multipart;
pub mod qr;
pub mod reconcile;
pub mod session;
pub mod settlements;
pub mod statements;
pub mod wallet;
pub mod wallet_actions;
pub mod webhooks;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};

use crate::api::AppState;
use i18n::Lang;
use session::{Session, SessionStore};

/// What every page may load: its own stylesheet and nothing else; no page may be framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Registers the pages' routes (they are not API operations: no OpenAPI entry).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(console::login_form)
        .service(console::login)
        .service(console::logout)
        .service(console::overview)
        .service(settlements::list)
        .service(settlements::close)
        .service(settlements::one)
        .service(settlements::pay)
        .service(statements::page)
        .service(statements::download)
        .service(reconcile::form)
        .service(reconcile::upload)
        .service(entries::search)
        .service(insights::page)
        .service(liability::page)
        .service(webhooks::page)
        .service(health::health)
        .service(wallet::login)
        .service(wallet::wallet)
        .service(wallet::logout)
        .service(wallet_actions::authorize)
        .service(wallet_actions::link_code)
        .service(wallet_actions::consent)
        .service(wallet_actions::donate)
        .service(stylesheet);
}

/// A rendered page, with the pages' security headers.
pub fn html(status: u16, rendered: Result<String, askama::Error>) -> HttpResponse {
    let Ok(body) = rendered else {
        return refused(500, "the page could not be rendered");
    };
    let code = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(code)
        .content_type("text/html; charset=utf-8")
        .body(body);
    secure_headers(&mut response);
    response
}

fn secure_headers(response: &mut HttpResponse) {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_FRAME_OPTIONS,
        header::HeaderValue::from_static("DENY"),
    );
    h.insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
}

/// `303 See Other` to `to`, one of the pages' own paths.
pub fn redirect(to: &str) -> HttpResponse {
    let mut response = HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish();
    secure_headers(&mut response);
    response
}

/// A refusal as a short plain-text page.
pub fn refused(status: u16, why: &'static str) -> HttpResponse {
    let code = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(code)
        .content_type("text/plain; charset=utf-8")
        .body(why);
    secure_headers(&mut response);
    response
}

/// `503`: the database did not answer; the same request may succeed again.
pub fn unavailable() -> HttpResponse {
    refused(503, "the database is unavailable: try again")
}

/// A cookie the request carries.
pub fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// When a browser sends a cookie from another site's link: never (the console), or on a plain
/// link only (the wallet, opened from a partner's app).
#[derive(Debug, Clone, Copy)]
pub enum SameSite {
    Strict,
    Lax,
}

/// Adds a `Set-Cookie`: `HttpOnly`, `Secure` when served over TLS, for `max_age_secs` (0
/// removes it).
pub fn set_cookie(
    response: &mut HttpResponse,
    name: &str,
    value: &str,
    path: &str,
    (max_age_secs, secure, same_site): (i64, bool, SameSite),
) {
    let secure = if secure { "; Secure" } else { "" };
    let same_site = match same_site {
        SameSite::Strict => "Strict",
        SameSite::Lax => "Lax",
    };
    let line = format!(
        "{name}={value}; Path={path}; Max-Age={max_age_secs}; HttpOnly; SameSite={same_site}{secure}"
    );
    if let Ok(v) = header::HeaderValue::from_str(&line) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The longest token a sign-in form or link takes.
pub const MAX_TOKEN_BYTES: usize = 4096;

/// The language asked for (`?lang=`), else the browser's (`Accept-Language`).
pub fn lang_of(req: &HttpRequest, asked: Option<&str>) -> Lang {
    asked.and_then(Lang::parse).unwrap_or_else(|| {
        Lang::from_accept(
            req.headers()
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok()),
        )
    })
}

/// Whether the service is reached over TLS (its public URL is https): cookies are `Secure`.
pub fn secure(state: &AppState) -> bool {
    state
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"))
}

/// The live session of `store` this request's cookie `name` names, if any; a `?lang=` on any
/// page switches its language (kept in the session).
pub fn current<T: Clone>(
    store: &SessionStore<T>,
    state: &AppState,
    req: &HttpRequest,
    name: &str,
) -> Option<(String, Session<T>)> {
    let id = cookie(req, name)?;
    let now = state.clearing.clock().now_secs();
    let mut s = store.touch(&id, now)?;
    let asked = req
        .query_string()
        .split('&')
        .find_map(|kv| kv.strip_prefix("lang="))
        .and_then(Lang::parse);
    if let Some(lang) = asked {
        store.set_lang(&id, lang);
        s.lang = lang;
    }
    Some((id, s))
}

/// The session that posted a form carrying `csrf`: to `sign_in` without one, `403` when the
/// form is not this session's (forged elsewhere).
pub fn posted<T>(
    session: Option<(String, Session<T>)>,
    csrf: &str,
    sign_in: &str,
) -> Result<Session<T>, Box<HttpResponse>> {
    let Some((_, s)) = session else {
        return Err(Box::new(redirect(sign_in)));
    };
    if s.csrf != csrf {
        return Err(Box::new(refused(403, "the form was not this session's")));
    }
    Ok(s)
}

/// Where a kind of session lives: its cookie, the cookie's path and `SameSite`, and where a
/// browser without one is sent.
pub struct SessionCookie {
    pub name: &'static str,
    pub path: &'static str,
    pub same_site: SameSite,
    pub sign_in: &'static str,
}

/// Sign-out: with the session's own CSRF token, the session ends here and its cookie in the
/// browser; `303` to the sign-in.
pub fn sign_out<T: Clone>(
    state: &AppState,
    req: &HttpRequest,
    csrf: &str,
    store: &SessionStore<T>,
    rules: &SessionCookie,
) -> HttpResponse {
    let Some(id) = cookie(req, rules.name) else {
        return redirect(rules.sign_in);
    };
    if let Err(refusal) = posted(current(store, state, req, rules.name), csrf, rules.sign_in) {
        return *refusal;
    }
    store.close(&id);
    let mut response = redirect(rules.sign_in);
    set_cookie(
        &mut response,
        rules.name,
        "",
        rules.path,
        (0, secure(state), rules.same_site),
    );
    response
}

/// The pages' stylesheet, from the binary.
#[get("/console/static/style.css")]
pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("style.css"))
}
