//! The one table of error codes: every code has its row and anchor on `/docs`, is listed by the
//! OpenAPI document and in `docs/`, is returned somewhere in `src/`, and the problems the server
//! actually answers with link to their row.

use std::collections::BTreeSet;
use std::path::Path;

use coalition::api::codes::ErrorCode;

use crate::common::{Api, send};

/// `insufficient_balance` → `InsufficientBalance`: how the variant is spelled in code.
fn variant(code: &str) -> String {
    code.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_code_has_an_anchor_on_the_docs_page_and_is_in_the_openapi_document() {
    let api = Api::start();
    let html = send("GET", &api.url("/docs"), &[], None).body;
    let doc = send("GET", &api.url("/openapi.json"), &[], None).json();
    let listed: BTreeSet<String> =
        doc["components"]["schemas"]["Problem"]["properties"]["code"]["enum"]
            .as_array()
            .expect("Problem.code lists its values")
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
    let table: BTreeSet<String> = ErrorCode::ALL
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    assert_eq!(
        listed, table,
        "the OpenAPI document lists exactly the table"
    );
    for code in ErrorCode::ALL {
        let anchor = format!("id=\"problem-{}\"", code.as_str());
        assert!(html.contains(&anchor), "/docs has no {anchor}");
        assert_eq!(code.doc_url(), format!("/docs#problem-{}", code.as_str()));
    }
}

#[test]
fn every_code_is_returned_somewhere_and_documented_in_docs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let source: String = files
        .iter()
        .filter(|p| !p.ends_with("api/codes.rs"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let docs = std::fs::read_to_string(root.join("docs/partner-integration.md")).unwrap();
    for code in ErrorCode::ALL {
        let used = format!("ErrorCode::{}", variant(code.as_str()));
        assert!(
            source.contains(&used),
            "{used} is in the table but never returned"
        );
        assert!(
            docs.contains(&format!("`{}`", code.as_str())),
            "docs/partner-integration.md does not list `{}`",
            code.as_str()
        );
    }
}

#[test]
fn problems_answered_link_to_their_row() {
    let api = Api::start();
    let html = send("GET", &api.url("/docs"), &[], None).body;
    let member = api.member("aroma");
    let answers = [
        send("GET", &api.url("/v1/nothing-here"), &[], None),
        send("POST", &api.url("/v1/earn"), &[], Some(b"{}")),
        send("GET", &api.url("/v1/me/wallet"), &[], None),
        api.post(
            "aroma",
            "/v1/earn",
            &serde_json::json!({"member_id": member, "points": "1.5", "reference": "r-1"}),
        ),
        api.post(
            "aroma",
            "/v1/redemptions",
            &serde_json::json!({"member_id": member, "unit": "AROMA", "points": "5", "reference": "r-2"}),
        ),
    ];
    let mut seen = BTreeSet::new();
    for r in &answers {
        let p = r.json();
        let code = p["code"].as_str().expect("a problem has a code").to_owned();
        let kind = p["type"].as_str().unwrap();
        assert_eq!(kind, format!("/docs#problem-{code}"));
        let (_, anchor) = kind.split_once('#').unwrap();
        assert!(html.contains(&format!("id=\"{anchor}\"")), "{kind}");
        let known = ErrorCode::ALL
            .iter()
            .find(|c| c.as_str() == code)
            .unwrap_or_else(|| panic!("{code} is not in the table"));
        assert_eq!(p["status"].as_u64(), Some(u64::from(known.status_u16())));
        assert_eq!(r.status, known.status_u16());
        assert_eq!(p["title"].as_str(), Some(known.title()));
        seen.insert(code);
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        [
            "insufficient_balance",
            "invalid_amount",
            "not_found",
            "signature_missing",
            "token_missing"
        ]
    );
}
