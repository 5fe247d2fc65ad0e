//! The signed partner API over real HTTP: authentication, idempotency, earn, redemptions and
//! holds, reversals, entries, receipts.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use coalition::crypto::SigningKey;
use coalition::httpsig;
use serde_json::{Value, json};

use crate::common::{Api, send};

// ---- authentication -------------------------------------------------------------------------

/// A signed earn whose parts a test can spoil before sending.
struct Prepared {
    url: String,
    body: String,
    headers: Vec<(&'static str, String)>,
}

fn prepared_earn(api: &Api, member: &str, key: &SigningKey, keyid: &str, created: i64) -> Prepared {
    let url = api.url("/v1/earn");
    let body = json!({ "member_id": member, "points": "10", "reference": "pos-1" }).to_string();
    let idem = uuid::Uuid::new_v4().to_string();
    let h = httpsig::sign_request_with(
        key,
        keyid,
        "POST",
        &url,
        Some(body.as_bytes()),
        Some(&idem),
        created,
    )
    .unwrap();
    Prepared {
        url,
        body,
        headers: vec![
            ("signature-input", h.signature_input),
            ("signature", h.signature),
            ("content-digest", h.content_digest.unwrap()),
            ("idempotency-key", idem),
            ("content-type", "application/json".to_owned()),
        ],
    }
}

fn now() -> i64 {
    coalition::ledger::clock::Clock::system().now_secs()
}

fn rejected(api: &Api, p: &Prepared, code: &str) {
    let before = api.entry_count();
    let r = send("POST", &p.url, &p.headers, Some(p.body.as_bytes()));
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.code(), code, "{}", r.body);
    assert_eq!(
        api.entry_count(),
        before,
        "a rejected request changed the ledger"
    );
}

#[test]
fn a_correctly_signed_request_is_accepted() {
    let api = Api::start();
    let member = api.member("aroma");
    let k = api.key("aroma");
    let p = prepared_earn(&api, &member, &k.key, k.key_id.as_str(), now());
    let r = send("POST", &p.url, &p.headers, Some(p.body.as_bytes()));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(api.balance("aroma", &member), "10");
}

