//! `/openapi.json` and the offline docs page, rendered on the server from the same document: the
//! page is whole when it arrives (no script, nothing fetched), and its text shows Markdown code
//! spans as code.

use std::fmt::Write as _;

use actix_web::{HttpResponse, get};
use serde_json::Value;

use super::codes::ErrorCode;
use super::openapi::{openapi, openapi_json_text};

/// This API's OpenAPI 3.1 document.
#[utoipa::path(get, path = "/openapi.json", tag = "public", responses((status = 200, description = "OpenAPI document", content_type = "application/json")))]
#[get("/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(openapi_json_text())
}

const DOCS_HTML: &str = include_str!("docs.html");

/// The docs page: every operation, every schema, and the error-code table (one row per code,
/// each with the anchor its problems' `type` names).
pub fn docs_html() -> &'static str {
    static PAGE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PAGE.get_or_init(|| {
        let doc = serde_json::to_value(openapi()).unwrap_or_default();
        let text = |v: &Value| with_code_spans(&escape(v.as_str().unwrap_or_default()));
        DOCS_HTML
            .replace("<!-- VERSION -->", &text(&doc["info"]["version"]))
            .replace("<!-- DESCRIPTION -->", &text(&doc["info"]["description"]))
            .replace("<!-- OPERATIONS -->", &operations(&doc))
            .replace("<!-- SCHEMAS -->", &schemas(&doc))
            .replace("<!-- ERROR_CODES -->", &error_table())
    })
}

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// One collapsible block per operation: what it does, its parameters, body and answers.
fn operations(doc: &Value) -> String {
    let mut out = String::new();
    let Some(paths) = doc["paths"].as_object() else {
        return out;
    };
    for (path, item) in paths {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let anchor = format!("{method}-{}", path.replace(['/', '{', '}', '.'], "-"));
            let _ = write!(
                out,
                "<details class=\"op\" id=\"{anchor}\"><summary><span class=\"method {method}\">{method}</span>\
                 <span class=\"path\">{}</span><span class=\"muted\">{}</span></summary><div class=\"body\">",
                escape(path),
                with_code_spans(&escape(op["summary"].as_str().unwrap_or_default())),
            );
            if let Some(description) = op["description"].as_str() {
                let _ = write!(out, "<p>{}</p>", with_code_spans(&escape(description)));
            }
            parameters(&mut out, op);
            if let Some(content) = op["requestBody"]["content"].as_object() {
                out.push_str("<h4>Request body</h4><ul>");
                for (media, body) in content {
                    let _ = write!(
                        out,
                        "<li><code>{}</code> {}</li>",
                        escape(media),
                        type_text(&body["schema"])
                    );
                }
                out.push_str("</ul>");
            }
            out.push_str(
                "<h4>Responses</h4><table><tr><th>status</th><th>meaning</th><th>body</th></tr>",
            );
            for (status, response) in op["responses"].as_object().into_iter().flatten() {
                let bodies: Vec<String> = response["content"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(media, c)| {
                        format!("<code>{}</code> {}", escape(media), type_text(&c["schema"]))
                    })
                    .collect();
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(status),
                    with_code_spans(&escape(
                        response["description"].as_str().unwrap_or_default()
                    )),
                    bodies.join("<br>")
                );
            }
            out.push_str("</table></div></details>\n");
        }
    }
    out
}

fn parameters(out: &mut String, op: &Value) {
    let Some(params) = op["parameters"].as_array().filter(|p| !p.is_empty()) else {
        return;
    };
    out.push_str("<table><tr><th>parameter</th><th>in</th><th>schema</th><th>meaning</th></tr>");
    for p in params {
        let required = if p["required"] == true { " *" } else { "" };
        let _ = write!(
            out,
            "<tr><td><code>{}</code>{required}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(p["name"].as_str().unwrap_or_default()),
            escape(p["in"].as_str().unwrap_or_default()),
            type_text(&p["schema"]),
            with_code_spans(&escape(p["description"].as_str().unwrap_or_default())),
        );
    }
    out.push_str("</table>");
}

/// Every named schema as a table of its fields: name, type and meaning.
fn schemas(doc: &Value) -> String {
    let mut out = String::new();
    for (name, schema) in doc["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
    {
        let _ = write!(
            out,
            "<details class=\"op\" id=\"schema-{0}\"><summary><span class=\"path\">{0}</span>\
             <span class=\"muted\">{1}</span></summary><div class=\"body\">",
            escape(name),
            with_code_spans(&escape(schema["description"].as_str().unwrap_or_default()))
        );
        let required: Vec<&str> = schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        match schema["properties"].as_object() {
            Some(properties) => {
                out.push_str("<table><tr><th>field</th><th>type</th><th>meaning</th></tr>");
                for (field, p) in properties {
                    let mark = if required.contains(&field.as_str()) {
                        " *"
                    } else {
                        ""
                    };
                    let _ = write!(
                        out,
                        "<tr><td><code>{}</code>{mark}</td><td>{}</td><td>{}</td></tr>",
                        escape(field),
                        type_text(p),
                        paragraphs(p["description"].as_str().unwrap_or_default())
                    );
                }
                out.push_str("</table>");
            }
            None => {
                let _ = write!(out, "<p>{}</p>", type_text(schema));
            }
        }
        out.push_str("</div></details>\n");
    }
    out
}

/// What a schema's values are, in a few words: a named schema links to its table.
fn type_text(schema: &Value) -> String {
    if let Some(name) = schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
        return format!("<a href=\"#schema-{0}\">{0}</a>", escape(name));
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(options) = schema[combinator].as_array() {
            let parts: Vec<String> = options.iter().map(type_text).collect();
            return parts.join(" or ");
        }
    }
    let mut text = match &schema["type"] {
        Value::String(t) => escape(t),
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(escape)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "any".to_owned(),
    };
    if schema["items"].is_object() {
        let _ = write!(text, " of {}", type_text(&schema["items"]));
    }
    if let Some(values) = schema["enum"].as_array() {
        let values: Vec<String> = values
            .iter()
            .map(|v| format!("<code>{}</code>", escape(v.as_str().unwrap_or_default())))
            .collect();
        let _ = write!(text, ": one of {}", values.join(", "));
    }
    for (key, label) in [
        ("format", "format"),
        ("minLength", "at least"),
        ("maxLength", "at most"),
        ("minimum", "from"),
        ("maximum", "to"),
        ("pattern", "pattern"),
    ] {
        if let Some(v) = schema.get(key).filter(|v| !v.is_null()) {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            let _ = write!(text, ", {label} <code>{}</code>", escape(&v));
        }
    }
    text
}

/// Text whose lines are kept apart, code spans shown as code.
fn paragraphs(text: &str) -> String {
    text.lines()
        .map(|l| with_code_spans(&escape(l)))
        .collect::<Vec<_>>()
        .join("<br>")
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

/// A human-readable page for the API, rendered on the server from the OpenAPI document; it runs
/// no script and loads nothing from elsewhere.
#[utoipa::path(get, path = "/docs", tag = "public", responses((status = 200, description = "HTML page", content_type = "text/html")))]
#[get("/docs")]
pub async fn docs_page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'",
        ))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .body(docs_html())
}
