//! Exports and statements leave the server as they are read, not built whole first: the export's
//! first page is on the wire, chunked, as a page of entries, while the rest is still to come;
//! a statement too large for one read arrives whole, signed over exactly what arrived.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;

use coalition::clearing::tokens::Role;
use coalition::ledger::{Amount, EntryKind, EntryMeta, MemberId};

use crate::common::{Api, send};

/// More entries than one page of the export (`store::ledger::MAX_ENTRIES_PER_PAGE`).
const ENTRIES: usize = 2_600;

/// `ENTRIES` earns written through the writer in-process (HTTP would only be slower).
fn fill(api: &Api) {
    let clearing = api.svc.clearing.clone();
    let brand: coalition::ledger::PartnerId = "aroma".parse().unwrap();
    api.svc.block_on(async move {
        let mut set = tokio::task::JoinSet::new();
        for i in 0..ENTRIES {
            let (c, brand) = (clearing.clone(), brand.clone());
            set.spawn(async move {
                let mut meta = EntryMeta::new(EntryKind::Earn);
                meta.reference = Some(format!("fill-{i}"));
                let scale = c.units().scale_of(&"AROMA".parse().unwrap()).unwrap();
                c.post_earn(
                    &brand,
                    MemberId::random(),
                    None,
                    Amount::from_minor(100, scale),
                    meta,
                )
                .await
                .unwrap();
            });
        }
        while let Some(done) = set.join_next().await {
            done.unwrap();
        }
    });
}

/// The head of a response as lower-case `name: value` lines.
fn read_head(r: &mut impl BufRead) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        let line = line.trim_end().to_ascii_lowercase();
        if line.is_empty() {
            return lines;
        }
        lines.push(line);
    }
}

/// One chunk of a chunked body; `None` after the last.
fn read_chunk(r: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut size = String::new();
    r.read_line(&mut size).unwrap();
    let size = usize::from_str_radix(size.trim(), 16).unwrap();
    let mut chunk = vec![0u8; size + 2];
    r.read_exact(&mut chunk).unwrap();
    chunk.truncate(size);
    (size > 0).then_some(chunk)
}

#[test]
fn a_large_export_is_on_the_wire_a_page_at_a_time() {
    let api = Api::start();
    fill(&api);
    let token = api.finance_token(Role::Operator, None);
    let mut s = TcpStream::connect(api.server.addr).unwrap();
    write!(
        s,
        "GET /v1/ledger/export?format=csv HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\r\n",
        api.server.addr
    )
    .unwrap();
    let mut r = BufReader::new(s);
    let head = read_head(&mut r);
    assert_eq!(head[0], "http/1.1 200 ok", "{head:?}");
    assert!(
        head.iter().any(|h| h == "transfer-encoding: chunked"),
        "sent before its length was known: {head:?}"
    );
    assert!(!head.iter().any(|h| h.starts_with("content-length")));
    // The first piece is the header and one page: far from the whole export.
    let first = String::from_utf8(read_chunk(&mut r).unwrap()).unwrap();
    assert!(
        first.starts_with("seq,entry_id,created_at,kind"),
        "{first:.80}"
    );
    let first_entries = first.lines().skip(1).count() / 2;
    assert!(
        first_entries > 0 && first_entries < ENTRIES,
        "{first_entries} entries in the first piece"
    );
    let mut rest = Vec::new();
    let mut pieces = 1;
    while let Some(chunk) = read_chunk(&mut r) {
        rest.extend_from_slice(&chunk);
        pieces += 1;
    }
    let all = first + &String::from_utf8(rest).unwrap();
    // Two postings per earn, one line each, and the header.
    assert_eq!(
        all.lines().count(),
        1 + 2 * ENTRIES,
        "the whole journal arrives"
    );
    assert!(pieces >= 3, "{pieces} pieces");
    for i in 0..ENTRIES {
        assert!(
            all.contains(&format!(",fill-{i},")),
            "entry fill-{i} is in the export"
        );
    }
}

#[test]
fn a_statement_of_many_windows_arrives_whole_and_signed() {
    let api = Api::start();
    let member = api.member("books");
    api.link(&member, "books", "aroma");
    // Aroma's token: only the issuer's token lets another brand spend its points.
    let token = api.member_token("aroma", &member);
    // Cross-brand spends put lines on Aroma's and the bookstore's positions.
    api.earn("aroma", &member, "5000");
    let code = api.bearer(
        &token,
        "POST",
        "/v1/me/authorizations",
        Some(&serde_json::json!({"partner": "books", "unit": "AROMA", "max_points": "5000"})),
    );
    assert_eq!(code.status, 201, "{}", code.body);
    let code = code.json()["code"].as_str().unwrap().to_owned();
    fill(&api);
    for i in 0..30 {
        let r = api.post(
            "books",
            "/v1/redemptions",
            &serde_json::json!({"member_id": member, "unit": "AROMA", "points": "10",
                "reference": format!("spend-{i}"), "authorization": code}),
        );
        assert_eq!(r.status, 201, "{}", r.body);
    }
    api.advance_secs(2);
    let operator = api.finance_token(Role::Operator, None);
    let cutoff = coalition::clearing::time::rfc3339(api.now_secs() * 1_000_000);
    let settled = api.bearer(
        &operator,
        "POST",
        "/v1/settlements",
        Some(&serde_json::json!({ "cutoff": cutoff })),
    );
    assert_eq!(settled.status, 201, "{}", settled.body);
    let id = settled.json()["settlement_id"].as_str().unwrap().to_owned();
    let statement = send(
        "GET",
        &api.url(&format!("/v1/settlements/{id}/statements/books")),
        &[("authorization", format!("Bearer {operator}"))],
        None,
    );
    assert_eq!(statement.status, 200, "{}", statement.body);
    let doc = statement.json();
    let lines = doc["entries"].as_array().unwrap();
    assert_eq!(lines.len(), 30, "every spend, across windows of the chain");
    assert_eq!(
        lines.last().unwrap()["reference"],
        "spend-29",
        "the last window is in"
    );
    // Verified with the network's public key over the bytes that arrived.
    let signature = statement.header("statement-signature").unwrap();
    let mut parts = signature.split('.');
    let (header, empty, sig) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    assert_eq!(empty, "", "detached");
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let input = format!("{header}.{}", b64.encode(statement.body.as_bytes()));
    let public = api.svc.clearing.context().key.public_key();
    assert!(public.verify(input.as_bytes(), &b64.decode(sig).unwrap()));
}
