//! `/wallet`: a member's pages, opened from a brand's app with a member token that is taken
//! once (its `jti` consumed) for a session cookie (`SameSite=Lax`, so the app's link works;
//! never outliving the token). The token's trust rules hold here as in the API: what it may
//! spend is what its brand (`azp`) issues, and the page says how to spend the rest.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use super::console::{Chrome, CsrfForm};
use super::format::filters;
use super::format::when;
use super::i18n::{Lang, Text};
use super::session::{IDLE_TIMEOUT_SECS, WalletSession, secret};
use super::{
    MAX_TOKEN_BYTES, SameSite, SessionCookie, cookie, current, html, lang_of, posted, redirect,
    refused, secure, set_cookie, sign_out, unavailable,
};
use crate::api::AppState;
use crate::clearing::codes::display_code;
use crate::clearing::links::Link;
use crate::clearing::members::{Wallet, WalletLine};
use crate::clearing::reasons::reason_in;
use crate::clearing::rules::clearing_value;
use crate::clearing::time;
use crate::ledger::{PartnerId, Party, UnitKind};
use crate::partners::Network;

/// The wallet's session cookie.
const SESSION_COOKIE: &str = "coalition_wallet";
/// Where the wallet's cookie is sent.
const COOKIE_PATH: &str = "/wallet";
/// Movements shown per page of the history.
const HISTORY_PER_PAGE: i64 = 20;

/// The wallet's live session, if any (`?lang=` switches its language).
pub(super) fn session(state: &AppState, req: &HttpRequest) -> Option<(String, WalletSession)> {
    current(&state.sessions.wallet, state, req, SESSION_COOKIE)
}

/// The wallet session that posted a form carrying `csrf`.
pub(super) fn posted_form(
    state: &AppState,
    req: &HttpRequest,
    csrf: &str,
) -> Result<WalletSession, Box<HttpResponse>> {
    posted(session(state, req), csrf, "/wallet/login")
}

pub struct BalanceRow {
    pub unit: String,
    pub issuer: String,
    pub points: String,
    pub value: String,
    /// This session may spend it (the unit is its brand's, or the network's).
    pub spendable: bool,
    /// What of it expires when: `(points, date)`, soonest first.
    pub expiring: Vec<(String, String)>,
}

pub struct Choice {
    pub id: String,
    pub name: String,
}

pub struct CouponRow {
    pub code: String,
    pub campaign: String,
    pub expires_at: String,
}

pub struct HistoryRow {
    pub at: String,
    pub reason: String,
    /// An earn's points rule by rule.
    pub rules: Option<String>,
}

pub struct LinkRow {
    pub partner: String,
    pub name: String,
    pub since: String,
    pub share_balances: bool,
    pub share_profile: bool,
    /// The brand whose app opened this session: the page cannot widen its view.
    pub own: bool,
}

/// A code just made, shown with its QR.
pub struct Shown {
    pub title: &'static str,
    pub code: String,
    pub detail: String,
    pub expires_at: String,
    pub qr_svg: String,
}

/// What an action adds to the page: a code made, or why it was refused.
#[derive(Default)]
pub struct Outcome {
    pub shown: Option<Shown>,
    pub error: Option<String>,
    pub notice: Option<&'static str>,
}

/// The member's tier as the wallet shows it: progress to the next one as a `<progress>`.
pub struct TierBlock {
    pub tier: String,
    pub qualifying: String,
    pub since: String,
    pub expires_at: Option<String>,
    /// The next tier's name and what it still needs.
    pub next: Option<(String, String)>,
    /// Progress to the next tier, in per mille of its minimum (the element needs no style).
    pub progress_permille: u32,
}

#[derive(Template)]
#[template(path = "pages/wallet.html")]
struct WalletPage {
    c: Chrome,
    csrf: String,
    card: String,
    tier: Option<TierBlock>,
    brand: String,
    currency: String,
    balances: Vec<BalanceRow>,
    spendable: Vec<String>,
    elsewhere: Vec<String>,
    partners: Vec<Choice>,
    charities: Vec<Choice>,
    coupons: Vec<CouponRow>,
    rewards: Vec<RewardRow>,
    /// The member's claims, with the token's `rewards` scope.
    claims: Option<Vec<ClaimLine>>,
    history: Vec<HistoryRow>,
    next: Option<i64>,
    links: Option<Vec<LinkRow>>,
    may_authorize: bool,
    may_link: bool,
    may_consent: bool,
    may_donate: bool,
    o: Outcome,
}

#[derive(Template)]
#[template(path = "pages/wallet_login.html")]
struct LoginPage {
    c: Chrome,
    refused: Option<&'static str>,
}

