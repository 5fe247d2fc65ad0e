//! `/console/entries`: the journal searched by partner, member (id or card), kind, dates and
//! reference; each entry with its reason, postings, hash and receipt, a page at a time. Reads
//! by the journal's indexes (partner, member, reference); a partner's user sees its own.

use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;
use serde::{Deserialize, Serialize};

use super::console::{Chrome, session, visible_partners};
use super::format::filters;
use super::session::ConsoleSession;
use super::{html, redirect, unavailable};
use crate::api::AppState;
use crate::clearing::reads::EntryQuery;
use crate::clearing::reasons::reason;
use crate::clearing::views::entry::EntryView;
use crate::clearing::{ClearingError, time};
use crate::ledger::{CardNumber, EntryKind, MemberId, PartnerId};

/// Entries shown per page.
const ENTRIES_PER_PAGE: i64 = 50;
/// The longest text a search field takes.
const MAX_FIELD_CHARS: usize = 128;

/// The search, as the form sends it and the page links keep it.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct Search {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    partner: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    member: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    from: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    to: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    after: Option<i64>,
}

pub struct Row {
    pub v: EntryView,
    pub reason: String,
}

/// The searched member's tier, as the session may see it (a partner's user: tier and since
/// only, unless the member shares their profile with that partner).
pub struct TierLine {
    pub tier: String,
    pub since: String,
    pub qualifying: Option<String>,
    pub next: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "pages/entries.html")]
struct EntriesPage {
    c: Chrome,
    csrf: String,
    q: Search,
    partners: Vec<String>,
    kinds: Vec<&'static str>,
    fixed_partner: bool,
    rows: Vec<Row>,
    next: Option<String>,
    error: Option<&'static str>,
    tier: Option<TierLine>,
    currency: String,
}

/// A date (`2026-11-30`, the whole day in UTC) or an RFC 3339 time; `end` takes a date's end.
fn instant(text: &str, end: bool) -> Option<i64> {
    if text.len() == 10 {
        let day = time::parse_rfc3339(&format!("{text}T00:00:00Z"))?;
        return Some(if end { day + 86_400_000_000 } else { day });
    }
    time::parse_rfc3339(text)
}

/// What the search asks of the journal, or which field is wrong (`Ok(None)`: nothing can
/// match, such as an unknown card).
async fn query(
    state: &AppState,
    s: &ConsoleSession,
    q: &Search,
) -> Result<Option<EntryQuery>, &'static str> {
    let t = s.lang.text();
    let too_long = [&q.partner, &q.member, &q.kind, &q.from, &q.to, &q.reference]
        .iter()
        .any(|f| f.chars().count() > MAX_FIELD_CHARS);
    if too_long {
        return Err(t.search_too_long);
    }
    let partner = match (&s.who.partner, q.partner.as_str()) {
        (Some(own), _) => Some(own.clone()),
        (None, "") => None,
        (None, p) => Some(p.parse::<PartnerId>().map_err(|_| t.search_bad_partner)?),
    };
    let kind = match q.kind.as_str() {
        "" => None,
        k => Some(k.parse::<EntryKind>().map_err(|_| t.search_bad_kind)?),
    };
    let (since_us, until_us) = match (q.from.as_str(), q.to.as_str()) {
        ("", "") => (None, None),
        (f, u) => {
            let since = (!f.is_empty()).then(|| instant(f, false));
            let until = (!u.is_empty()).then(|| instant(u, true));
            if since == Some(None) || until == Some(None) {
                return Err(t.search_bad_date);
            }
            (since.flatten(), until.flatten())
        }
    };
    let member = match q.member.trim() {
        "" => None,
        m => match (m.parse::<MemberId>(), m.parse::<CardNumber>()) {
            (Ok(id), _) => Some(id),
            (_, Ok(card)) => match state.clearing.card_member(&card).await {
                Ok(id) => Some(id),
                // An unknown or replaced card matches nothing, the same answer as a member
                // with no entries here: the search does not tell which cards exist.
                Err(ClearingError::UnknownCard(_) | ClearingError::CardRevoked(_)) => {
                    return Ok(None);
                }
                Err(_) => return Err(t.unavailable),
            },
            _ => return Err(t.search_bad_member),
        },
    };
    Ok(Some(EntryQuery {
        partner,
        kind,
        member,
        since_us,
        until_us,
        reference: (!q.reference.is_empty()).then(|| q.reference.clone()),
    }))
}

/// The searched member's tier, when the network has a ladder and the session may see the member
/// (a partner's user: a member linked to it). Nothing when it cannot be read.
async fn tier_line(state: &AppState, s: &ConsoleSession, member: MemberId) -> Option<TierLine> {
    state.clearing.network().tiers.as_ref()?;
    let view = state
        .clearing
        .tier_of(member, s.who.partner.as_ref())
        .await
        .ok()?;
    Some(TierLine {
        tier: view.tier,
        since: view.since,
        qualifying: view.qualifying,
        next: view.next.map(|n| (n.name, n.needed)),
    })
}

/// `GET /console/entries`: the search form and a page of what it finds, oldest first.
#[get("/console/entries")]
pub async fn search(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<Search>,
) -> HttpResponse {
    let Some((_, s)) = session(&state, &req) else {
        return redirect("/console/login");
    };
    let q = q.into_inner();
    let mut page = EntriesPage {
        c: Chrome::new(s.lang, |t| t.entries),
        csrf: s.csrf.clone(),
        partners: visible_partners(&state, &s),
        kinds: EntryKind::ALL.iter().map(|k| k.as_str()).collect(),
        fixed_partner: s.who.partner.is_some(),
        rows: Vec::new(),
        next: None,
        error: None,
        tier: None,
        currency: state.clearing.network().settlement_currency.to_string(),
        q: q.clone(),
    };
    match query(&state, &s, &q).await {
        Err(why) => page.error = Some(why),
        Ok(None) => {}
        Ok(Some(wanted)) => {
            page.tier = match wanted.member {
                Some(m) => tier_line(&state, &s, m).await,
                None => None,
            };
            let found = state
                .clearing
                .entries_for(wanted, q.after.unwrap_or(0), ENTRIES_PER_PAGE)
                .await;
            let Ok((found, next)) = found else {
                return unavailable();
            };
            let ctx = state.clearing.context();
            page.rows = found
                .iter()
                .map(|p| Row {
                    v: EntryView::new(ctx, p),
                    reason: reason(ctx, &p.entry),
                })
                .collect();
            page.next = next.and_then(|after| {
                serde_urlencoded::to_string(Search {
                    after: Some(after),
                    ..q.clone()
                })
                .ok()
            });
        }
    }
    let status = if page.error.is_some() { 422 } else { 200 };
    html(status, page.render())
}
