//! `/console`: the finance and operator pages. Sign-in exchanges a finance token for a
//! server-side session (`HttpOnly`, `SameSite=Strict`); every form carries the session's CSRF
//! token; a partner's finance user sees only its partner's figures.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use super::format::filters;
use super::i18n::{Lang, Text};
use super::session::{ConsoleSession, IDLE_TIMEOUT_SECS, secret};
use super::{
    MAX_TOKEN_BYTES, SameSite, SessionCookie, cookie, current, html, lang_of, posted, redirect,
    refused, secure, set_cookie, sign_out, unavailable,
};
use crate::api::AppState;
use crate::clearing::rules::clearing_value;
use crate::clearing::tokens::{FinanceIdentity, Role};
use crate::ledger::Party;

/// The session cookie of the console.
const SESSION_COOKIE: &str = "coalition_console";
/// The cookie holding the sign-in form's CSRF token (there is no session yet).
const LOGIN_CSRF_COOKIE: &str = "coalition_console_login";
/// Where the console's cookies are sent.
const COOKIE_PATH: &str = "/console";

/// What every page's frame shows.
pub struct Chrome {
    /// The application's name: the console or the wallet.
    pub app: &'static str,
    /// The pages' own root, `/console` or `/wallet`.
    pub home: &'static str,
    /// Where the language switch leads: this page (empty: the address as it is) or, for a page
    /// that answers a form, the page the form is on.
    pub back: String,
    pub lang: &'static str,
    pub dir: &'static str,
    pub other_lang: &'static str,
    pub other_name: &'static str,
    pub title: &'static str,
    pub t: &'static Text,
}

impl Chrome {
    pub(super) fn new(lang: Lang, title: fn(&Text) -> &'static str) -> Self {
        let t = lang.text();
        Self {
            app: t.console,
            home: "/console",
            back: String::new(),
            lang: lang.code(),
            dir: lang.dir(),
            other_lang: lang.other().code(),
            other_name: lang.other().text().language_name,
            title: title(t),
            t,
        }
    }

    /// The frame of a page that answers a form posted from `back`.
    pub(super) fn answering(self, back: String) -> Self {
        Self { back, ..self }
    }

    /// A wallet page's frame.
    pub(super) fn wallet(lang: Lang, title: fn(&Text) -> &'static str) -> Self {
        Self {
            app: lang.text().wallet,
            home: "/wallet",
            back: "/wallet".to_owned(),
            ..Self::new(lang, title)
        }
    }
}

#[derive(Template)]
#[template(path = "pages/login.html")]
struct LoginPage {
    c: Chrome,
    csrf: String,
    refused: bool,
}

pub struct PartnerRow {
    pub id: String,
    pub name: String,
    pub unit: String,
}

pub struct UnitRow {
    pub code: String,
    pub issuer: String,
    pub value: String,
}

pub struct OutstandingRow {
    pub issuer: String,
    pub unit: String,
    pub points: String,
    pub value: String,
    pub bar_percent: u32,
    pub bar_y: u32,
}

#[derive(Template)]
#[template(path = "pages/overview.html")]
struct OverviewPage {
    c: Chrome,
    csrf: String,
    who: String,
    currency: String,
    partners: Vec<PartnerRow>,
    units: Vec<UnitRow>,
    outstanding: Vec<OutstandingRow>,
    chart_height: u32,
    /// The open cycle's running positions: party and net (above zero the network pays it).
    running: Vec<(String, String)>,
}

#[derive(Debug, Deserialize)]
pub struct LangQuery {
    pub(super) lang: Option<String>,
    /// A sign-in link's token (`coalition token --login`), taken once.
    pub(super) token: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    token: String,
    csrf: String,
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    pub(super) csrf: String,
}

/// The signed-in console session of this request, if any; `?lang=` switches its language.
pub(super) fn session(state: &AppState, req: &HttpRequest) -> Option<(String, ConsoleSession)> {
    current(&state.sessions.console, state, req, SESSION_COOKIE)
}

/// The console session that posted a form carrying `csrf`: to the sign-in without one, `403`
/// when the form is not this session's (forged elsewhere).
pub(super) fn posted_form(
    state: &AppState,
    req: &HttpRequest,
    csrf: &str,
) -> Result<ConsoleSession, Box<HttpResponse>> {
    posted(session(state, req), csrf, "/console/login")
}

