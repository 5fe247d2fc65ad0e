//! A crash mid-load: many clients post earns with their own idempotency keys, the server is
//! killed with SIGKILL and restarted, and the clients retry with the same keys until answered.
//! Afterwards every key maps to exactly one entry, balances equal what was acknowledged, and
//! `coalition verify` passes.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use coalition::partners::GeneratedKey;
use serde_json::json;

use crate::common::{ServeProcess, TempDir, TestDb, demo_partners, free_port};

const CLIENTS: usize = 8;
const EARNS_PER_CLIENT: usize = 40;

fn start(db: &TestDb, dir: &TempDir, port: u16) -> ServeProcess {
    ServeProcess::start(&db.raw_url, dir.path(), port, "error", Stdio::null())
}

/// Posts one signed earn; `None` when the server did not answer (down, restarting).
fn earn(
    port: u16,
    key: &GeneratedKey,
    member: &str,
    points: usize,
    idem: &str,
) -> Option<(u16, String)> {
    let url = format!("http://127.0.0.1:{port}/v1/earn");
    let body =
        json!({ "member_id": member, "points": points.to_string(), "reference": idem }).to_string();
    let now = coalition::ledger::clock::Clock::system().now_secs();
    let h = coalition::httpsig::sign_request_with(
        &key.key,
        key.key_id.as_str(),
        "POST",
        &url,
        Some(body.as_bytes()),
        Some(idem),
        now,
    )
    .ok()?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    let request = ureq::http::Request::builder()
        .method("POST")
        .uri(&url)
        .header("signature-input", h.signature_input)
        .header("signature", h.signature)
        .header("content-digest", h.content_digest?)
        .header("idempotency-key", idem)
        .header("content-type", "application/json")
        .body(body.into_bytes())
        .ok()?;
    let mut r = agent.run(request).ok()?;
    let status = r.status().as_u16();
    Some((status, r.body_mut().read_to_string().ok()?))
}

#[test]
fn a_sigkill_mid_load_loses_nothing_acknowledged_and_posts_nothing_twice() {
    let db = TestDb::new();
    let dir = TempDir::new();
    let keys = coalition::partners::copy_with_generated_keys(
        &demo_partners(),
        &dir.path().join("partners"),
        "crash",
    )
    .unwrap();
    let key = Arc::new(
        keys.into_iter()
            .find(|k| k.partner.as_str() == "aroma")
            .unwrap(),
    );
    let port = free_port();
    let mut server = start(&db, &dir, port);

    // One member, enrolled before the load.
    let enrolled = server.post(
        &key,
        "/v1/members",
        &json!({ "external_id": "crash-member" }).to_string(),
        "enrol",
    );
    let member = Arc::new(enrolled.json()["member_id"].as_str().unwrap().to_owned());

    let answered = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (key, member, answered) = (key.clone(), member.clone(), answered.clone());
            std::thread::spawn(move || {
                let mut acknowledged = 0usize;
                for i in 0..EARNS_PER_CLIENT {
                    let idem = format!("crash-{c}-{i}");
                    let points = 1 + (c * EARNS_PER_CLIENT + i) % 7;
                    let deadline = Instant::now() + Duration::from_secs(120);
                    loop {
                        match earn(port, &key, &member, points, &idem) {
                            Some((201, _)) => break,
                            Some((503, _)) | None => {}
                            Some((status, body)) => panic!("{idem}: {status} {body}"),
                        }
                        assert!(Instant::now() < deadline, "{idem} was never answered");
                        std::thread::sleep(Duration::from_millis(25));
                    }
                    acknowledged += points;
                    answered.fetch_add(1, Ordering::SeqCst);
                }
                acknowledged
            })
        })
        .collect();

    // Kill the server in the middle of the load, without warning, and start it again.
    let total = CLIENTS * EARNS_PER_CLIENT;
    let deadline = Instant::now() + Duration::from_secs(60);
    while answered.load(Ordering::SeqCst) < total / 3 {
        assert!(Instant::now() < deadline, "the load never got going");
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = server.child.kill();
    let at_kill = answered.load(Ordering::SeqCst);
    assert!(
        at_kill < total,
        "the kill came after the load ({at_kill} of {total})"
    );
    let _ = server.child.wait();
    std::thread::sleep(Duration::from_millis(200));
    server = start(&db, &dir, port);

    let acknowledged: usize = clients.into_iter().map(|c| c.join().unwrap()).sum();
    drop(server);

    // Every key maps to exactly one entry, and the balance is what was acknowledged.
    let mut conn = db.raw();
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    use diesel::RunQueryDsl;
    let count = |sql: &str, conn: &mut coalition::store::DbConn| -> i64 {
        diesel::sql_query(sql).load::<Count>(conn).unwrap()[0].n
    };
    let total = total as i64;
    assert_eq!(
        count(
            "SELECT COUNT(*) AS n FROM entries WHERE kind = 'earn'",
            &mut conn
        ),
        total
    );
    assert_eq!(
        count(
            "SELECT COUNT(DISTINCT reference) AS n FROM entries WHERE kind = 'earn'",
            &mut conn
        ),
        total
    );
    let balance = count(
        &format!("SELECT -balance_minor AS n FROM accounts WHERE name = 'member:{member}:AROMA'"),
        &mut conn,
    );
    assert_eq!(balance, acknowledged as i64);
    let out = Command::new(env!("CARGO_BIN_EXE_coalition"))
        .args(["verify", "--database", &db.raw_url])
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