#[derive(Debug, Deserialize)]
pub struct OpenQuery {
    token: Option<String>,
    after: Option<i64>,
    lang: Option<String>,
}

/// The sign-in's refusal page: the link is not (or no longer) a way in.
fn not_opened(lang: Lang, why: fn(&Text) -> &'static str) -> HttpResponse {
    let page = LoginPage {
        c: Chrome::wallet(lang, |t| t.wallet),
        refused: Some(why(lang.text())),
    };
    html(401, page.render())
}

/// `GET /wallet/login`: how a member opens the wallet (from a brand's app).
#[get("/wallet/login")]
pub async fn login(req: HttpRequest, query: web::Query<OpenQuery>) -> HttpResponse {
    let page = LoginPage {
        c: Chrome::wallet(lang_of(&req, query.lang.as_deref()), |t| t.wallet),
        refused: None,
    };
    html(200, page.render())
}

/// Exchanges a wallet link's member token, once, for a session (`303` to `/wallet`).
async fn open(state: &AppState, req: &HttpRequest, token: &str, lang: Lang) -> HttpResponse {
    let now = state.clearing.clock().now_secs();
    let who = (token.len() <= MAX_TOKEN_BYTES)
        .then(|| state.clearing.context().tokens.member(token, now).ok())
        .flatten();
    let Some(who) = who else {
        return not_opened(lang, |t| t.wallet_link_invalid);
    };
    if !who.allows("wallet") {
        return not_opened(lang, |t| t.wallet_link_invalid);
    }
    if state.clearing.require_member(who.member).await.is_err() {
        return not_opened(lang, |t| t.wallet_link_invalid);
    }
    if !state
        .sessions
        .consume_token(&who.jti, who.expires_at_secs, now)
    {
        return not_opened(lang, |t| t.wallet_link_used);
    }
    let Some(csrf) = secret() else {
        return refused(503, "no random source");
    };
    let token_exp_secs = who.expires_at_secs;
    let opened = state.sessions.wallet.open(WalletSession {
        who,
        csrf,
        lang,
        token_exp_secs,
        idle_until_secs: now.saturating_add(IDLE_TIMEOUT_SECS),
    });
    let Some(id) = opened else {
        return refused(503, "no random source");
    };
    // Whatever session this browser had is over: the link's member is who is signed in now.
    if let Some(old) = cookie(req, SESSION_COOKIE) {
        state.sessions.wallet.close(&old);
    }
    let mut response = redirect("/wallet");
    set_cookie(
        &mut response,
        SESSION_COOKIE,
        &id,
        COOKIE_PATH,
        (
            token_exp_secs.saturating_sub(now).max(0),
            secure(state),
            SameSite::Lax,
        ),
    );
    response
}

/// `GET /wallet?token=…` opens the wallet; `GET /wallet` shows it (`?after=` pages the history).
#[get("/wallet")]
pub async fn wallet(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<OpenQuery>,
) -> HttpResponse {
    if let Some(token) = &query.token {
        return open(
            &state,
            &req,
            token.trim(),
            lang_of(&req, query.lang.as_deref()),
        )
        .await;
    }
    let Some((_, s)) = session(&state, &req) else {
        return redirect("/wallet/login");
    };
    render(&state, &s, query.after.unwrap_or(0), Outcome::default()).await
}

