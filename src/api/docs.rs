//! `/openapi.json` and the offline docs page, rendered on the server from the same document.

use std::fmt::Write as _;

use actix_web::{HttpResponse, get};

use super::codes::ErrorCode;
use super::openapi::openapi_json_text;

/// This API's OpenAPI 3.1 document.
#[utoipa::path(get, path = "/openapi.json", tag = "public", responses((status = 200, description = "OpenAPI document", content_type = "application/json")))]
#[get("/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(openapi_json_text())
}

const DOCS_HTML: &str = include_str!("docs.html");

/// The docs page with the error-code table filled in: one row per code, each with the anchor
/// its problems' `type` names.
pub fn docs_html() -> &'static str {
    static PAGE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PAGE.get_or_init(|| DOCS_HTML.replace("<!-- ERROR_CODES -->", &error_table()))
}

fn error_table() -> String {
    let mut out = String::from(
        "<table><tr><th>code</th><th>status</th><th>title</th><th>meaning</th></tr>\n",
    );
    for code in ErrorCode::ALL {
        let _ = writeln!(
            out,
            "<tr id=\"problem-{c}\"><td><code>{c}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            code.status_u16(),
            escape(code.title()),
            with_code_spans(&escape(code.meaning())),
            c = code.as_str(),
        );
    }
    out.push_str("</table>");
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `` `x` `` as `<code>x</code>`, as the Markdown the meanings are written in shows it.
fn with_code_spans(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{part}</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}

/// A human-readable page for the API, rendered in the browser from `/openapi.json`; it loads
/// nothing from elsewhere.
#[utoipa::path(get, path = "/docs", tag = "public", responses((status = 200, description = "HTML page", content_type = "text/html")))]
#[get("/docs")]
pub async fn docs_page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'"))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .body(docs_html())
}
