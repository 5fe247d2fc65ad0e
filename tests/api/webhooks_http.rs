//! Webhooks over real HTTP, with real receivers on loopback: registration and its checks (the
//! SSRF guard at registration and at connect time), events to every party and nobody else,
//! signed `v1a` per Standard Webhooks, in order per partner; and the faults — a receiver down,
//! slow, answering 500 then 200 (with `Retry-After`), answering 410, failing for three days.

use base64::Engine as _;
use serde_json::{Value, json};

use crate::common::receiver::{Answer, Received, Receiver};
use crate::common::{Api, Resp};

fn put(api: &Api, partner: &str, body: &Value) -> Resp {
    api.signed(
        partner,
        "PUT",
        "/v1/webhooks",
        Some(&body.to_string()),
        None,
    )
}

fn register(api: &Api, partner: &str, receiver: &Receiver, events: &[&str]) -> Value {
    let r = put(
        api,
        partner,
        &json!({ "url": receiver.url(), "events": events }),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

/// The deliveries `partner` sees, newest first.
fn deliveries(api: &Api, partner: &str, query: &str) -> Vec<Value> {
    let r = api.get(partner, &format!("/v1/webhooks/deliveries{query}"));
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["items"].as_array().unwrap().clone()
}

/// Checks a delivery's Standard Webhooks signature (`v1a`, Ed25519) with the key the
/// endpoint's registration named.
fn assert_signed(r: &Received, public_key: &str) {
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64
        .decode(public_key.strip_prefix("whpk_").unwrap())
        .unwrap();
    let id = r.header("webhook-id").unwrap();
    let ts = r.header("webhook-timestamp").unwrap();
    let now = coalition::ledger::clock::Clock::system().now_secs();
    assert!(
        (ts.parse::<i64>().unwrap() - now).abs() < 300,
        "timestamp {ts}"
    );
    let signed = format!("{id}.{ts}.{}", r.body);
    let sigs = r.header("webhook-signature").unwrap();
    let verified = sigs.split(' ').any(|s| {
        s.strip_prefix("v1a,").is_some_and(|sig| {
            ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &key)
                .verify(signed.as_bytes(), &b64.decode(sig).unwrap())
                .is_ok()
        })
    });
    assert!(verified, "signature {sigs} does not verify");
    // A changed body does not.
    let tampered = format!("{id}.{ts}.{}", r.body.replace('1', "2"));
    assert!(!sigs.split(' ').any(|s| {
        s.strip_prefix("v1a,").is_some_and(|sig| {
            ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &key)
                .verify(tampered.as_bytes(), &b64.decode(sig).unwrap())
                .is_ok()
        })
    }));
}

