//! The OpenAPI document walked against the running server: its parameters are where they say
//! they are, and what the server answers to the problems every operation can meet (no
//! credentials, a body that is not JSON, a body too large, an unknown query parameter, an id that
//! names nothing, the wrong method) is a status the operation declares.

use std::collections::BTreeSet;

use coalition::clearing::tokens::Role;
use serde_json::Value;

use crate::common::{Api, Resp, send};

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// Every operation of the document: (method, path template, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in METHODS {
            if let Some(op) = item.get(m) {
                out.push((m.to_uppercase(), path.clone(), op.clone()));
            }
        }
    }
    assert!(out.len() > 30, "the document lists the API: {}", out.len());
    out
}

fn placeholders(path: &str) -> BTreeSet<String> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_owned)
        .collect()
}

fn params_in(op: &Value, place: &str) -> BTreeSet<String> {
    op["parameters"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter(|p| p["in"] == place)
                .map(|p| p["name"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn declared(op: &Value) -> BTreeSet<u16> {
    op["responses"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.parse().unwrap())
        .collect()
}

fn tag(op: &Value) -> &str {
    op["tags"][0].as_str().unwrap_or_default()
}

#[test]
fn parameters_are_where_the_document_says_and_problems_are_problem_json() {
    let api = Api::start();
    let doc = send("GET", &api.url("/openapi.json"), &[], None).json();
    for (method, path, op) in operations(&doc) {
        assert_eq!(
            params_in(&op, "path"),
            placeholders(&path),
            "{method} {path}: path parameters are exactly the placeholders"
        );
        for p in op["parameters"].as_array().into_iter().flatten() {
            let place = p["in"].as_str().unwrap();
            assert!(
                ["path", "query", "header"].contains(&place),
                "{method} {path}: {p}"
            );
        }
        for (status, response) in op["responses"].as_object().unwrap() {
            if status.starts_with('4') || status.starts_with('5') && path.starts_with("/v1/") {
                assert_eq!(
                    response["content"]["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{method} {path} {status}"
                );
            }
        }
        let signed = ["partner", "coupons", "webhooks"].contains(&tag(&op));
        let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
        assert_eq!(
            secured,
            path.starts_with("/v1/") && tag(&op) != "public",
            "{method} {path}: every /v1 call but the public ones (the network's description, the rewards on offer) says how it authenticates"
        );
        if signed {
            assert_eq!(
                op["security"][0]["partner_signature"],
                serde_json::json!([])
            );
        }
        // A quote changes nothing: it takes no Idempotency-Key.
        let changes = !path.ends_with("/quote");
        if method == "POST" && signed && changes {
            let key = op["parameters"]
                .as_array()
                .and_then(|ps| ps.iter().find(|p| p["name"] == "Idempotency-Key"))
                .unwrap_or_else(|| panic!("{method} {path} takes an Idempotency-Key"));
            assert_eq!(key["in"], "header");
            assert_eq!(key["required"], true);
            assert_eq!(key["schema"]["maxLength"], 255);
        }
    }
}

/// How one kind of caller authenticates a request in this test.
struct Caller<'a> {
    api: &'a Api,
    member_token: String,
    operator_token: String,
}

impl Caller<'_> {
    /// `method path` with `body` sent as `content_type`, authenticated as the operation's caller.
    fn send(&self, op: &Value, method: &str, path: &str, body: Option<&[u8]>, ct: &str) -> Resp {
        let url = self.api.url(path);
        let mut headers = vec![("content-type", ct.to_owned())];
        match tag(op) {
            "partner" | "coupons" | "webhooks" => {
                let k = self.api.key("aroma");
                let idem = (method == "POST").then(|| uuid::Uuid::new_v4().to_string());
                let h = coalition::httpsig::sign_request_with(
                    &k.key,
                    k.key_id.as_str(),
                    method,
                    &url,
                    body,
                    idem.as_deref(),
                    self.api.now_secs(),
                )
                .unwrap();
                headers.push(("signature-input", h.signature_input));
                headers.push(("signature", h.signature));
                if let Some(d) = h.content_digest {
                    headers.push(("content-digest", d));
                }
                if let Some(i) = idem {
                    headers.push(("idempotency-key", i));
                }
            }
            "member" => headers.push(("authorization", format!("Bearer {}", self.member_token))),
            "finance" => {
                headers.push(("authorization", format!("Bearer {}", self.operator_token)));
            }
            _ => {}
        }
        send(method, &url, &headers, body)
    }
}

/// The path with every placeholder naming something that does not exist.
fn nothing_at(path: &str) -> String {
    path.split('/')
        .map(|s| {
            if s.starts_with('{') {
                match s {
                    "{partner}" => "aroma".to_owned(),
                    "{code}" => "NOSUCHCODE".to_owned(),
                    _ => uuid::Uuid::new_v4().to_string(),
                }
            } else {
                s.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Asserts `r` answered `want` (when given), as a problem, with a status `op` declares.
fn assert_declared(op: &Value, what: &str, r: &Resp, want: Option<u16>) {
    if let Some(want) = want {
        assert_eq!(r.status, want, "{what}: {}", r.body);
    }
    assert!(
        declared(op).contains(&r.status),
        "{what}: answered {} which the document does not declare ({:?}): {}",
        r.status,
        declared(op),
        r.body
    );
    if r.status >= 400 {
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("application/problem+json"),
            "{what}: {}",
            r.body
        );
        assert!(!r.code().is_empty(), "{what}: {}", r.body);
    }
}

#[test]
fn what_the_server_answers_to_shared_problems_is_declared_by_every_operation() {
    let api = Api::start();
    let doc = send("GET", &api.url("/openapi.json"), &[], None).json();
    let member = api.member("aroma");
    // A token with every scope, so that each member call gets past its scope check.
    let all_scopes: Vec<&str> = coalition::clearing::tokens::MEMBER_SCOPES.to_vec();
    let minted = api.post(
        "aroma",
        &format!("/v1/members/{member}/tokens"),
        &serde_json::json!({ "scope": all_scopes }),
    );
    assert_eq!(minted.status, 201, "{}", minted.body);
    let caller = Caller {
        api: &api,
        member_token: minted.json()["token"].as_str().unwrap().to_owned(),
        operator_token: api.finance_token(Role::Operator, None),
    };
    let mut walked = 0;
    for (method, template, op) in operations(&doc) {
        if !template.starts_with("/v1/") || tag(&op) == "public" {
            continue;
        }
        walked += 1;
        let path = nothing_at(&template);
        let what = |case: &str| format!("{method} {template} ({case})");

        // No credentials at all.
        let r = send(&method, &api.url(&path), &[], None);
        assert_declared(&op, &what("no credentials"), &r, Some(401));

        if op["requestBody"]["content"]
            .get("application/json")
            .is_some()
        {
            let r = caller.send(&op, &method, &path, Some(b"{}"), "text/plain");
            assert_declared(&op, &what("JSON as text/plain"), &r, Some(415));
            let r = caller.send(&op, &method, &path, Some(b"{\"a\": "), "application/json");
            assert_declared(&op, &what("truncated JSON"), &r, Some(400));
            let big = vec![b' '; coalition::api::MAX_BODY_BYTES + 1];
            let r = caller.send(&op, &method, &path, Some(&big), "application/json");
            assert_declared(&op, &what("body too large"), &r, Some(413));
        }
        if !params_in(&op, "query").is_empty() {
            let r = caller.send(
                &op,
                &method,
                &format!("{path}?no_such=1"),
                None,
                "application/json",
            );
            assert_declared(&op, &what("unknown query parameter"), &r, Some(400));
        }
        if !placeholders(&template).is_empty() && op.get("requestBody").is_none() {
            let r = caller.send(&op, &method, &path, None, "application/json");
            assert_declared(&op, &what("nothing at this id"), &r, None);
        }
        if tag(&op) == "finance" {
            let headers = [("authorization", format!("Bearer {}", caller.member_token))];
            let r = send(&method, &api.url(&path), &headers, None);
            assert_declared(
                &op,
                &what("a member token on a finance call"),
                &r,
                Some(403),
            );
        }
    }
    assert!(walked > 25, "{walked} operations walked");
}

#[test]
fn a_served_path_under_another_method_is_405_with_allow() {
    let api = Api::start();
    let r = send("DELETE", &api.url("/v1/earn"), &[], None);
    assert_eq!(r.status, 405, "{}", r.body);
    assert_eq!(r.code(), "method_not_allowed");
    assert_eq!(r.header("allow").as_deref(), Some("POST"));
    let id = uuid::Uuid::new_v4();
    let r = send("PUT", &api.url(&format!("/v1/entries/{id}")), &[], None);
    assert_eq!((r.status, r.header("allow").as_deref()), (405, Some("GET")));
    let r = send("GET", &api.url("/v1/settlements"), &[], None);
    assert_eq!(r.status, 401, "a served method still authenticates");
    let r = send("DELETE", &api.url("/v1/no-such-thing"), &[], None);
    assert_eq!((r.status, r.code().as_str()), (404, "not_found"));
    let r = send("GET", &api.url("/v1/entries/"), &[], None);
    assert_eq!(r.status, 404, "an empty id is no id: {}", r.body);
}