/// The wallet page for session `s`, its history after `after`, with an action's outcome.
pub(super) async fn render(
    state: &AppState,
    s: &WalletSession,
    after: i64,
    o: Outcome,
) -> HttpResponse {
    let member = s.who.member;
    // The history is the token's `entries` scope, as `GET /v1/me/entries` is.
    let history = async {
        if !s.who.allows("entries") {
            return Ok((Vec::new(), None));
        }
        let c = &state.clearing;
        c.member_entries(member, after, HISTORY_PER_PAGE).await
    };
    let (Ok(w), Ok((entries, next))) = (state.clearing.wallet(member).await, history.await) else {
        return unavailable();
    };
    let links = async {
        if s.who.allows("links") {
            state.clearing.links(member).await.map(Some)
        } else {
            Ok(None)
        }
    };
    let (Ok(links), Ok(tier)) = (links.await, tier(state, s).await) else {
        return unavailable();
    };
    let Ok((rewards, claims)) = rewards(state, s).await else {
        return unavailable();
    };
    let network = state.clearing.network();
    let ctx = state.clearing.context();
    let azp = &s.who.azp;
    let name = |p: &Party| party_name(network, p);
    let (spendable, elsewhere) = units_by_reach(network, azp);
    let page = WalletPage {
        c: Chrome::wallet(s.lang, |t| t.wallet),
        csrf: s.csrf.clone(),
        card: w.card_number.as_deref().map(grouped).unwrap_or_default(),
        tier,
        brand: name(&Party::Partner(azp.clone())),
        currency: network.settlement_currency.to_string(),
        balances: balance_rows(network, azp, &w.lines, s.lang),
        spendable,
        // Only the units the member holds: the others need no advice.
        elsewhere: elsewhere
            .into_iter()
            .filter(|(unit, _)| w.lines.iter().any(|l| l.unit.as_str() == unit))
            .map(|(unit, issuer)| format!("{unit} ({})", name(&issuer)))
            .collect(),
        // The brand whose app this is spends its own points without a code.
        partners: choices(network, false)
            .into_iter()
            .filter(|p| p.id != azp.as_str())
            .collect(),
        charities: choices(network, true),
        coupons: coupon_rows(&w, s.lang),
        rewards,
        claims,
        history: history_rows(ctx, &entries, s.lang),
        next,
        links: links.map(|links| link_rows(network, azp, links)),
        may_authorize: s.who.allows("authorizations"),
        may_link: s.who.allows("links"),
        may_consent: s.who.allows("consent"),
        may_donate: s.who.allows("donations"),
        o,
    };
    html(
        if page.o.error.is_some() { 422 } else { 200 },
        page.render(),
    )
}

/// The member's tier, which is their behaviour at every brand: only with the token's `profile`
/// scope, as `GET /v1/me/tier` asks; a network without a ladder shows none.
async fn tier(
    state: &AppState,
    s: &WalletSession,
) -> Result<Option<TierBlock>, crate::clearing::ClearingError> {
    if !s.who.allows("profile") || state.clearing.network().tiers.is_none() {
        return Ok(None);
    }
    let view = state.clearing.tier_of(s.who.member, None).await?;
    Ok(Some(tier_block(view, s.lang)))
}

/// The tier view as the page shows it: dates as the language writes them, progress in per mille.
fn tier_block(view: crate::clearing::views::tier::TierView, lang: Lang) -> TierBlock {
    let day = |at: &str| {
        crate::clearing::time::parse_rfc3339(at).map_or_else(|| at.to_owned(), |us| when(us, lang))
    };
    let qualifying = view.qualifying.clone().unwrap_or_default();
    let progress_permille = view.next.as_ref().map_or(1000, |n| {
        let (spent, needed) = (
            qualifying
                .parse::<rust_decimal::Decimal>()
                .unwrap_or_default(),
            n.needed
                .parse::<rust_decimal::Decimal>()
                .unwrap_or_default(),
        );
        let whole = spent + needed;
        if whole.is_zero() {
            return 0;
        }
        let permille = spent * rust_decimal::Decimal::from(1000) / whole;
        u32::try_from(permille.trunc().mantissa())
            .unwrap_or(0)
            .min(1000)
    });
    TierBlock {
        tier: view.tier,
        qualifying,
        since: day(&view.since),
        expires_at: view.expires_at.as_deref().map(day),
        next: view.next.map(|n| (n.name, n.needed)),
        progress_permille,
    }
}

/// The member's open coupons (the wallet's rows, whatever the store calls them).
/// The history's lines: when, what it meant for the member, and an earn's rules.
fn history_rows(
    ctx: &crate::clearing::Context,
    entries: &[crate::clearing::receipt::Posted],
    lang: Lang,
) -> Vec<HistoryRow> {
    entries
        .iter()
        .map(|p| HistoryRow {
            at: when(p.entry.created_at_us, lang),
            reason: reason_in(ctx, &p.entry, lang.text().reasons),
            rules: crate::clearing::views::entry::explanation(&p.entry),
        })
        .collect()
}

/// The most rewards on offer the wallet lists.
const REWARDS_SHOWN: i64 = 50;

/// A reward on offer, as the wallet lists it.
pub struct RewardRow {
    pub name: String,
    pub at: String,
    pub price: String,
    pub places_left: i64,
}

/// One of the member's claims.
pub struct ClaimLine {
    pub reward: String,
    pub at: String,
    pub code: String,
    pub status: &'static str,
}