/// `GET /console/login`: the sign-in form.
#[get("/console/login")]
pub async fn login_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<LangQuery>,
) -> HttpResponse {
    let lang = lang_of(&req, query.lang.as_deref());
    if let Some(token) = &query.token {
        return link_sign_in(&state, token.trim(), lang);
    }
    form_page(&state, lang, false)
}

/// The sign-in form, with a fresh CSRF token in its cookie; `refused` says a token was not
/// accepted (`401`).
fn form_page(state: &AppState, lang: Lang, refused_token: bool) -> HttpResponse {
    let Some(csrf) = secret() else {
        return refused(503, "no random source");
    };
    let page = LoginPage {
        c: Chrome::new(lang, |t| t.sign_in),
        csrf: csrf.clone(),
        refused: refused_token,
    };
    let mut response = html(if refused_token { 401 } else { 200 }, page.render());
    set_cookie(
        &mut response,
        LOGIN_CSRF_COOKIE,
        &csrf,
        COOKIE_PATH,
        (IDLE_TIMEOUT_SECS, secure(state), SameSite::Strict),
    );
    response
}

/// `POST /console/login`: a finance or operator token for a session (`303` to `/console`).
#[post("/console/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> HttpResponse {
    let expected = cookie(&req, LOGIN_CSRF_COOKIE);
    if expected.as_deref() != Some(form.csrf.as_str()) || form.csrf.is_empty() {
        return refused(
            403,
            "the sign-in form expired or was not this site's: load it again",
        );
    }
    let lang = lang_of(&req, None);
    let now = state.clearing.clock().now_secs();
    let token = form.token.trim();
    let who = (token.len() <= MAX_TOKEN_BYTES)
        .then(|| state.clearing.context().tokens.finance(token, now).ok())
        .flatten();
    let Some(who) = who else {
        let page = LoginPage {
            c: Chrome::new(lang, |t| t.sign_in),
            csrf: form.csrf.clone(),
            refused: true,
        };
        return html(401, page.render());
    };
    let mut response = signed_in(&state, who, lang);
    set_cookie(
        &mut response,
        LOGIN_CSRF_COOKIE,
        "",
        COOKIE_PATH,
        (0, secure(&state), SameSite::Strict),
    );
    response
}

/// A session for `who`: its cookie, and `303` to the overview.
fn signed_in(state: &AppState, who: FinanceIdentity, lang: Lang) -> HttpResponse {
    let now = state.clearing.clock().now_secs();
    let (Some(csrf), token_exp_secs) = (secret(), who.expires_at_secs) else {
        return refused(503, "no random source");
    };
    let opened = state.sessions.console.open(ConsoleSession {
        who,
        csrf,
        lang,
        token_exp_secs,
        idle_until_secs: now.saturating_add(IDLE_TIMEOUT_SECS),
    });
    let Some(id) = opened else {
        return refused(503, "no random source");
    };
    let mut response = redirect("/console");
    let max_age = token_exp_secs.saturating_sub(now).max(0);
    set_cookie(
        &mut response,
        SESSION_COOKIE,
        &id,
        COOKIE_PATH,
        (max_age, secure(state), SameSite::Strict),
    );
    response
}

/// `GET /console/login?token=…`: a sign-in link (`coalition token --login`) opens a session
/// once; a token without an id, used before, or not a finance token is refused on the form.
fn link_sign_in(state: &AppState, token: &str, lang: Lang) -> HttpResponse {
    let now = state.clearing.clock().now_secs();
    let who = (token.len() <= MAX_TOKEN_BYTES)
        .then(|| state.clearing.context().tokens.finance(token, now).ok())
        .flatten();
    let taken = who.as_ref().is_some_and(|w| {
        w.jti
            .as_deref()
            .is_some_and(|jti| state.sessions.consume_token(jti, w.expires_at_secs, now))
    });
    match who {
        Some(who) if taken => signed_in(state, who, lang),
        _ => form_page(state, lang, true),
    }
}

/// `POST /console/logout`: the session ends, here and in the browser.
#[post("/console/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let rules = SessionCookie {
        name: SESSION_COOKIE,
        path: COOKIE_PATH,
        same_site: SameSite::Strict,
        sign_in: "/console/login",
    };
    sign_out(&state, &req, &form.csrf, &state.sessions.console, &rules)
}