fn entry_ids(got: &[Received]) -> Vec<String> {
    got.iter()
        .map(|r| r.json()["data"]["entry_id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn endpoints_are_checked_registered_and_removed() {
    let api = Api::start();
    let rx = Receiver::start(&[]);
    assert_eq!(api.get("aroma", "/v1/webhooks").code(), "not_found");
    for (body, code) in [
        (
            json!({ "url": rx.url(), "events": ["entry.deleted"] }),
            "invalid_request",
        ),
        (json!({ "url": rx.url(), "events": [] }), "invalid_request"),
        (
            json!({ "url": "ftp://x.example/", "events": ["entry.posted"] }),
            "webhook_url_refused",
        ),
        (
            json!({ "url": "/relative", "events": ["entry.posted"] }),
            "webhook_url_refused",
        ),
        (
            json!({ "url": "http://u:p@127.0.0.1:1/", "events": ["entry.posted"] }),
            "webhook_url_refused",
        ),
        (json!({ "url": rx.url() }), "invalid_json"),
    ] {
        let r = put(&api, "aroma", &body);
        assert_eq!(r.code(), code, "{body}: {}", r.body);
    }
    assert_eq!(
        api.get("aroma", "/v1/webhooks").code(),
        "not_found",
        "bad input changed nothing"
    );
    let view = register(
        &api,
        "aroma",
        &rx,
        &["points.expiring", "entry.posted", "entry.posted"],
    );
    assert_eq!(view["events"], json!(["entry.posted", "points.expiring"]));
    assert_eq!(view["enabled"], true);
    assert_eq!(view["signing"]["scheme"], "v1a");
    let got = api.get("aroma", "/v1/webhooks").json();
    assert_eq!(got["url"], rx.url());
    // Another partner's endpoint is its own.
    assert_eq!(api.get("books", "/v1/webhooks").code(), "not_found");
    let gone = api.signed("aroma", "DELETE", "/v1/webhooks", None, None);
    assert_eq!(gone.status, 204, "{}", gone.body);
    assert_eq!(
        api.signed("aroma", "DELETE", "/v1/webhooks", None, None)
            .code(),
        "not_found"
    );
    // Removed: nothing is sent.
    let m = api.member("aroma");
    api.earn("aroma", &m, "5");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(rx.received().is_empty());
}

#[test]
fn internal_addresses_are_refused_at_registration_and_at_connect_time() {
    let api = Api::strict();
    let rx = Receiver::start(&[]);
    for url in [
        rx.url(),
        format!("http://localhost:{}/", rx.port),
        "http://[::1]:9/".to_owned(),
        "http://[::ffff:127.0.0.1]:9/".to_owned(),
        "http://169.254.169.254/latest/meta-data".to_owned(),
        "http://10.0.0.8/".to_owned(),
        "http://100.64.0.1/".to_owned(),
        "http://[fd00::1]/".to_owned(),
        "http://0.0.0.0:9/".to_owned(),
    ] {
        let r = put(
            &api,
            "aroma",
            &json!({ "url": url, "events": ["entry.posted"] }),
        );
        assert_eq!(r.code(), "webhook_url_refused", "{url}: {}", r.body);
    }
    // A name that resolved outside when registered and resolves inside now (DNS rebinding) is
    // refused when connecting: the endpoint is written as if its check had passed.
    let store = api.svc.clearing.store();
    let row = coalition::store::webhooks::EndpointRow {
        partner_id: "aroma".into(),
        url: rx.url(),
        events: "entry.posted".into(),
        created_at_us: 0,
        updated_at_us: 0,
        disabled_at_us: None,
        disabled_reason: None,
    };
    store
        .write_blocking(move |tx| coalition::store::webhooks::put_tx(tx, &row))
        .unwrap();
    store.subscribers().set(
        "aroma",
        Some(vec![coalition::store::webhooks::EventType::EntryPosted]),
    );
    let m = api.member("aroma");
    api.earn("aroma", &m, "5");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let error = loop {
        let d = deliveries(&api, "aroma", "");
        if let Some(e) = d.first().and_then(|d| d["last_error"].as_str()) {
            break e.to_owned();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no attempt logged: {d:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(
        error.contains("127.0.0.1") && error.contains("refused"),
        "{error}"
    );
    assert!(
        rx.received().is_empty(),
        "nothing reached the inside address"
    );
}

#[test]
fn events_go_signed_to_every_party_in_order_and_to_nobody_else() {
    let api = Api::start();
    let (aroma_rx, books_rx, threads_rx) = (
        Receiver::start(&[]),
        Receiver::start(&[]),
        Receiver::start(&[]),
    );
    let key = register(&api, "aroma", &aroma_rx, &["entry.posted"])["signing"]["public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    register(&api, "books", &books_rx, &["entry.posted"]);
    register(&api, "threads", &threads_rx, &["entry.posted"]);
    let dana = api.member("aroma");
    let earns: Vec<String> = (1..=3)
        .map(|i| {
            api.earn("aroma", &dana, &format!("{}0", i))["entry_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let got = aroma_rx.wait_delivered(3);
    assert_eq!(entry_ids(&got), earns, "in the order they were posted");
    for r in &got {
        assert_signed(r, &key);
        let body = r.json();
        assert_eq!(body["type"], "entry.posted");
        assert_eq!(body["data"]["kind"], "earn");
        assert!(body["timestamp"].is_string());
    }
    // A redemption of Aroma's points at the bookstore concerns both brands.
    api.link(&dana, "aroma", "books");
    let token = api.member_token("aroma", &dana);
    let code = api.bearer(
        &token,
        "POST",
        "/v1/me/authorizations",
        Some(&json!({ "partner": "books", "unit": "AROMA", "max_points": "10" })),
    );
    assert_eq!(code.status, 201, "{}", code.body);
    let spent = api.post(
        "books",
        "/v1/redemptions",
        &json!({ "member_id": dana, "unit": "AROMA", "points": "10", "reference": "b1",
                 "authorization": code.json()["code"] }),
    );
    assert_eq!(spent.status, 201, "{}", spent.body);
    let redemption = spent.json()["entry_id"].as_str().unwrap().to_owned();
    assert_eq!(entry_ids(&aroma_rx.wait_delivered(4))[3], redemption);
    assert_eq!(
        entry_ids(&books_rx.wait_delivered(1)),
        vec![redemption.clone()]
    );
    // Threads was party to nothing.
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(threads_rx.received().is_empty());
    // The log shows what went where, newest first, without bodies.
    let log = deliveries(&api, "books", "");
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["state"], "delivered");
    assert_eq!(log[0]["entry_id"], redemption.as_str());
    assert_eq!(log[0]["log"][0]["status"], 200);
    assert!(log[0].get("body").is_none());
}

#[test]
fn failures_are_retried_in_order_until_delivered_or_three_days_pass() {
    let api = Api::start();
    // Down, then 500 with Retry-After, then slow past the timeout, then 200.
    let rx = Receiver::start(&[Answer::Drop, Answer::RetryAfter(500, 30), Answer::Slow(12)]);
    register(&api, "aroma", &rx, &["entry.posted"]);
    let m = api.member("aroma");
    let first = api.earn("aroma", &m, "1")["entry_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = api.earn("aroma", &m, "2")["entry_id"]
        .as_str()
        .unwrap()
        .to_owned();
    for n in 1..=3 {
        rx.wait_received(n);
        // Whatever the wait, the next attempt is due once the service's clock passes it.
        wait_for_state(&api, &first, |d| d["attempts"].as_i64() == Some(n as i64));
        // Longer than the longest wait (6 hours and jitter), well inside the three days.
        api.advance_secs(8 * 3_600);
    }
    let got = rx.wait_delivered(2);
    assert_eq!(
        entry_ids(&got),
        vec![first.clone(), second.clone()],
        "the second waited"
    );
    // Every attempt carried the same webhook-id.
    let ids: Vec<_> = rx
        .received()
        .iter()
        .filter(|r| r.json()["data"]["entry_id"] == first.as_str())
        .map(|r| r.header("webhook-id").unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 4);
    assert!(ids.iter().all(|i| i == &ids[0]));
    let d = wait_for_state(&api, &first, |d| d["state"] == "delivered");
    let statuses: Vec<Value> = d["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].clone())
        .collect();
    assert_eq!(
        statuses,
        vec![Value::Null, json!(500), Value::Null, json!(200)]
    );

    // Three days of failures: the event is marked failed and the next one goes.
    rx.then(&[Answer::Status(503); 20]);
    let third = api.earn("aroma", &m, "3")["entry_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let fourth = api.earn("aroma", &m, "4")["entry_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let failed = loop {
        let d = find(&api, &third);
        if d["state"] == "failed" {
            break d;
        }
        assert!(std::time::Instant::now() < deadline, "never failed: {d}");
        api.advance_secs(6 * 3_600);
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert!(failed["attempts"].as_i64().unwrap() >= 3, "{failed}");
    // The fourth gets its own three days: it goes once the receiver is back.
    while rx
        .delivered()
        .iter()
        .all(|r| r.json()["data"]["entry_id"] != fourth.as_str())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the fourth never went"
        );
        api.advance_secs(3_600);
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(find(&api, &fourth)["state"], "delivered");
    // A manual retry sends the failed one again, with the same id.
    let retried = api.post(
        "aroma",
        &format!(
            "/v1/webhooks/deliveries/{}/retry",
            failed["delivery_id"].as_str().unwrap()
        ),
        &json!({}),
    );
    assert_eq!(retried.status, 202, "{}", retried.body);
    wait_for_state(&api, &third, |d| d["state"] == "delivered");
    assert_eq!(
        api.post("aroma", "/v1/webhooks/deliveries/nope/retry", &json!({}))
            .code(),
        "not_found"
    );
    assert_eq!(
        api.post(
            "books",
            &format!(
                "/v1/webhooks/deliveries/{}/retry",
                failed["delivery_id"].as_str().unwrap()
            ),
            &json!({})
        )
        .code(),
        "not_found",
        "another partner's delivery is not found"
    );
}

#[test]
fn gone_disables_the_endpoint_until_it_is_registered_again() {
    let api = Api::start();
    let rx = Receiver::start(&[Answer::Status(410)]);
    register(&api, "aroma", &rx, &["entry.posted"]);
    let m = api.member("aroma");
    let first = api.earn("aroma", &m, "1")["entry_id"]
        .as_str()
        .unwrap()
        .to_owned();
    rx.wait_received(1);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while api.get("aroma", "/v1/webhooks").json()["enabled"] != false {
        assert!(std::time::Instant::now() < deadline, "not disabled");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let view = api.get("aroma", "/v1/webhooks").json();
    assert!(view["disabled_reason"].as_str().unwrap().contains("410"));
    api.earn("aroma", &m, "2");
    api.advance_secs(3_600);
    std::thread::sleep(std::time::Duration::from_millis(700));
    assert_eq!(
        rx.received().len(),
        1,
        "nothing goes to a disabled endpoint"
    );
    // Registered again: the event that met the 410 goes first.
    register(&api, "aroma", &rx, &["entry.posted"]);
    let got = rx.wait_delivered(1);
    assert_eq!(entry_ids(&got), vec![first]);
}

fn find(api: &Api, entry: &str) -> Value {
    deliveries(api, "aroma", "?limit=200")
        .into_iter()
        .find(|d| d["entry_id"] == entry)
        .unwrap_or(Value::Null)
}

fn wait_for_state(api: &Api, entry: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let d = find(api, entry);
        if ok(&d) {
            return d;
        }
        assert!(std::time::Instant::now() < deadline, "never reached: {d}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A request to a `coalition serve` process signed by `key` (the service's clock is the system's).
fn signed_to(
    server: &crate::common::ServeProcess,
    key: &coalition::partners::GeneratedKey,
    method: &str,
    path: &str,
    body: &str,
) -> Resp {
    let url = server.url(path);
    let now = coalition::ledger::clock::Clock::system().now_secs();
    let h = coalition::httpsig::sign_request_with(
        &key.key,
        key.key_id.as_str(),
        method,
        &url,
        Some(body.as_bytes()),
        None,
        now,
    )
    .unwrap();
    let headers = [
        ("signature-input", h.signature_input),
        ("signature", h.signature),
        ("content-digest", h.content_digest.unwrap()),
        ("content-type", "application/json".to_owned()),
    ];
    crate::common::send(method, &url, &headers, Some(body.as_bytes()))
}

#[test]
fn a_sigkill_with_deliveries_pending_loses_none_and_keeps_their_order() {
    use crate::common::{ServeProcess, TempDir, TestDb, demo_partners, free_port};
    let db = TestDb::new();
    let dir = TempDir::new();
    let keys = coalition::partners::copy_with_generated_keys(
        &demo_partners(),
        &dir.path().join("partners"),
        "hooks",
    )
    .unwrap();
    let key = keys
        .into_iter()
        .find(|k| k.partner.as_str() == "aroma")
        .unwrap();
    let port = free_port();
    let start = || {
        ServeProcess::start_with(
            &db.raw_url,
            dir.path(),
            port,
            "error",
            std::process::Stdio::null(),
            &["--allow-private-webhooks"],
        )
    };
    // The receiver fails the first attempt: everything stays queued behind it.
    let rx = Receiver::start(&[Answer::Status(500)]);
    let mut server = start();
    let r = signed_to(
        &server,
        &key,
        "PUT",
        "/v1/webhooks",
        &json!({ "url": rx.url(), "events": ["entry.posted"] }).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let enrolled = server.post(
        &key,
        "/v1/members",
        &json!({ "external_id": "k9" }).to_string(),
        "k9",
    );
    let member = enrolled.json()["member_id"].as_str().unwrap().to_owned();
    let mut posted = Vec::new();
    for i in 1..=5 {
        let body =
            json!({ "member_id": member, "points": i.to_string(), "reference": format!("k{i}") });
        let r = server.post(&key, "/v1/earn", &body.to_string(), &format!("earn-{i}"));
        assert_eq!(r.status, 201, "{}", r.body);
        posted.push(r.json()["entry_id"].as_str().unwrap().to_owned());
    }
    // The first attempt was answered 500; the rest wait their turn. Kill without warning.
    rx.wait_received(1);
    let _ = server.child.kill();
    let _ = server.child.wait();
    server = start();
    // After the restart every event arrives (at least once), in the order it was posted.
    let got = rx.wait_delivered(5);
    let mut firsts: Vec<String> = Vec::new();
    for id in entry_ids(&got) {
        if !firsts.contains(&id) {
            firsts.push(id);
        }
    }
    // The member's enrolment posted no entry: the events are the five earns.
    assert_eq!(firsts, posted);
    drop(server);
}

#[test]
fn a_tier_change_goes_to_the_linked_brands_the_member_shares_a_profile_with() {
    let api = Api::start();
    let (aroma_rx, books_rx, fuel_rx) = (
        Receiver::start(&[]),
        Receiver::start(&[]),
        Receiver::start(&[]),
    );
    register(&api, "aroma", &aroma_rx, &["tier.changed"]);
    register(&api, "books", &books_rx, &["tier.changed"]);
    register(&api, "fuelup", &fuel_rx, &["tier.changed"]);
    let enrol = |share: bool| {
        let r = api.post(
            "aroma",
            "/v1/members",
            &json!({ "external_id": uuid::Uuid::new_v4().to_string(),
                "consent": { "share_balances": false, "share_profile": share } }),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let m = r.json()["member_id"].as_str().unwrap().to_owned();
        api.link(&m, "aroma", "books");
        m
    };
    let (sharing, private) = (enrol(true), enrol(false));
    for m in [&private, &sharing] {
        let r = api.post(
            "books",
            "/v1/earn",
            &json!({ "member_id": m, "purchase": { "amount": "2100.00", "currency": "ILS" },
                     "reference": "gold" }),
        );
        assert_eq!(r.status, 201, "{}", r.body);
    }
    for rx in [&aroma_rx, &books_rx] {
        let got = rx.wait_delivered(1);
        let body = got[0].json();
        assert_eq!(body["type"], "tier.changed");
        assert_eq!(body["data"]["member_id"], sharing.as_str());
        assert_eq!(body["data"]["tier"], "Gold");
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(
        aroma_rx.received().len(),
        1,
        "nothing of the member who does not share"
    );
    assert_eq!(books_rx.received().len(), 1);
    assert!(fuel_rx.received().is_empty(), "not linked: nothing");
}

#[test]
fn the_console_shows_each_endpoint_and_how_its_deliveries_stand() {
    use crate::common::pages::{browse, signed_in};
    use coalition::clearing::tokens::Role;
    let api = Api::start();
    let gone = Receiver::start(&[Answer::Status(410)]);
    let failing = Receiver::start(&[Answer::Status(500); 50]);
    register(&api, "aroma", &gone, &["entry.posted"]);
    register(&api, "books", &failing, &["entry.posted"]);
    let a = api.member("aroma");
    api.earn("aroma", &a, "5");
    let b = api.member("books");
    api.earn("books", &b, "5");
    gone.wait_received(1);
    failing.wait_received(1);
    wait_for(|| api.get("aroma", "/v1/webhooks").json()["enabled"] == false);
    let (cookie, _) = signed_in(&api, &api.finance_token(Role::Operator, None));
    let page = browse(
        &api,
        "GET",
        "/console/webhooks",
        &[("cookie", cookie)],
        None,
    );
    assert_eq!(page.status, 200, "{}", page.body);
    let row = |partner: &str| {
        page.body
            .split("<tr>")
            .find(|r| r.starts_with(&format!("<td>{partner}</td>")))
            .unwrap_or_else(|| panic!("no row for {partner}: {}", page.body))
            .to_owned()
    };
    assert!(
        row("aroma").contains("disabled") && row("aroma").contains("410"),
        "{}",
        row("aroma")
    );
    assert!(row("books").contains(&failing.url()), "{}", row("books"));
    assert!(
        row("books").contains("<td class=\"num\">1</td>"),
        "one pending: {}",
        row("books")
    );
    // A partner's finance user sees its own endpoint only.
    let (own, _) = signed_in(&api, &api.finance_token(Role::Finance, Some("books")));
    let theirs = browse(
        &api,
        "GET",
        "/console/webhooks?lang=he",
        &[("cookie", own)],
        None,
    );
    assert!(theirs.body.contains("<td>books</td>"), "{}", theirs.body);
    assert!(!theirs.body.contains("<td>aroma</td>"), "{}", theirs.body);
    assert!(theirs.body.contains("dir=\"rtl\""));
}

fn wait_for(ok: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !ok() {
        assert!(std::time::Instant::now() < deadline, "never happened");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// What delivery, the log and the console read of the outbox is read by key, however many
/// events there are (the plans checked on both databases, as for the profile).
#[test]
fn outbox_reads_are_by_key() {
    use crate::profile_http::{assert_by_key, statements_of};
    use coalition::store::webhooks::{self, EventState};
    use diesel::connection::SimpleConnection;
    let api = Api::start();
    let rx = Receiver::start(&[]);
    register(&api, "aroma", &rx, &["entry.posted"]);
    let m = api.member("aroma");
    api.earn("aroma", &m, "5");
    rx.wait_delivered(1);
    let postgres = api.svc.db.is_postgres();
    let mut conn = api.svc.db.raw();
    if postgres {
        conn.batch_execute(
            "INSERT INTO webhook_events (seq, id, partner_id, event_type, created_at_us, \
               queued_at_us, state, next_attempt_us) \
             SELECT 1000 + g, 'e' || g, 'p' || (g % 40), 'entry.posted', g, g, \
               CASE WHEN g % 97 = 0 THEN 'pending' WHEN g % 89 = 0 THEN 'failed' ELSE 'delivered' END, g \
               FROM generate_series(1, 40000) g; \
             INSERT INTO webhook_attempts SELECT 1000 + g, 1, g, 1, 200, NULL \
               FROM generate_series(1, 40000) g; \
             ANALYZE;",
        )
        .unwrap();
    }
    let statements = statements_of(&mut conn, |c| {
        webhooks::head(c, "aroma").unwrap();
        webhooks::page(c, "aroma", None, Some(5_000), 50).unwrap();
        webhooks::page(c, "aroma", Some(EventState::Failed), None, 5).unwrap();
        webhooks::tally(c, "aroma").unwrap();
    });
    // Left out: `attempts_of` reads by `event_seq = ANY(...)`, the primary key's first column
    // (the helper cannot write an array bind as a literal); endpoints are one row per partner,
    // read by primary key (PostgreSQL rightly scans a table that small).
    assert_eq!(statements.len(), 5, "{statements:#?}");
    assert_by_key(&mut conn, &statements, postgres);
}
