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

/// A form with a file, as a browser sends it.
fn multipart(fields: &[(&str, &str)], file: &str) -> (String, Vec<u8>) {
    let boundary = "----coalitionTestBoundary7MA4YWxk";
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"aroma.csv\"\r\nContent-Type: text/csv\r\n\r\n{file}\r\n--{boundary}--\r\n"
    ));
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
}

#[test]
fn a_reconciliation_upload_shows_what_matched_and_what_did_not_with_references_inert() {
    let api = Api::start();
    let dana = api.member("aroma");
    let from = coalition::clearing::time::rfc3339((api.now_secs() - 60) * 1_000_000);
    for (i, points) in [10, 11, 12].iter().enumerate() {
        let r = api.post(
            "aroma",
            "/v1/earn",
            &serde_json::json!({ "member_id": dana, "points": points.to_string(), "reference": format!("pos-{i}") }),
        );
        assert_eq!(r.status, 201, "{}", r.body);
    }
    api.advance_secs(2);
    let to = coalition::clearing::time::rfc3339(api.now_secs() * 1_000_000);
    // pos-1 differs, pos-2 is missing from the file, and a line the network never saw carries
    // markup in its reference.
    let file = format!(
        "{}\npos-0,earn,10,AROMA,\npos-1,earn,99,AROMA,\n\"<script>alert(1)</script>\",earn,5,AROMA,\n",
        coalition::clearing::reconcile::HEADER
    );
    let (cookie, csrf) = signed_in(&api, &api.finance_token(Role::Finance, Some("aroma")));
    let upload = |fields: &[(&str, &str)], file: &str| {
        let (content_type, body) = multipart(fields, file);
        crate::common::send_unfollowed(
            "POST",
            &api.url("/console/reconciliation"),
            &[("cookie", cookie.clone()), ("content-type", content_type)],
            Some(&body),
        )
    };
    let form = browse(
        &api,
        "GET",
        "/console/reconciliation",
        &[("cookie", cookie.clone())],
        None,
    );
    assert!(
        form.body.contains("enctype=\"multipart/form-data\""),
        "{}",
        form.body
    );
    assert!(
        !form.body.contains("value=\"books\""),
        "a partner's user picks its own"
    );

    // A forged form is refused before anything in it is read.
    let forged = upload(
        &[
            ("csrf", "guess"),
            ("partner", "aroma"),
            ("from", &from),
            ("to", &to),
        ],
        &file,
    );
    assert_eq!(forged.status, 403);
    let r = upload(
        &[
            ("csrf", &csrf),
            ("partner", "aroma"),
            ("from", &from),
            ("to", &to),
        ],
        &file,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("<span id=\"matched\">1</span>"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("<tr><td>pos-1</td><td>earn</td><td>AROMA</td><td class=\"num\">99 AROMA</td><td class=\"num\">11 AROMA</td></tr>"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains(
            "<tr><td>pos-2</td><td>earn</td><td>AROMA</td><td class=\"num\">12</td></tr>"
        ),
        "{}",
        r.body
    );
    // The partner's text is shown as text: escaped, never markup.
    assert!(!r.body.contains("<script>"), "{}", r.body);
    assert!(
        r.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            || r.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        r.body
    );

    // Refusals are shown on the form: a malformed line (named), another partner, a bad period.
    let bad = upload(
        &[
            ("csrf", &csrf),
            ("partner", "aroma"),
            ("from", &from),
            ("to", &to),
        ],
        &format!(
            "{}\npos-1,earn,ten,AROMA,\n",
            coalition::clearing::reconcile::HEADER
        ),
    );
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("line 2"), "{}", bad.body);
    let theirs = upload(
        &[
            ("csrf", &csrf),
            ("partner", "books"),
            ("from", &from),
            ("to", &to),
        ],
        &file,
    );
    assert_eq!(theirs.status, 422);
    assert!(theirs.body.contains("Choose one of the partners listed."));
    let period = upload(
        &[
            ("csrf", &csrf),
            ("partner", "aroma"),
            ("from", "yesterday"),
            ("to", &to),
        ],
        &file,
    );
    assert_eq!(period.status, 422);
    assert!(period.body.contains("RFC 3339"));
}

/// The entries search: by reference, card, kind, dates and partner, a page at a time; a
/// partner's text shown inert; a partner's user limited to its own entries.
#[test]
fn entries_are_found_by_reference_card_kind_and_date_with_their_proofs() {
    let api = Api::start();
    let r = api.post(
        "aroma",
        "/v1/members",
        &serde_json::json!({ "external_id": "dana" }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let dana = r.json()["member_id"].as_str().unwrap().to_owned();
    let card = r.json()["card_number"].as_str().unwrap().to_owned();
    let planted = "<script>alert(1)</script>";
    let r = api.post(
        "aroma",
        "/v1/earn",
        &serde_json::json!({ "member_id": dana, "points": "30", "reference": planted }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let entry_hash = r.json()["hash"].as_str().unwrap().to_owned();
    let eli = api.member("books");
    for _ in 0..55 {
        api.earn("books", &eli, "1");
    }
    let (cookie, _) = signed_in(&api, &api.finance_token(Role::Finance, None));
    let get = |query: &str, cookie: &str| {
        browse(
            &api,
            "GET",
            &format!("/console/entries?{query}"),
            &[("cookie", cookie.into())],
            None,
        )
    };
    // By reference: the one entry, its markup escaped, its hash, receipt and postings shown.
    let found = get("reference=%3Cscript%3Ealert%281%29%3C%2Fscript%3E", &cookie);
    assert_eq!(found.status, 200, "{}", found.body);
    assert_eq!(
        found.body.matches("<details id=\"entry-").count(),
        1,
        "{}",
        found.body
    );
    assert!(!found.body.contains("<script>"), "{}", found.body);
    assert!(found.body.contains("alert(1)"), "{}", found.body);
    assert!(found.body.contains(&entry_hash));
    assert!(
        found.body.contains(&format!(
            "<td>member:{dana}:AROMA</td><td>AROMA</td><td class=\"num\">-30</td>"
        )),
        "{}",
        found.body
    );
    // By card, with the kind: Dana's earn; the same card and another kind: nothing.
    let by_card = get(&format!("member={card}&kind=earn"), &cookie);
    assert_eq!(
        by_card.body.matches("<details id=\"entry-").count(),
        1,
        "{}",
        by_card.body
    );
    let none = get(&format!("member={card}&kind=redemption"), &cookie);
    assert!(none.body.contains("No entries match."), "{}", none.body);
    // An unknown card is as empty as a member without entries.
    let unissued = (0..10)
        .map(|d| format!("600199999999999{d}"))
        .find(|n| n.parse::<coalition::ledger::CardNumber>().is_ok())
        .unwrap();
    let unknown = get(&format!("member={unissued}"), &cookie);
    assert_eq!(unknown.status, 200, "{}", unknown.body);
    assert!(unknown.body.contains("No entries match."));
    assert_eq!(get("member=not-a-card", &cookie).status, 422);
    // Dates: today holds all 56; a day in the past none.
    let today = &coalition::clearing::time::rfc3339(api.now_secs() * 1_000_000)[..10];
    let day = get(&format!("partner=books&from={today}&to={today}"), &cookie);
    assert_eq!(
        day.body.matches("<details id=\"entry-").count(),
        50,
        "a page"
    );
    let next = day
        .body
        .split("href=\"/console/entries?")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let rest = get(&next.replace("&#38;", "&").replace("&amp;", "&"), &cookie);
    assert_eq!(
        rest.body.matches("<details id=\"entry-").count(),
        5,
        "{}",
        rest.body
    );
    let past = get("from=2020-01-01&to=2020-01-02", &cookie);
    assert!(past.body.contains("No entries match."));
    let bad = get("from=yesterday", &cookie);
    assert_eq!(bad.status, 422);
    // The bookstore's user sees its own entries only, whatever it asks for.
    let (theirs, _) = signed_in(&api, &api.finance_token(Role::Finance, Some("books")));
    let asked = get(
        "partner=aroma&reference=%3Cscript%3Ealert%281%29%3C%2Fscript%3E",
        &theirs,
    );
    assert!(asked.body.contains("No entries match."), "{}", asked.body);
    assert!(!asked.body.contains("<option value=\"aroma\""));
}
