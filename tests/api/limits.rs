//! Limits: per-partner rate limiting, revoked keys, graceful shutdown.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use coalition::api::ServerOptions;
use serde_json::json;

use crate::common::{Api, TempDir, TestDb, demo_partners, send};

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

#[test]
fn sigterm_lets_in_flight_requests_finish() {
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
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_coalition"))
        .args([
            "serve",
            "--database",
            &db.raw_url,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .arg("--partners")
        .arg(dir.path().join("partners"))
        .arg("--network-key")
        .arg(dir.path().join("network.pem"))
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while ureq::get(&format!("{base}/readyz")).call().is_err() {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    let signed = |path: &str, body: &str, idem: &str| {
        let url = format!("{base}{path}");
        let h = coalition::httpsig::sign_request_with(
            &key.key,
            key.key_id.as_str(),
            "POST",
            &url,
            Some(body.as_bytes()),
            Some(idem),
            coalition::clearing::time::now_secs(),
        )
        .unwrap();
        send(
            "POST",
            &url,
            &[
                ("signature-input", h.signature_input),
                ("signature", h.signature),
                ("content-digest", h.content_digest.unwrap()),
                ("idempotency-key", idem.into()),
            ],
            Some(body.as_bytes()),
        )
    };
    let member = signed(
        "/v1/members",
        &json!({ "external_id": "t" }).to_string(),
        "m",
    )
    .json()["member_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Requests racing the signal: each either completes (and is durable) or is never answered.
    let answered: Vec<u16> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..16)
            .map(|i| {
                let (member, signed) = (&member, &signed);
                s.spawn(move || {
                    let body = json!({ "member_id": member, "points": "1", "reference": format!("t-{i}") }).to_string();
                    let agent_result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| signed("/v1/earn", &body, &format!("t-{i}"))));
                    agent_result.map(|r| r.status).unwrap_or(0)
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(5));
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let status = child.wait().unwrap();
    assert!(status.success(), "serve exits cleanly on SIGTERM: {status}");
    let ok = answered.iter().filter(|s| **s == 201).count() as i64;
    assert!(
        answered.iter().all(|s| *s == 201 || *s == 0 || *s == 503),
        "{answered:?}"
    );
    // Everything answered 201 is on disk.
    let mut conn = db.raw();
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    use diesel::RunQueryDsl;
    let n = diesel::sql_query("SELECT COUNT(*) AS n FROM entries")
        .load::<N>(&mut conn)
        .unwrap()[0]
        .n;
    assert!(n >= ok, "{n} entries on disk, {ok} acknowledged");
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
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = dir.path().join("serve.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_coalition"))
        .args([
            "serve",
            "--database",
            &db.raw_url,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .arg("--partners")
        .arg(dir.path().join("partners"))
        .arg("--network-key")
        .arg(dir.path().join("network.pem"))
        .env("RUST_LOG", "trace")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while ureq::get(&format!("{base}/readyz")).call().is_err() {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    let url = format!("{base}/v1/members");
    let body = json!({ "external_id": "private-person" }).to_string();
    let h = coalition::httpsig::sign_request_with(
        &key.key,
        key.key_id.as_str(),
        "POST",
        &url,
        Some(body.as_bytes()),
        Some("log-1"),
        coalition::clearing::time::now_secs(),
    )
    .unwrap();
    let signature = h.signature.clone();
    let r = send(
        "POST",
        &url,
        &[
            ("signature-input", h.signature_input),
            ("signature", h.signature),
            ("content-digest", h.content_digest.unwrap()),
            ("idempotency-key", "log-1".into()),
        ],
        Some(body.as_bytes()),
    );
    let member = r.json()["member_id"].as_str().unwrap().to_owned();
    let url = format!("{base}/v1/members/{member}/tokens");
    let h = coalition::httpsig::sign_request_with(
        &key.key,
        key.key_id.as_str(),
        "POST",
        &url,
        Some(b"{}"),
        Some("log-2"),
        coalition::clearing::time::now_secs(),
    )
    .unwrap();
    let token = send(
        "POST",
        &url,
        &[
            ("signature-input", h.signature_input),
            ("signature", h.signature),
            ("content-digest", h.content_digest.unwrap()),
            ("idempotency-key", "log-2".into()),
        ],
        Some(b"{}"),
    )
    .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let wallet = send(
        "GET",
        &format!("{base}/v1/me/wallet"),
        &[("authorization", format!("Bearer {token}"))],
        None,
    );
    assert_eq!(wallet.status, 200);
    let _ = child.kill();
    let _ = child.wait();
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("request"),
        "the requests were logged:\n{logged}"
    );
    let sig_value = signature.trim_start_matches("sig1=:").trim_end_matches(':');
    for secret in [sig_value, token.as_str(), "private-person"] {
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