fn who_text(who: &FinanceIdentity, t: &Text) -> String {
    let role = match who.role {
        Role::Finance => t.role_finance,
        Role::Operator => t.role_operator,
    };
    match &who.partner {
        Some(p) => format!("{role} · {p}"),
        None => role.to_owned(),
    }
}

/// What the issuers `visible` picks have outstanding, with its value and a bar for the chart
/// (`None`: the database did not answer).
async fn outstanding_rows(
    state: &AppState,
    visible: impl Fn(&Party) -> bool,
) -> Option<Vec<OutstandingRow>> {
    let network = state.clearing.network();
    let outstanding = state.clearing.outstanding().await.ok()?;
    let mut rows: Vec<(String, String, String, crate::ledger::Amount)> = Vec::new();
    for (issuer, unit, points) in outstanding.into_iter().filter(|(i, ..)| visible(i)) {
        let Some(u) = network.units.get(&unit) else {
            continue;
        };
        let Ok(value) = clearing_value(points, u, network) else {
            continue;
        };
        rows.push((
            issuer.to_string(),
            unit.to_string(),
            points.to_string(),
            value,
        ));
    }
    let largest = rows.iter().map(|r| r.3.minor()).max().unwrap_or(0).max(1);
    Some(
        rows.into_iter()
            .enumerate()
            .map(|(i, (issuer, unit, points, value))| OutstandingRow {
                issuer,
                unit,
                points,
                value: value.to_string(),
                bar_percent: u32::try_from(value.minor().max(0) * 100 / largest).unwrap_or(100),
                bar_y: u32::try_from(i * 20).unwrap_or(0),
            })
            .collect(),
    )
}

/// The ids of the partners the session may see: its own partner's, or every partner's.
pub(super) fn visible_partners(state: &AppState, s: &ConsoleSession) -> Vec<String> {
    state
        .clearing
        .network()
        .partners
        .values()
        .filter(|p| s.who.partner.as_ref().is_none_or(|own| own == &p.id))
        .map(|p| p.id.to_string())
        .collect()
}

/// `GET /console`: the network at a glance.
#[get("/console")]
pub async fn overview(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let Some((_, s)) = session(&state, &req) else {
        return redirect("/console/login");
    };
    let network = state.clearing.network();
    // A partner's finance user sees its own partner only.
    let mine = |p: &crate::ledger::PartnerId| s.who.partner.as_ref().is_none_or(|own| own == p);
    let partners = network
        .partners
        .values()
        .filter(|p| mine(&p.id))
        .map(|p| PartnerRow {
            id: p.id.to_string(),
            name: p.name.clone(),
            unit: p.unit.as_ref().map(ToString::to_string).unwrap_or_default(),
        })
        .collect();
    let issued_by_me = |issuer: &Party| match issuer {
        Party::Partner(p) => mine(p),
        Party::Network => s.who.partner.is_none(),
    };
    let units = network
        .units
        .iter()
        .filter(|u| u.issuer().is_some_and(issued_by_me))
        .map(|u| UnitRow {
            code: u.code.to_string(),
            issuer: u.issuer().map(ToString::to_string).unwrap_or_default(),
            value: match &u.kind {
                crate::ledger::UnitKind::Points { value, .. } => value.to_string(),
                crate::ledger::UnitKind::Currency => String::new(),
            },
        })
        .collect();
    let (Some(outstanding), Ok(running)) = (
        outstanding_rows(&state, issued_by_me).await,
        state.clearing.running_positions().await,
    ) else {
        return unavailable();
    };
    let scale = network.currency_scale;
    let running = running
        .into_iter()
        .filter(|(party, net)| {
            *net != 0
                && s.who
                    .partner
                    .as_ref()
                    .is_none_or(|own| own.as_str() == party)
        })
        .map(|(party, net)| (party, crate::clearing::views::settlement::money(net, scale)))
        .collect();
    let page = OverviewPage {
        c: Chrome::new(s.lang, |t| t.overview),
        csrf: s.csrf.clone(),
        who: who_text(&s.who, s.lang.text()),
        currency: network.settlement_currency.to_string(),
        partners,
        units,
        chart_height: u32::try_from(outstanding.len() * 20).unwrap_or(0),
        outstanding,
        running,
    };
    html(200, page.render())
}
