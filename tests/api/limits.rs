//! Limits: per-partner rate limiting, revoked keys, graceful shutdown.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use coalition::api::ServerOptions;
use serde_json::json;

use crate::common::{Api, ServeProcess, TempDir, TestDb, demo_partners, free_port, send};

#[test]
fn a_partner_over_its_rate_gets_429_with_retry_after() {
    let api = Api::with(
        coalition::clearing::DEFAULT_HOLD_TTL_SECS,
        ServerOptions {
            rate_per_sec: 5,
            ..ServerOptions::default()
        },
        |_| {},
    );
    let statuses: Vec<crate::common::Resp> = (0..15)
        .map(|_| api.get("aroma", "/v1/entries?limit=1"))
        .collect();
    let limited: Vec<&crate::common::Resp> = statuses.iter().filter(|r| r.status == 429).collect();
    assert!(
        !limited.is_empty() && limited.len() <= 5,
        "burst of 10 then 429: {:?}",
        statuses.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(limited[0].code(), "rate_limited");
    assert!(
        limited[0]
            .header("retry-after")
            .is_some_and(|v| v.parse::<u64>().is_ok_and(|s| s >= 1))
    );
    // Other partners have their own budget.
    assert_eq!(api.get("books", "/v1/entries?limit=1").status, 200);
}

#[test]
fn a_revoked_key_signs_nothing() {
    let api = Api::with(
        coalition::clearing::DEFAULT_HOLD_TTL_SECS,
        ServerOptions::default(),
        |dir| {
            let path = dir.join("books.toml");
            let text = std::fs::read_to_string(&path).unwrap();
            std::fs::write(
                &path,
                text.replacen("[[keys]]", "[[keys]]\nrevoked = true", 1),
            )
            .unwrap();
        },
    );
    let r = api.post("books", "/v1/members", &json!({ "external_id": "x" }));
    assert_eq!(
        (r.status, r.code().as_str()),
        (401, "unknown_key"),
        "{}",
        r.body
    );
    assert_eq!(
        api.post("aroma", "/v1/members", &json!({ "external_id": "x" }))
            .status,
        201
    );
}

/// Reads one response head (status line and headers) from `s`, byte by byte so that nothing
/// after it is consumed; returns its status.
fn read_head(s: &mut TcpStream) -> u16 {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = s.read(&mut byte).unwrap();
        assert_eq!(
            n,
            1,
            "the connection closed after {:?}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head);
    text.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("{text}"))
}

/// Requests the server had started on when it was told to stop are all answered 201 and durable.
/// "Started on" is observed, not guessed: each request asks `Expect: 100-continue` and sends its
/// body only after the server read its head and asked for the body. SIGTERM comes next, and the
/// bodies only once the server has stopped listening (a new connection is refused), so every
/// request is in flight across the shutdown.
#[test]
fn sigterm_lets_in_flight_requests_finish() {
    const IN_FLIGHT: usize = 6;
    let db = TestDb::new();
    let dir = TempDir::new();
    let keys = coalition::partners::copy_with_generated_keys(
        &demo_partners(),
        &dir.path().join("partners"),
        "term",
    )
    .unwrap();
    let key = keys
        .into_iter()
        .find(|k| k.partner.as_str() == "aroma")
        .unwrap();
    let port = free_port();
    let mut server = ServeProcess::start(&db.raw_url, dir.path(), port, "error", Stdio::null());
    let enrolled = server.post(
        &key,
        "/v1/members",
        &json!({ "external_id": "t" }).to_string(),
        "m",
    );
    let member = enrolled.json()["member_id"].as_str().unwrap().to_owned();
    let mut in_flight = Vec::new();
    for i in 0..IN_FLIGHT {
        let body = json!({ "member_id": member, "points": "1", "reference": format!("t-{i}") })
            .to_string();
        // The signed headers (Content-Type among them), one line each.
        let signature: String = server
            .signed_post_headers(&key, "/v1/earn", &body, &format!("t-{i}"))
            .iter()
            .map(|(name, value)| format!("{name}: {value}\r\n"))
            .collect();
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        // A bound on a hung server, not a timing assumption: nothing here waits on a clock.
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let head = format!(
            "POST /v1/earn HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\n\
             Expect: 100-continue\r\n{signature}\r\n",
            body.len(),
        );
        s.write_all(head.as_bytes()).unwrap();
        assert_eq!(
            read_head(&mut s),
            100,
            "the server read request {i} and wants its body"
        );
        in_flight.push((s, body));
    }
    Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    // Bounded wait for the server to take the signal: it stops listening.
    let mut refused = false;
    for _ in 0..3000 {
        if TcpStream::connect(("127.0.0.1", port)).is_err() {
            refused = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        refused,
        "the server still accepts connections after SIGTERM"
    );
    let answered: Vec<u16> = in_flight
        .iter_mut()
        .map(|(s, body)| {
            s.write_all(body.as_bytes()).unwrap();
            read_head(s)
        })
        .collect();
    assert_eq!(
        answered, [201; IN_FLIGHT],
        "every in-flight request completes"
    );
    let status = server.child.wait().unwrap();
    assert!(status.success(), "serve exits cleanly on SIGTERM: {status}");
    // Everything answered is on disk, exactly once.
    let mut conn = db.raw();
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    use diesel::RunQueryDsl;
    let n = diesel::sql_query("SELECT COUNT(*) AS n FROM entries WHERE kind = 'earn'")
        .load::<N>(&mut conn)
        .unwrap()[0]
        .n;
    assert_eq!(
        n, IN_FLIGHT as i64,
        "{n} earns on disk, {IN_FLIGHT} acknowledged"
    );
}

#[test]
fn secrets_never_reach_the_logs() {
    let db = TestDb::new();
    let dir = TempDir::new();
    let keys = coalition::partners::copy_with_generated_keys(
        &demo_partners(),
        &dir.path().join("partners"),
        "log",
    )
    .unwrap();
    let key = keys
        .into_iter()
        .find(|k| k.partner.as_str() == "aroma")
        .unwrap();
    let log = dir.path().join("serve.log");
    let log_file = std::fs::File::create(&log).unwrap();
    let server = ServeProcess::start(
        &db.raw_url,
        dir.path(),
        free_port(),
        "trace",
        Stdio::from(log_file),
    );
    let enrol = json!({ "external_id": "private-person" }).to_string();
    let member = server.post(&key, "/v1/members", &enrol, "log-1").json()["member_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let minted = server.post(&key, &format!("/v1/members/{member}/tokens"), "{}", "log-2");
    let token = minted.json()["token"].as_str().unwrap().to_owned();
    let wallet = send(
        "GET",
        &server.url("/v1/me/wallet"),
        &[("authorization", format!("Bearer {token}"))],
        None,
    );
    assert_eq!(wallet.status, 200);
    drop(server);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("request"),
        "the requests were logged:\n{logged}"
    );
    // No signature value (they are all `sig1=:...:` here), token or member data.
    for secret in ["sig1=:", token.as_str(), "private-person"] {
        assert!(
            !logged.contains(secret),
            "a secret reached the log: {secret}"
        );
    }
    let private_key = std::fs::read_to_string(dir.path().join("network.pem")).unwrap();
    let body_line = private_key.lines().nth(1).unwrap();
    assert!(
        !logged.contains(body_line),
        "the network key reached the log"
    );
}
