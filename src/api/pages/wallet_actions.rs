//! What a member does from the wallet page: an authorisation code for a till (with its QR), a
//! link code for joining another brand, consent per brand, a donation. Each is the API's use
//! case with the session's token's rights — its scopes and its brand (`azp`) — and nothing more.

use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::Deserialize;

use super::format::when;
use super::i18n::refusal;
use super::qr;
use super::session::WalletSession;
use super::wallet::{Outcome, Shown, partner_name, posted_form, render};
use crate::api::AppState;
use crate::clearing::{Clearing, ClearingError, time, views};

#[derive(Debug, Deserialize)]
pub struct AuthorizeForm {
    csrf: String,
    unit: String,
    partner: String,
    max_points: String,
}

#[derive(Debug, Deserialize)]
pub struct LinkCodeForm {
    csrf: String,
    partner: String,
}

#[derive(Debug, Deserialize)]
pub struct ConsentForm {
    csrf: String,
    partner: String,
    /// A checkbox: present (`on`) when ticked.
    share_balances: Option<String>,
    share_profile: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct DonationForm {
    csrf: String,
    unit: String,
    points: String,
    charity: String,
}

/// The session that posted a form carrying `csrf`, if its token has `scope`; otherwise the
/// answer: the CSRF refusal, or the page saying this app was not given that permission.
async fn acting(
    state: &AppState,
    req: &HttpRequest,
    csrf: &str,
    scope: &str,
) -> Result<WalletSession, HttpResponse> {
    let s = posted_form(state, req, csrf).map_err(|refused| *refused)?;
    if !s.who.allows(scope) {
        let o = Outcome {
            error: Some(s.lang.text().wallet_not_in_this_app.to_owned()),
            ..Outcome::default()
        };
        return Err(render(state, &s, 0, o).await);
    }
    Ok(s)
}

/// The page after an action that shows no code: `notice` when it was done, why not otherwise.
fn done<T>(s: &WalletSession, result: Result<T, ClearingError>, notice: &'static str) -> Outcome {
    match result {
        Ok(_) => Outcome {
            notice: Some(notice),
            ..Outcome::default()
        },
        Err(e) => refused(s, &e),
    }
}

/// A refusal, worded for the page.
fn refused(s: &WalletSession, e: &ClearingError) -> Outcome {
    Outcome {
        error: Some(format!(
            "{} {}",
            s.lang.text().wallet_refused,
            refusal(s.lang, e)
        )),
        ..Outcome::default()
    }
}

/// A code the writer made, with its QR (`body` is the API's JSON for it).
fn shown(s: &WalletSession, title: &'static str, body: &str, detail: String) -> Option<Shown> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let code = v["code"].as_str()?.to_owned();
    let expires_us = v["expires_at"].as_str().and_then(time::parse_rfc3339)?;
    Some(Shown {
        title,
        qr_svg: qr::svg(&code)?,
        expires_at: when(expires_us, s.lang),
        code,
        detail,
    })
}

/// `POST /wallet/authorizations`: a code a till uses to spend up to `max_points` of `unit`.
#[post("/wallet/authorizations")]
pub async fn authorize(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<AuthorizeForm>,
) -> HttpResponse {
    let s = match acting(&state, &req, &form.csrf, "authorizations").await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let t = s.lang.text();
    let member = s.who.member;
    let made = match state.clearing.authorize_work(
        member,
        &s.who.azp,
        &form.partner,
        &form.unit,
        form.max_points.trim(),
        None,
    ) {
        Ok(work) => {
            state
                .clearing
                .once_as(format!("member:{member}"), None, work, views::authorization)
                .await
        }
        Err(e) => Err(e),
    };
    let o = match made {
        Ok(reply) => Outcome {
            shown: shown(
                &s,
                t.authorization_code,
                &reply.body,
                format!(
                    "{} {} · {}",
                    form.max_points.trim(),
                    form.unit,
                    partner_name(state.clearing.network(), &form.partner)
                ),
            ),
            ..Outcome::default()
        },
        Err(e) => refused(&s, &e),
    };
    render(&state, &s, 0, o).await
}

/// `POST /wallet/link-codes`: a code the member gives another brand to join it as themselves.
#[post("/wallet/link-codes")]
pub async fn link_code(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<LinkCodeForm>,
) -> HttpResponse {
    let s = match acting(&state, &req, &form.csrf, "links").await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let t = s.lang.text();
    let member = s.who.member;
    let made = match state.clearing.link_code_work(member, &form.partner) {
        Ok(work) => {
            state
                .clearing
                .once_as(
                    format!("member:{member}"),
                    None,
                    work,
                    views::links::link_code,
                )
                .await
        }
        Err(e) => Err(e),
    };
    let o = match made {
        Ok(reply) => Outcome {
            shown: shown(
                &s,
                t.link_code,
                &reply.body,
                partner_name(state.clearing.network(), &form.partner),
            ),
            ..Outcome::default()
        },
        Err(e) => refused(&s, &e),
    };
    render(&state, &s, 0, o).await
}

/// `POST /wallet/consent`: what one brand may see of the member's other brands.
#[post("/wallet/consent")]
pub async fn consent(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<ConsentForm>,
) -> HttpResponse {
    let s = match acting(&state, &req, &form.csrf, "consent").await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let member = s.who.member;
    let form = form.into_inner();
    let work = Clearing::link_consent_work(
        member,
        s.who.azp.clone(),
        form.partner,
        Some(form.share_balances.is_some()),
        Some(form.share_profile.is_some()),
    );
    let changed = state
        .clearing
        .once_as(format!("member:{member}"), None, work, views::links::link)
        .await;
    let o = done(&s, changed, s.lang.text().consent_saved);
    render(&state, &s, 0, o).await
}

/// `POST /wallet/donations`: points given to a charity partner.
#[post("/wallet/donations")]
pub async fn donate(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<DonationForm>,
) -> HttpResponse {
    let s = match acting(&state, &req, &form.csrf, "donations").await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let member = s.who.member;
    let given = match state.clearing.donate_work(
        member,
        &s.who.azp,
        &form.unit,
        form.points.trim(),
        &form.charity,
    ) {
        Ok(work) => {
            state
                .clearing
                .once_as(format!("member:{member}"), None, work, views::entry_created)
                .await
        }
        Err(e) => Err(e),
    };
    let o = done(&s, given, s.lang.text().donation_made);
    render(&state, &s, 0, o).await
}