/// The rewards on offer (the first page of the public list), and the member's claims with the
/// token's `rewards` scope.
async fn rewards(
    state: &AppState,
    s: &WalletSession,
) -> Result<(Vec<RewardRow>, Option<Vec<ClaimLine>>), crate::clearing::ClearingError> {
    let network = state.clearing.network();
    let offered = state
        .clearing
        .rewards(None, REWARDS_SHOWN)
        .await?
        .into_iter()
        .map(|r| RewardRow {
            at: partner_name(network, &r.partner),
            price: format!("{} {}", r.points, r.unit),
            places_left: r.places_left,
            name: r.name,
        })
        .collect();
    if !s.who.allows("rewards") {
        return Ok((offered, None));
    }
    let t = s.lang.text();
    let claims = state
        .clearing
        .member_claims(s.who.member)
        .await?
        .into_iter()
        .map(|(c, r)| ClaimLine {
            at: partner_name(network, &r.partner),
            reward: r.name,
            code: c.claim_code,
            status: match c.status.as_str() {
                "fulfilled" => t.claim_fulfilled,
                "cancelled" => t.claim_cancelled,
                _ => t.claim_claimed,
            },
        })
        .collect();
    Ok((offered, Some(claims)))
}

fn coupon_rows(w: &Wallet, lang: Lang) -> Vec<CouponRow> {
    w.coupons
        .iter()
        .map(|c| CouponRow {
            code: display_code(&c.code),
            campaign: c.campaign_id.clone(),
            expires_at: when(c.expires_at_us, lang),
        })
        .collect()
}

/// A partner's name as members know it, from its id as text (the id itself if unknown).
pub(super) fn partner_name(network: &Network, partner: &str) -> String {
    partner
        .parse()
        .ok()
        .and_then(|p| network.partner(&p))
        .map_or_else(|| partner.to_owned(), |p| p.name.clone())
}

/// A party's name as members know it.
fn party_name(network: &Network, p: &Party) -> String {
    match p {
        Party::Partner(id) => network
            .partner(id)
            .map_or_else(|| id.to_string(), |p| p.name.clone()),
        Party::Network => network.name.clone(),
    }
}

/// Whether a session opened by `azp`'s app may spend a unit `issuer` issues: its brand's own,
/// or the network's (the trust rules; the use case checks again, whatever the page shows).
fn may_spend(azp: &PartnerId, issuer: &Party) -> bool {
    match issuer {
        Party::Partner(p) => p == azp,
        Party::Network => true,
    }
}

/// The network's points units: those this session may spend, and the others with their issuer.
fn units_by_reach(network: &Network, azp: &PartnerId) -> (Vec<String>, Vec<(String, Party)>) {
    let (here, there): (Vec<_>, Vec<_>) = network
        .units
        .iter()
        .filter_map(|u| match &u.kind {
            UnitKind::Points { issuer, .. } => Some((u.code.to_string(), issuer.clone())),
            UnitKind::Currency => None,
        })
        .partition(|(_, issuer)| may_spend(azp, issuer));
    (here.into_iter().map(|(u, _)| u).collect(), there)
}

fn balance_rows(
    network: &Network,
    azp: &PartnerId,
    lines: &[WalletLine],
    lang: Lang,
) -> Vec<BalanceRow> {
    lines
        .iter()
        .map(|l| BalanceRow {
            unit: l.unit.to_string(),
            issuer: party_name(network, &l.issuer),
            points: l.balance.to_string(),
            value: network
                .units
                .get(&l.unit)
                .and_then(|u| clearing_value(l.balance, u, network).ok())
                .map(|v| v.to_string())
                .unwrap_or_default(),
            spendable: may_spend(azp, &l.issuer),
            expiring: l
                .expiring
                .iter()
                .map(|e| (e.points.to_string(), super::format::when(e.at_us, lang)))
                .collect(),
        })
        .collect()
}

/// The partners (or the charities) a member can pick.
fn choices(network: &Network, charity: bool) -> Vec<Choice> {
    network
        .partners
        .values()
        .filter(|p| p.charity == charity)
        .map(|p| Choice {
            id: p.id.to_string(),
            name: p.name.clone(),
        })
        .collect()
}

fn link_rows(network: &Network, azp: &PartnerId, links: Vec<Link>) -> Vec<LinkRow> {
    links
        .into_iter()
        .map(|l| LinkRow {
            name: partner_name(network, &l.partner),
            own: l.partner == azp.as_str(),
            partner: l.partner,
            since: time::rfc3339(l.linked_at_us),
            share_balances: l.sharing.balances,
            share_profile: l.sharing.profile,
        })
        .collect()
}

/// A card number in groups of four, as printed on a card.
fn grouped(number: &str) -> String {
    number
        .as_bytes()
        .chunks(4)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `POST /wallet/logout`: the session ends, here and in the browser.
#[post("/wallet/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let rules = SessionCookie {
        name: SESSION_COOKIE,
        path: COOKIE_PATH,
        same_site: SameSite::Lax,
        sign_in: "/wallet/login",
    };
    sign_out(&state, &req, &form.csrf, &state.sessions.wallet, &rules)
}
