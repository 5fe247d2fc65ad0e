//! The `coalition` binary itself: serve, verify, keygen and demo.

use std::io::Read;
use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use coalition::api::public::NetworkView;
use coalition::crypto::{PublicKey, SigningKey};
use coalition::ledger::{EntryKind, EntryMeta, MemberId};
use diesel::RunQueryDsl;

use crate::common::{TempDir, TestDb, TestService, demo_partners};

fn coalition() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coalition"));
    cmd.env_remove("COALITION_DATABASE_URL")
        .env_remove("COALITION_PARTNERS")
        .env("RUST_LOG", "warn");
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Kills the server when the test ends, pass or fail.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn serve_lists_the_network() {
    let db = TestDb::new();
    let dir = TempDir::new();
    let port = free_port();
    let mut server = Server(
        coalition()
            .args([
                "serve",
                "--database",
                &db.raw_url,
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .arg("--partners")
            .arg(demo_partners())
            .arg("--network-key")
            .arg(dir.path().join("key.pem"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if ureq::get(&format!("{base}/readyz")).call().is_ok() {
            break;
        }
        if let Some(status) = server.0.try_wait().unwrap() {
            let mut err = String::new();
            server
                .0
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("serve exited with {status}: {err}");
        }
        assert!(Instant::now() < deadline, "serve did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    let net: NetworkView = ureq::get(&format!("{base}/v1/network"))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    let mut units: Vec<(String, String)> = net
        .units
        .iter()
        .map(|u| (u.code.clone(), u.issuer.clone()))
        .collect();
    units.sort();
    assert_eq!(
        units,
        [
            ("AROMA", "aroma"),
            ("COAL", "network"),
            ("FUEL", "fuelup"),
            ("PAGES", "books"),
            ("STYLE", "threads")
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert_eq!(net.partners.len(), 5);

    // `token --login` prints a sign-in link to this server's console that works once.
    let out = run(coalition()
        .args(["token", "--role", "finance", "--login", "--url", &base])
        .arg("--partners")
        .arg(demo_partners())
        .arg("--network-key")
        .arg(dir.path().join("key.pem")));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let link = text(&out.stdout).trim().to_owned();
    assert!(
        link.starts_with(&format!("{base}/console/login?token=")),
        "{link}"
    );
    let first = crate::common::send_unfollowed("GET", &link, &[], None);
    assert_eq!(first.status, 303, "{}", first.body);
    assert_eq!(first.header("location").as_deref(), Some("/console"));
    let again = crate::common::send_unfollowed("GET", &link, &[], None);
    assert_eq!(again.status, 401, "a sign-in link works once");
}

#[test]
fn verify_passes_on_a_fresh_database() {
    let db = TestDb::new();
    let out = run(coalition().args(["verify", "--database", &db.raw_url]));
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    for check in [
        "hash_chain",
        "entries_balance",
        "balances_match_postings",
        "trial_balance_zero",
        "no_negative_member_balance",
        "points_backed_by_issuer",
        "coupon_reservations_backed",
        "settlements_net_to_zero",
    ] {
        assert!(
            stdout.contains(&format!("ok   {check}")),
            "{check} missing from:\n{stdout}"
        );
    }
}

/// A ledger with a few entries written by the service, then closed.
fn ledger_with_entries() -> TestService {
    let svc = TestService::start();
    let member = MemberId::random();
    let pts =
        |n| coalition::ledger::Amount::from_minor(n, coalition::ledger::Scale::new(0).unwrap());
    svc.block_on(async {
        let c = &svc.clearing;
        let meta = || EntryMeta {
            reference: Some("pos-1".into()),
            ..EntryMeta::new(EntryKind::Earn)
        };
        c.post_earn(&"aroma".parse().unwrap(), member, None, pts(80), meta())
            .await
            .unwrap();
        c.post_redemption(
            &"books".parse().unwrap(),
            member,
            "AROMA".parse().unwrap(),
            pts(50),
            meta(),
        )
        .await
        .unwrap();
        c.post_earn(
            &"books".parse().unwrap(),
            member,
            Some("COAL".parse().unwrap()),
            pts(10),
            meta(),
        )
        .await
        .unwrap();
    });
    svc.clearing.shutdown();
    svc
}

fn verify_output(db: &TestDb) -> (bool, String) {
    let out = run(coalition().args(["verify", "--database", &db.raw_url]));
    (out.status.success(), text(&out.stdout))
}

/// Runs SQL that bypasses the append-only guard, as someone with database access could.
fn tamper(db: &TestDb, table: &str, update: &str) {
    let mut conn = db.raw();
    // The guard holds against a plain UPDATE.
    assert!(
        diesel::sql_query(update).execute(&mut conn).is_err(),
        "{table} accepted an UPDATE"
    );
    let disable = if db.is_postgres() {
        format!("ALTER TABLE {table} DISABLE TRIGGER {table}_append_only")
    } else {
        format!("DROP TRIGGER {table}_append_only_update")
    };
    diesel::sql_query(disable).execute(&mut conn).unwrap();
    assert_eq!(diesel::sql_query(update).execute(&mut conn).unwrap(), 1);
}

#[test]
fn verify_detects_a_tampered_amount() {
    let svc = ledger_with_entries();
    assert!(verify_output(&svc.db).0, "the untouched ledger verifies");
    tamper(
        &svc.db,
        "postings",
        "UPDATE postings SET amount_minor = amount_minor + 1 WHERE entry_seq = 2 AND line = 0",
    );
    let (ok, stdout) = verify_output(&svc.db);
    assert!(!ok, "verify must exit non-zero:\n{stdout}");
    assert!(stdout.contains("FAIL hash_chain"), "{stdout}");
    assert!(stdout.contains("FAIL entries_balance"), "{stdout}");
    assert!(stdout.contains("FAIL balances_match_postings"), "{stdout}");
}

#[test]
fn verify_detects_a_tampered_reference() {
    let svc = ledger_with_entries();
    tamper(
        &svc.db,
        "entries",
        "UPDATE entries SET reference = 'pos-2' WHERE seq = 1",
    );
    let (ok, stdout) = verify_output(&svc.db);
    assert!(!ok, "{stdout}");
    assert!(stdout.contains("FAIL hash_chain"), "{stdout}");
    // Nothing else is off: only the hash gives the change away.
    assert!(stdout.contains("ok   entries_balance"), "{stdout}");
}

#[test]
fn keygen_writes_a_key_pair() {
    let dir = TempDir::new();
    let prefix = dir.path().join("aroma-2027");
    let out = run(coalition().arg("keygen").arg("--out").arg(&prefix));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let private = std::fs::read_to_string(dir.path().join("aroma-2027.pem")).unwrap();
    let public = std::fs::read_to_string(dir.path().join("aroma-2027.pub.pem")).unwrap();
    let key = SigningKey::from_pem(&private).unwrap();
    assert_eq!(PublicKey::from_pem(&public).unwrap(), key.public_key());
    // Standard output is the manifest block alone, naming the key as the docs do, so that
    // `>> partners/aroma.toml` appends it as it is.
    let printed = text(&out.stdout);
    let block: toml::Value = toml::from_str(&printed).unwrap_or_else(|e| panic!("{e}: {printed}"));
    let keys = block["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{printed}");
    assert_eq!(keys[0]["id"].as_str(), Some("aroma-2027"));
    assert_eq!(
        keys[0]["public_key"].as_str().map(str::trim),
        Some(public.trim())
    );
    assert!(
        text(&out.stderr).contains("wrote "),
        "the note goes to stderr"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("aroma-2027.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A second run must not overwrite a key.
    let again = run(coalition().arg("keygen").arg("--out").arg(&prefix));
    assert!(!again.status.success());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("aroma-2027.pem")).unwrap(),
        private
    );
}

#[test]
fn demo_runs_to_the_end() {
    let out = run(coalition()
        .arg("demo")
        .arg("--partners")
        .arg(demo_partners()));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    for step in [
        "receipt JWS verifies against the JWKS: true",
        "same entry true (Idempotent-Replayed: true)",
        "422 insufficient_balance",
        "403 authorization_required",
        "11 more would pass the 60 she allowed: 403 authorization_required",
        "The same code again: 422 coupon_not_redeemable",
        "ok   coupon_reservations_backed",
        "Statement-Signature verifies: true",
        "the settlement is settled.",
        "ok   settlements_net_to_zero",
        "ok   hash_chain",
        "quote equals earn: true",
        "GET /v1/me/tier: Club+",
        "member-accrual",
        "ok   earns_owe_the_issuer",
        "ok   subscriptions_are_fees",
        "15 AROMA by rule review-thanks, then nothing (once a day)",
        "Noa in it: true; Dana (bought at the bookstore) in it: false",
        "She shows it at the bookstore (no link needed): 15.00 off",
        "Aroma pays the bookstore 15.00 at settlement",
        "comes (fulfilled), and earns 50 PAGES for attending",
        "overlap books <10",
        "ok   reward_claims_are_redemptions",
        "every v1a signature verifies against the JWKS key: true",
        "Her wallet: 20 STYLE expire at",
        "threads  STYLE  outstanding    20",
        "ok   expiries_release_liability",
        "ok   lots_add_up_to_balances",
        "ok   liability_days_match_the_journal",
    ] {
        assert!(stdout.contains(step), "missing {step:?} in:\n{stdout}");
    }
    assert!(!stdout.contains("FAIL"), "{stdout}");
    assert!(
        stdout
            .trim_end()
            .ends_with("`cargo run --release -- serve`."),
        "{stdout}"
    );
}

#[test]
fn sign_prints_headers_the_server_accepts() {
    let api = crate::common::Api::start();
    let dir = TempDir::new();
    let k = api.key("aroma");
    let key_file = dir.path().join("aroma.pem");
    std::fs::write(&key_file, k.key.to_pem()).unwrap();
    let url = api.url("/v1/members");
    let body = r#"{"external_id":"curl-user-1"}"#;
    let out = run(coalition().arg("sign").arg("--key").arg(&key_file).args([
        "--keyid",
        k.key_id.as_str(),
        "-X",
        "POST",
        &url,
        "-d",
        body,
        "--idempotency-key",
        "curl-1",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    let headers: Vec<(&str, String)> = printed
        .lines()
        .map(|l| {
            let (n, v) = l.split_once(": ").unwrap();
            (
                match n {
                    "Content-Type" => "content-type",
                    "Idempotency-Key" => "idempotency-key",
                    "Content-Digest" => "content-digest",
                    "Signature-Input" => "signature-input",
                    "Signature" => "signature",
                    other => panic!("unexpected header {other}"),
                },
                v.to_owned(),
            )
        })
        .collect();
    assert_eq!(headers.len(), 5, "{printed}");
    assert!(
        headers.contains(&("content-type", "application/json".to_owned())),
        "{printed}"
    );
    let r = crate::common::send("POST", &url, &headers, Some(body.as_bytes()));
    assert_eq!(r.status, 201, "{}", r.body);
    // The entry-less enrolment aside, the ledger records who signed each entry.
    let member = r.json()["member_id"].as_str().unwrap().to_owned();
    let earned = api.earn("aroma", &member, "5");
    let id = earned["entry_id"].as_str().unwrap().parse().unwrap();
    let entry = api
        .svc
        .block_on(api.svc.clearing.entry(id))
        .unwrap()
        .unwrap();
    assert_eq!(
        entry.meta.key_id.as_ref().map(|k| k.to_string()),
        Some(k.key_id.to_string())
    );
    assert!(
        entry
            .meta
            .signature
            .as_deref()
            .is_some_and(|s| s.starts_with("sig1=:"))
    );
}

/// `coalition bench` end to end, briefly: its load generator drives the real server over signed
/// HTTP, every success is one entry and the ledger verifies (the bench checks both itself and
/// fails otherwise). Timings are not asserted.
#[test]
fn bench_counts_every_success_as_an_entry() {
    let mut cmd = coalition();
    cmd.args([
        "bench",
        "--duration",
        "2",
        "--concurrency",
        "6",
        "--members",
        "20",
        "--json",
        "--partners",
    ])
    .arg(demo_partners());
    let server = std::env::var(crate::common::BACKEND_ENV)
        .ok()
        .filter(|v| !v.is_empty());
    if let Some(url) = &server {
        // The bench makes (and drops) a database of its own on this server.
        cmd.args(["--database", url]);
    }
    let out = run(&mut cmd);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let expected_backend = if server.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(r["backend"], expected_backend, "{r}");
    assert_eq!(r["verified"], true, "{r}");
    assert_eq!(r["errors"], 0, "{r}");
    assert!(r["requests"].as_u64().unwrap() > 0, "{r}");
    assert_eq!(r["entries"], r["requests"], "{r}");
}