/// A label given twice, over two `Signature` lines or twice in one, is refused whichever copy
/// is the valid one: which signature counts must never depend on which line a reader takes.
#[test]
fn a_signature_label_given_twice_is_refused() {
    let api = Api::start();
    let member = api.member("aroma");
    let k = api.key("aroma");
    let p = prepared_earn(&api, &member, &k.key, k.key_id.as_str(), now());
    let valid = p.headers[1].1.clone();
    let label = valid.split('=').next().unwrap().to_owned();
    let bogus = format!("{label}=:{}:", STANDARD.encode([7u8; 64]));
    let with_signature = |lines: &[&str]| {
        let mut headers: Vec<(&'static str, String)> = p
            .headers
            .iter()
            .filter(|(n, _)| *n != "signature")
            .cloned()
            .collect();
        headers.extend(lines.iter().map(|l| ("signature", (*l).to_owned())));
        Prepared {
            url: p.url.clone(),
            body: p.body.clone(),
            headers,
        }
    };
    rejected(
        &api,
        &with_signature(&[&valid, &bogus]),
        "signature_invalid",
    );
    rejected(
        &api,
        &with_signature(&[&bogus, &valid]),
        "signature_invalid",
    );
    rejected(
        &api,
        &with_signature(&[&format!("{valid}, {bogus}")]),
        "signature_invalid",
    );
    rejected(
        &api,
        &with_signature(&[&format!("{bogus}, {valid}")]),
        "signature_invalid",
    );
    // The same request with its one signature goes through.
    let r = send("POST", &p.url, &p.headers, Some(p.body.as_bytes()));
    assert_eq!(r.status, 201, "{}", r.body);
}

#[test]
fn bad_signatures_are_rejected_and_change_nothing() {
    let api = Api::start();
    let member = api.member("aroma");
    let k = api.key("aroma");

    // Unsigned.
    let mut p = prepared_earn(&api, &member, &k.key, k.key_id.as_str(), now());
    p.headers.retain(|(n, _)| !n.starts_with("signature"));
    rejected(&api, &p, "signature_missing");

    // The body changed after signing: its digest no longer matches.
    let mut p = prepared_earn(&api, &member, &k.key, k.key_id.as_str(), now());
    p.body = p.body.replace("\"10\"", "\"10000\"");
    rejected(&api, &p, "digest_mismatch");

    // The body and its digest changed: the signature covers the digest.
    let mut p = prepared_earn(&api, &member, &k.key, k.key_id.as_str(), now());
    p.body = p.body.replace("\"10\"", "\"10000\"");
    p.headers.retain(|(n, _)| *n != "content-digest");
    p.headers
        .push(("content-digest", httpsig::content_digest(p.body.as_bytes())));
    rejected(&api, &p, "signature_invalid");

    // Signed too long ago, or too far ahead.
    let p = prepared_earn(
        &api,
        &member,
        &k.key,
        k.key_id.as_str(),
        now() - httpsig::MAX_CLOCK_SKEW_SECS - 60,
    );
    rejected(&api, &p, "signature_expired");
    let p = prepared_earn(
        &api,
        &member,
        &k.key,
        k.key_id.as_str(),
        now() + httpsig::MAX_CLOCK_SKEW_SECS + 60,
    );
    rejected(&api, &p, "signature_expired");

    // Signed by another key under Aroma's key id.
    let impostor = SigningKey::generate().unwrap();
    let p = prepared_earn(&api, &member, &impostor, k.key_id.as_str(), now());
    rejected(&api, &p, "signature_invalid");

    // Another partner's key id: the books key cannot earn Aroma points in Aroma's name, and a
    // key id nobody registered is unknown.
    let p = prepared_earn(&api, &member, &impostor, "nobody-2026", now());
    rejected(&api, &p, "unknown_key");

    // Garbage headers.
    let mut p = prepared_earn(&api, &member, &k.key, k.key_id.as_str(), now());
    p.headers.retain(|(n, _)| *n != "signature");
    p.headers.push(("signature", "sig1=:not base64!:".into()));
    rejected(&api, &p, "signature_invalid");

    // The signature must cover the body's digest.
    let url = api.url("/v1/earn");
    let body = json!({ "member_id": member, "points": "10", "reference": "x" }).to_string();
    let h = httpsig::sign_request(&k.key, k.key_id.as_str(), "POST", &url, None, now()).unwrap();
    let p = Prepared {
        url,
        headers: vec![
            ("signature-input", h.signature_input),
            ("signature", h.signature),
            ("content-digest", httpsig::content_digest(body.as_bytes())),
            ("idempotency-key", "k".into()),
        ],
        body,
    };
    rejected(&api, &p, "signature_invalid");
    assert_eq!(api.balance("aroma", &member), "0");
    api.verify();
}

/// A POST's signature must cover its Idempotency-Key; then a captured request sent again under
/// another key fails verification itself (`signature_invalid`), on any instance and after any
/// restart, not only while one process remembers the signature.
#[test]
fn a_captured_request_cannot_be_sent_again_as_another() {
    let api = Api::start();
    let member = api.member("aroma");
    let k = api.key("aroma");
    let url = api.url("/v1/earn");
    let body = json!({ "member_id": member, "points": "10", "reference": "pos-1" }).to_string();
    // A client that does not sign its Idempotency-Key (as many libraries do not by default).
    let uncovered = httpsig::sign_request(
        &k.key,
        k.key_id.as_str(),
        "POST",
        &url,
        Some(body.as_bytes()),
        now(),
    )
    .unwrap();
    let r = send(
        "POST",
        &url,
        &[
            ("signature-input", uncovered.signature_input),
            ("signature", uncovered.signature),
            ("content-digest", uncovered.content_digest.unwrap()),
            ("idempotency-key", "k-0".to_owned()),
            ("content-type", "application/json".to_owned()),
        ],
        Some(body.as_bytes()),
    );
    assert_eq!((r.status, r.code().as_str()), (401, "signature_invalid"));
    assert!(r.body.contains("idempotency-key"), "{}", r.body);
    let h = httpsig::sign_request_with(
        &k.key,
        k.key_id.as_str(),
        "POST",
        &url,
        Some(body.as_bytes()),
        Some("k-1"),
        now(),
    )
    .unwrap();
    let headers = |idem: &str| {
        vec![
            ("signature-input", h.signature_input.clone()),
            ("signature", h.signature.clone()),
            ("content-digest", h.content_digest.clone().unwrap()),
            ("idempotency-key", idem.to_owned()),
            ("content-type", "application/json".to_owned()),
        ]
    };
    let first = send("POST", &url, &headers("k-1"), Some(body.as_bytes()));
    assert_eq!(first.status, 201, "{}", first.body);
    let retry = send("POST", &url, &headers("k-1"), Some(body.as_bytes()));
    assert_eq!(
        (retry.status, retry.body.as_str()),
        (201, first.body.as_str()),
        "the same request again is a retry"
    );
    let replay = send("POST", &url, &headers("k-2"), Some(body.as_bytes()));
    assert_eq!(
        (replay.status, replay.code().as_str()),
        (401, "signature_invalid")
    );
    assert_eq!(api.balance("aroma", &member), "10", "posted once");
}

#[test]
fn a_signature_for_another_route_does_not_carry_over() {
    let api = Api::start();
    let member = api.member("aroma");
    let k = api.key("aroma");
    let mut p = prepared_earn(&api, &member, &k.key, k.key_id.as_str(), now());
    p.url = api.url("/v1/redemptions");
    rejected(&api, &p, "signature_invalid");
}

// ---- idempotency ----------------------------------------------------------------------------

#[test]
fn retries_replay_the_first_response_and_conflicts_are_refused() {
    let api = Api::start();
    let member = api.member("aroma");
    let body = json!({ "member_id": member, "points": "25", "reference": "pos-7" }).to_string();
    let first = api.signed("aroma", "POST", "/v1/earn", Some(&body), Some("earn-7"));
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = api.signed("aroma", "POST", "/v1/earn", Some(&body), Some("earn-7"));
    assert_eq!(again.status, 201);
    assert_eq!(
        again.body, first.body,
        "a retry gets the first response byte for byte"
    );
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(api.balance("aroma", &member), "25", "posted once");

    let other = json!({ "member_id": member, "points": "26", "reference": "pos-7" }).to_string();
    let conflict = api.signed("aroma", "POST", "/v1/earn", Some(&other), Some("earn-7"));
    assert_eq!(conflict.status, 422);
    assert_eq!(conflict.code(), "idempotency_conflict");

    let missing = api.signed("aroma", "POST", "/v1/earn", Some(&other), None);
    assert_eq!(missing.status, 400);
    assert_eq!(missing.code(), "idempotency_key_missing");
    // Keys are per partner: the same key from another partner is a different request.
    let books_member = api.member("books");
    let books = json!({ "member_id": books_member, "points": "5", "reference": "b" }).to_string();
    assert_eq!(
        api.signed("books", "POST", "/v1/earn", Some(&books), Some("earn-7"))
            .status,
        201
    );
    assert_eq!(api.balance("aroma", &member), "25");
    assert_eq!(api.entry_count(), 2);
}

#[test]
fn concurrent_duplicates_post_once() {
    let api = Api::start();
    let member = api.member("aroma");
    let body = json!({ "member_id": member, "points": "40", "reference": "pos-9" }).to_string();
    let replies: Vec<(u16, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..12)
            .map(|_| {
                s.spawn(|| {
                    let r = api.signed("aroma", "POST", "/v1/earn", Some(&body), Some("dup-1"));
                    (r.status, r.body)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(replies.iter().all(|(s, _)| *s == 201), "{replies:?}");
    assert!(
        replies.iter().all(|(_, b)| *b == replies[0].1),
        "every duplicate sees the same receipt"
    );
    assert_eq!(api.balance("aroma", &member), "40");
    assert_eq!(api.entry_count(), 1);
}

// ---- members, earn, receipts ----------------------------------------------------------------

#[test]
fn enrolling_twice_returns_the_same_member() {
    let api = Api::start();
    let first = api.post(
        "aroma",
        "/v1/members",
        &json!({ "external_id": "loyal-17" }),
    );
    assert_eq!(first.status, 201);
    let again = api.post(
        "aroma",
        "/v1/members",
        &json!({ "external_id": "loyal-17" }),
    );
    assert_eq!(again.status, 200);
    assert_eq!(first.json()["member_id"], again.json()["member_id"]);
    let elsewhere = api.post(
        "books",
        "/v1/members",
        &json!({ "external_id": "loyal-17" }),
    );
    assert_eq!(elsewhere.status, 201);
    assert_ne!(first.json()["member_id"], elsewhere.json()["member_id"]);
    let bad = api.post("aroma", "/v1/members", &json!({ "external_id": "" }));
    assert_eq!((bad.status, bad.code().as_str()), (422, "invalid_request"));
}

/// A JSON body must say it is JSON: sent as `text/plain` (or with no type at all) it is refused
/// with 415 and changes nothing, on a partner's signed call and on a member's.
#[test]
fn json_bodies_must_say_they_are_json() {
    let api = Api::start();
    let member = api.member("aroma");
    let k = api.key("aroma");
    let before = api.entry_count();
    let types = [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ];
    for (age_secs, content_type) in (1..).zip(types) {
        // A signature per request (another `created`): the replay guard admits each once.
        let mut p = prepared_earn(&api, &member, &k.key, k.key_id.as_str(), now() - age_secs);
        p.headers.retain(|(n, _)| *n != "content-type");
        if let Some(ct) = content_type {
            p.headers.push(("content-type", ct.to_owned()));
        }
        let r = send("POST", &p.url, &p.headers, Some(p.body.as_bytes()));
        assert_eq!(
            (r.status, r.code().as_str()),
            (415, "unsupported_media_type"),
            "{content_type:?}: {}",
            r.body
        );
    }
    assert_eq!(api.entry_count(), before);
    let mut p = prepared_earn(&api, &member, &k.key, k.key_id.as_str(), now());
    p.headers.retain(|(n, _)| *n != "content-type");
    p.headers
        .push(("content-type", "application/json; charset=utf-8".to_owned()));
    let r = send("POST", &p.url, &p.headers, Some(p.body.as_bytes()));
    assert_eq!(r.status, 201, "{}", r.body);

    let token = {
        let r = api.post(
            "aroma",
            &format!("/v1/members/{member}/tokens"),
            &json!({ "scope": ["consent"] }),
        );
        r.json()["token"].as_str().unwrap().to_owned()
    };
    let consent = |content_type: &str| {
        send(
            "PUT",
            &api.url("/v1/me/consent"),
            &[
                ("authorization", format!("Bearer {token}")),
                ("content-type", content_type.to_owned()),
            ],
            Some(br#"{"share_balances":false}"#),
        )
    };
    let r = consent("text/plain");
    assert_eq!(
        (r.status, r.code().as_str()),
        (415, "unsupported_media_type")
    );
    assert_eq!(consent("application/json").status, 200);
}

/// When a purchase happened is bounded: not before 2000, at most a day ahead of the service's
/// clock (year 9999 was accepted). Refused earns post nothing.
#[test]
fn occurred_at_is_bounded() {
    let api = Api::start();
    let member = api.member("aroma");
    let earn = |at: &str| {
        api.post(
            "aroma",
            "/v1/earn",
            &json!({ "member_id": member, "points": "3", "reference": format!("at-{at}"), "occurred_at": at }),
        )
    };
    let before = api.entry_count();
    for at in ["9999-12-31T00:00:00Z", "1999-12-31T23:59:59Z", "not a time"] {
        let r = earn(at);
        assert_eq!(
            (r.status, r.code().as_str()),
            (422, "invalid_request"),
            "{at}: {}",
            r.body
        );
    }
    assert_eq!(api.entry_count(), before);
    let now = coalition::clearing::time::rfc3339(api.now_secs() * 1_000_000);
    assert_eq!(earn(&now).status, 201);
    assert_eq!(earn("2001-02-03T04:05:06Z").status, 201);
}

#[test]
fn earning_from_a_purchase_rounds_down() {
    let api = Api::start();
    let member = api.member("threads");
    // Threads earns 0.5 STYLE per 1.00 ILS: 99.99 ILS is 49.995, so 49 points.
    let r = api.post(
        "threads",
        "/v1/earn",
        &json!({ "member_id": member, "purchase": { "amount": "99.99", "currency": "ILS" }, "reference": "t-1" }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["points"], "49");
    let r = api.post(
        "threads",
        "/v1/earn",
        &json!({ "member_id": member, "purchase": { "amount": "1.99", "currency": "ILS" }, "reference": "t-2" }),
    );
    assert_eq!(
        (r.status, r.code().as_str()),
        (422, "invalid_amount"),
        "0.995 points earns nothing"
    );
    assert_eq!(api.balance("threads", &member), "49");
}

#[test]
fn receipts_verify_with_an_independent_jwt_library() {
    let api = Api::start();
    let member = api.member("books");
    // Books awards the network's COAL: the cross-brand rule applies, books owes the network.
    let r = api.post(
        "books",
        "/v1/earn",
        &json!({ "member_id": member, "unit": "COAL", "points": "40", "reference": "b-1" }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let receipt = r.json();
    let jwks = send("GET", &api.url("/.well-known/jwks.json"), &[], None).json();
    let jwk = &jwks["keys"][0];

    let header = jsonwebtoken::decode_header(receipt["receipt"].as_str().unwrap()).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::EdDSA);
    assert_eq!(header.kid.as_deref(), jwk["kid"].as_str());
    let key = jsonwebtoken::DecodingKey::from_ed_components(jwk["x"].as_str().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    let claims =
        jsonwebtoken::decode::<Value>(receipt["receipt"].as_str().unwrap(), &key, &validation)
            .unwrap()
            .claims;
    for field in [
        "entry_id",
        "hash",
        "prev_hash",
        "kind",
        "partner",
        "member_id",
    ] {
        assert_eq!(claims[field], receipt[field], "{field}");
    }
    assert!(claims["iat"].as_i64().unwrap() > 0);
    let postings = crate::common::field_pairs(&claims["postings"], "account", "amount");
    assert!(
        postings.contains(&("settlement:books:ILS".into(), "2.00".into())),
        "{postings:?}"
    );
    assert!(
        postings.contains(&("settlement:network:ILS".into(), "-2.00".into())),
        "{postings:?}"
    );

    // A receipt with a changed claim does not verify.
    let token = receipt["receipt"].as_str().unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let mut forged: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    forged["postings"][0]["amount"] = json!("4000");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(forged.to_string()),
        parts[2]
    );
    assert!(jsonwebtoken::decode::<Value>(&forged, &key, &validation).is_err());

    // The entry read back carries the same hash and receipt.
    let entry = api
        .get(
            "books",
            &format!("/v1/entries/{}", receipt["entry_id"].as_str().unwrap()),
        )
        .json();
    assert_eq!(entry["hash"], receipt["hash"]);
    assert_eq!(entry["receipt"], receipt["receipt"]);
    let _ = STANDARD;
}

// ---- redemptions and holds ------------------------------------------------------------------

#[test]
fn insufficient_balance_changes_nothing() {
    let api = Api::start();
    let member = api.member("aroma");
    api.earn("aroma", &member, "30");
    let before = api.entry_count();
    let r = api.post(
        "aroma",
        "/v1/redemptions",
        &json!({ "member_id": member, "unit": "AROMA", "points": "31", "reference": "x" }),
    );
    assert_eq!(
        (r.status, r.code().as_str()),
        (422, "insufficient_balance"),
        "{}",
        r.body
    );
    assert_eq!(api.entry_count(), before);
    assert_eq!(api.balance("aroma", &member), "30");
    let r = api.post(
        "aroma",
        "/v1/redemptions",
        &json!({ "member_id": member, "unit": "AROMA", "points": "30", "reference": "x" }),
    );
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["status"], "captured");
    assert_eq!(api.balance("aroma", &member), "0");
    api.verify();
}

#[test]
fn spending_another_brands_points_needs_the_members_authorization() {
    let api = Api::start();
    let member = api.member("aroma");
    api.earn("aroma", &member, "100");
    let before = api.entry_count();
    for unit in ["AROMA", "COAL"] {
        let r = api.post(
            "books",
            "/v1/redemptions",
            &json!({ "member_id": member, "unit": unit, "points": "10", "reference": "b" }),
        );
        assert_eq!(
            (r.status, r.code().as_str()),
            (403, "authorization_required"),
            "{unit}: {}",
            r.body
        );
    }
    assert_eq!(api.entry_count(), before);
    assert_eq!(api.balance("aroma", &member), "100");
}

fn hold(api: &Api, member: &str, points: &str) -> Value {
    let r = api.post(
        "aroma",
        "/v1/redemptions",
        &json!({ "member_id": member, "unit": "AROMA", "points": points, "reference": "h", "capture": false }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let v = r.json();
    assert_eq!(v["status"], "pending");
    v
}

#[test]
fn a_hold_captured_in_part_releases_the_rest() {
    let api = Api::start();
    let member = api.member("aroma");
    api.earn("aroma", &member, "100");
    let h = hold(&api, &member, "60");
    let id = h["entry_id"].as_str().unwrap();
    assert_eq!(
        api.balance("aroma", &member),
        "40",
        "held points are not spendable"
    );
    let too_much = api.post(
        "aroma",
        &format!("/v1/redemptions/{id}/capture"),
        &json!({ "points": "61" }),
    );
    assert_eq!(
        (too_much.status, too_much.code().as_str()),
        (422, "invalid_amount")
    );
    let c = api.post(
        "aroma",
        &format!("/v1/redemptions/{id}/capture"),
        &json!({ "points": "45" }),
    );
    assert_eq!(c.status, 200, "{}", c.body);
    assert_eq!(c.json()["status"], "captured");
    assert_eq!(
        api.balance("aroma", &member),
        "55",
        "15 of the 60 held came back"
    );
    assert_eq!(
        api.get("aroma", &format!("/v1/entries/{id}")).json()["status"],
        "captured"
    );
    let twice = api.post(
        "aroma",
        &format!("/v1/redemptions/{id}/capture"),
        &json!({}),
    );
    assert_eq!(
        (twice.status, twice.code().as_str()),
        (422, "hold_not_pending")
    );
    let void = api.post("aroma", &format!("/v1/redemptions/{id}/void"), &json!({}));
    assert_eq!(
        (void.status, void.code().as_str()),
        (422, "hold_not_pending")
    );
    api.verify();
}

#[test]
fn a_void_returns_every_held_point() {
    let api = Api::start();
    let member = api.member("aroma");
    api.earn("aroma", &member, "20");
    let id = hold(&api, &member, "20")["entry_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(api.balance("aroma", &member), "0");
    // Another partner cannot touch Aroma's hold.
    let foreign = api.post("books", &format!("/v1/redemptions/{id}/void"), &json!({}));
    assert_eq!(foreign.status, 404);
    let v = api.post("aroma", &format!("/v1/redemptions/{id}/void"), &json!({}));
    assert_eq!(v.status, 200, "{}", v.body);
    assert_eq!(v.json()["status"], "voided");
    assert_eq!(api.balance("aroma", &member), "20");
    api.verify();
}

#[test]
fn an_uncaptured_hold_expires_by_itself() {
    let api = Api::start();
    let member = api.member("aroma");
    api.earn("aroma", &member, "20");
    let id = hold(&api, &member, "15")["entry_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(api.balance("aroma", &member), "5");
    // Fifteen minutes pass (the default hold lifetime) without waiting for them; the sweeper
    // runs every second and finds the hold lapsed.
    let ttl = u32::try_from(coalition::clearing::DEFAULT_HOLD_TTL_SECS).unwrap();
    api.advance_secs(ttl + 1);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while api.get("aroma", &format!("/v1/entries/{id}")).json()["status"] != "expired" {
        assert!(
            std::time::Instant::now() < deadline,
            "the hold never expired"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(api.balance("aroma", &member), "20");
    let late = api.post(
        "aroma",
        &format!("/v1/redemptions/{id}/capture"),
        &json!({}),
    );
    assert_eq!(
        (late.status, late.code().as_str()),
        (422, "hold_not_pending")
    );
    let list = api
        .get(
            "aroma",
            &format!("/v1/entries?kind=expiry&member_id={member}"),
        )
        .json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    api.verify();
}

// ---- reversals ------------------------------------------------------------------------------

#[test]
fn partial_reversals_never_exceed_the_original() {
    let api = Api::start();
    let member = api.member("books");
    // Books awards 45 COAL (worth 2.25 ILS to the network) and then reverses it in parts.
    let earned = api
        .post(
            "books",
            "/v1/earn",
            &json!({ "member_id": member, "unit": "COAL", "points": "45", "reference": "b" }),
        )
        .json();
    let id = earned["entry_id"].as_str().unwrap();
    let reverse = |points: Option<&str>| {
        let mut body = json!({ "entry_id": id, "reference": "refund", "reason": "returned goods" });
        if let Some(p) = points {
            body["points"] = json!(p);
        }
        api.post("books", "/v1/reversals", &body)
    };
    let first = reverse(Some("10"));
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.json()["reverses"], earned["entry_id"]);
    let too_much = reverse(Some("36"));
    assert_eq!(
        (too_much.status, too_much.code().as_str()),
        (422, "invalid_amount")
    );
    let second = reverse(Some("13"));
    assert_eq!(second.status, 201);
    let rest = reverse(None);
    assert_eq!(rest.status, 201, "{}", rest.body);
    let done = reverse(Some("1"));
    assert_eq!((done.status, done.code().as_str()), (422, "not_reversible"));
    assert_eq!(
        api.get("books", &format!("/v1/entries/{id}")).json()["status"],
        "reversed"
    );

    // Every money line of the earn came back to exactly zero across the reversals.
    let settlement = |entry: &Value, account: &str| -> i64 {
        entry["postings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["account"] == account)
            .map(|p| (p["amount"].as_str().unwrap().parse::<f64>().unwrap() * 100.0).round() as i64)
            .sum()
    };
    for account in ["settlement:books:ILS", "settlement:network:ILS"] {
        let total: i64 = [&earned, &first.json(), &second.json(), &rest.json()]
            .iter()
            .map(|e| settlement(e, account))
            .sum();
        assert_eq!(total, 0, "{account}");
    }
    assert_eq!(settlement(&earned, "settlement:books:ILS"), 225);
    assert_eq!(api.balance("books", &member), "0");
    api.verify();
}

#[test]
fn a_refund_of_a_redemption_restores_the_points() {
    let api = Api::start();
    let member = api.member("aroma");
    api.earn("aroma", &member, "50");
    let spent = api
        .post(
            "aroma",
            "/v1/redemptions",
            &json!({ "member_id": member, "unit": "AROMA", "points": "50", "reference": "r" }),
        )
        .json();
    let r = api.post("aroma", "/v1/reversals", &json!({ "entry_id": spent["entry_id"], "points": "20", "reference": "refund", "reason": "cold coffee" }));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(api.balance("aroma", &member), "20");
    // A reversal is not itself reversed: a mistaken refund is fixed by a new redemption.
    let again = api.post(
        "aroma",
        "/v1/reversals",
        &json!({ "entry_id": r.json()["entry_id"], "reference": "x", "reason": "y" }),
    );
    assert_eq!(
        (again.status, again.code().as_str()),
        (422, "not_reversible")
    );
    // Only the partner that made an entry may reverse it.
    let foreign = api.post(
        "books",
        "/v1/reversals",
        &json!({ "entry_id": spent["entry_id"], "reference": "x", "reason": "y" }),
    );
    assert_eq!(foreign.status, 404);
    api.verify();
}

// ---- input --------------------------------------------------------------------------------

#[test]
fn amounts_must_be_exact_decimal_strings() {
    let api = Api::start();
    let member = api.member("fuelup");
    let earn = |points: Value| {
        api.post(
            "fuelup",
            "/v1/earn",
            &json!({ "member_id": member, "points": points, "reference": "f" }),
        )
    };
    for bad in [
        json!(5),
        json!(2.5),
        json!("1.25"),
        json!("-3"),
        json!("0"),
        json!("1e3"),
        json!(" 1"),
    ] {
        let r = earn(bad.clone());
        assert_eq!(
            (r.status, r.code().as_str()),
            (422, "invalid_amount"),
            "{bad}: {}",
            r.body
        );
    }
    // FUEL counts in tenths.
    assert_eq!(earn(json!("2.5")).status, 201);
    assert_eq!(api.balance("fuelup", &member), "2.5");
    let unknown = api.post(
        "fuelup",
        "/v1/earn",
        &json!({ "member_id": uuid::Uuid::new_v4().to_string(), "points": "1", "reference": "f" }),
    );
    assert_eq!(
        (unknown.status, unknown.code().as_str()),
        (404, "not_found")
    );
    let typo = api.post(
        "fuelup",
        "/v1/earn",
        &json!({ "member_id": member, "point": "1", "reference": "f" }),
    );
    assert_eq!((typo.status, typo.code().as_str()), (400, "invalid_json"));
    let huge = "x".repeat(coalition::api::MAX_BODY_BYTES + 1);
    let r = api.post(
        "fuelup",
        "/v1/earn",
        &json!({ "member_id": member, "points": "1", "reference": huge }),
    );
    assert_eq!((r.status, r.code().as_str()), (413, "body_too_large"));
    assert_eq!(api.balance("fuelup", &member), "2.5");
}

#[test]
fn entries_are_listed_in_pages_for_their_partner_only() {
    let api = Api::start();
    let member = api.member("aroma");
    for _ in 0..5 {
        api.earn("aroma", &member, "1");
    }
    let other = api.member("books");
    api.earn("books", &other, "1");
    let mut seen = Vec::new();
    let mut path = "/v1/entries?limit=2".to_owned();
    loop {
        let page = api.get("aroma", &path);
        assert_eq!(page.status, 200, "{}", page.body);
        let page = page.json();
        for item in page["items"].as_array().unwrap() {
            assert_eq!(item["partner"], "aroma");
            seen.push(item["seq"].as_i64().unwrap());
        }
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/entries?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(api.get("aroma", "/v1/entries?limit=0").status, 400);
    assert_eq!(api.get("aroma", "/v1/entries?cursor=bogus").status, 400);
    // Books cannot read Aroma's entries.
    let first = api.get("aroma", "/v1/entries?limit=1").json()["items"][0]["entry_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        api.get("books", &format!("/v1/entries/{first}")).status,
        404
    );
}

#[test]
fn balances_of_other_brands_need_consent() {
    let api = Api::start();
    let shy = api.member("aroma");
    let r = api.post(
        "aroma",
        "/v1/members",
        &json!({ "external_id": "open-1", "consent": { "share_balances": true } }),
    );
    let open = r.json()["member_id"].as_str().unwrap().to_owned();
    for m in [&shy, &open] {
        api.earn("aroma", m, "10");
        // Aroma also awards the network's COAL: a unit Aroma does not issue.
        let r = api.post(
            "aroma",
            "/v1/earn",
            &json!({ "member_id": m, "unit": "COAL", "points": "7", "reference": "c" }),
        );
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let units = |member: &str| -> Vec<(String, String)> {
        api.get("aroma", &format!("/v1/members/{member}/balances"))
            .json()["balances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                (
                    b["unit"].as_str().unwrap().to_owned(),
                    b["balance"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(units(&shy), [("AROMA".to_owned(), "10".to_owned())]);
    assert_eq!(
        units(&open),
        [
            ("AROMA".to_owned(), "10".to_owned()),
            ("COAL".to_owned(), "7".to_owned())
        ]
    );
    // A partner the member is not enrolled with sees nothing at all.
    assert_eq!(
        api.get("books", &format!("/v1/members/{open}/balances"))
            .status,
        404
    );
}
