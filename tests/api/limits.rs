//! Limits: per-partner rate limiting, revoked keys, graceful shutdown.

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
    let mut server =
        ServeProcess::start(&db.raw_url, dir.path(), free_port(), "error", Stdio::null());
    let signed = |path: &str, body: &str, idem: &str| server.post(&key, path, body, idem);
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
            .args(["-TERM", &server.child.id().to_string()])
            .status()
            .unwrap();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let status = server.child.wait().unwrap();
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
