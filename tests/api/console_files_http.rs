//! The console's files over real HTTP: a party's statement page with its signature, the
//! downloads in three formats (each signed over its exact bytes), and who may read which.

use coalition::clearing::tokens::Role;

use crate::common::Api;
use crate::common::pages::{browse, signed_in};
use crate::settlement_http::signature_verifies;

/// Closes a cycle through the API after the bookstore awards 40 COAL (it owes 2.00 ILS);
/// returns the cycle's id.
pub(crate) fn closed_cycle(api: &Api) -> String {
    let m = api.member("books");
    let r = api.post(
        "books",
        "/v1/earn",
        &serde_json::json!({ "member_id": m, "unit": "COAL", "points": "40", "reference": "till-7" }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    api.advance_secs(2);
    let cutoff = coalition::clearing::time::rfc3339(api.now_secs() * 1_000_000);
    let r = crate::common::send(
        "POST",
        &api.url("/v1/settlements"),
        &[
            (
                "authorization",
                format!("Bearer {}", api.finance_token(Role::Finance, None)),
            ),
            ("content-type", "application/json".into()),
        ],
        Some(
            serde_json::json!({ "cutoff": cutoff })
                .to_string()
                .as_bytes(),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["settlement_id"].as_str().unwrap().to_owned()
}

#[test]
fn statements_download_signed_in_three_formats_for_those_who_may_read_them() {
    let api = Api::start();
    let id = closed_cycle(&api);
    let (cookie, _) = signed_in(&api, &api.finance_token(Role::Finance, Some("books")));
    let get =
        |path: &str, cookie: &str| browse(&api, "GET", path, &[("cookie", cookie.into())], None);
    let at = format!("/console/settlements/{id}/statements/books");
    // The cycle's page links each visible position to its statement.
    let cycle = get(&format!("/console/settlements/{id}"), &cookie);
    assert!(
        cycle.body.contains(&format!("href=\"{at}\"")),
        "{}",
        cycle.body
    );

    let page = get(&at, &cookie);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("<strong>-2.00 ILS</strong>"),
        "{}",
        page.body
    );
    let shown = page
        .body
        .split("id=\"statement-signature\" tabindex=\"0\">")
        .nth(1)
        .and_then(|s| s.split("</pre>").next())
        .expect("the signature on the page")
        .to_owned();

    for (format, content_type, ext) in [
        ("json", "application/json", "json"),
        ("csv", "text/csv", "csv"),
        ("camt053", "application/xml", "xml"),
    ] {
        let file = get(&format!("{at}/{format}"), &cookie);
        assert_eq!(file.status, 200, "{format}: {}", file.body);
        assert!(
            file.header("content-type")
                .unwrap()
                .starts_with(content_type)
        );
        assert_eq!(
            file.header("content-disposition").as_deref(),
            Some(format!("attachment; filename=\"statement-{id}-books.{ext}\"").as_str())
        );
        let signature = file.header("statement-signature").unwrap();
        assert!(signature_verifies(&api, &signature, &file.body), "{format}");
        // The signature file is the same detached JWS, and it does not verify another body.
        let jws = get(&format!("{at}/{format}?signature"), &cookie);
        assert_eq!(jws.status, 200);
        assert!(signature_verifies(&api, &jws.body, &file.body), "{format}");
        assert!(!signature_verifies(
            &api,
            &jws.body,
            &format!("{} ", file.body)
        ));
        if format == "json" {
            // The page showed the JSON statement's signature: statements are deterministic.
            assert_eq!(shown, signature);
            let st: serde_json::Value = serde_json::from_str(&file.body).unwrap();
            assert_eq!(st["net"], "-2.00");
            assert_eq!(st["entries"][0]["reference"], "till-7");
        }
    }
    assert_eq!(get(&format!("{at}/pdf"), &cookie).status, 404);
    // The bookstore's user reads neither Aroma's statement nor the network's.
    for other in ["aroma", "network"] {
        let page = get(
            &format!("/console/settlements/{id}/statements/{other}"),
            &cookie,
        );
        assert_eq!(page.status, 403, "{other}");
        let file = get(
            &format!("/console/settlements/{id}/statements/{other}/csv"),
            &cookie,
        );
        assert_eq!(file.status, 403, "{other}");
    }
    // The network's finance team reads the network's; nobody reads a party that is not there.
    let (ours, _) = signed_in(&api, &api.finance_token(Role::Finance, None));
    let network = get(
        &format!("/console/settlements/{id}/statements/network/json"),
        &ours,
    );
    assert_eq!(network.status, 200, "{}", network.body);
    assert_eq!(
        get(
            &format!("/console/settlements/{id}/statements/nobody"),
            &ours
        )
        .status,
        404
    );
    // Without a session, to the sign-in.
    let away = browse(&api, "GET", &format!("{at}/json"), &[], None);
    assert_eq!(away.status, 303);
}
