//! `/console/webhooks`: each partner's webhook endpoint and how its deliveries stand — pending
//! and failed counts, the oldest event still waiting, the latest failures with their status or
//! error — so that the operator sees a partner's systems not hearing before the partner does.
//! A partner's finance user sees its own endpoint only.

use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;

use super::console::{Chrome, session};
use super::{html, redirect, unavailable};
use crate::api::AppState;
use crate::clearing::webhooks::EndpointHealth;

#[derive(Template)]
#[template(path = "pages/webhooks.html")]
struct WebhooksPage {
    c: Chrome,
    csrf: String,
    endpoints: Vec<EndpointHealth>,
}

/// `GET /console/webhooks`.
#[get("/console/webhooks")]
pub async fn page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let Some((_, s)) = session(&state, &req) else {
        return redirect("/console/login");
    };
    let Ok(endpoints) = state.clearing.webhook_health(s.who.partner.clone()).await else {
        return unavailable();
    };
    let view = WebhooksPage {
        c: Chrome::new(s.lang, |t| t.webhooks),
        csrf: s.csrf.clone(),
        endpoints,
    };
    html(200, view.render())
}
