//! `coalition bench`: the service as a separate process on a fresh database, driven over real
//! HTTP by signed earns and authorised cross-brand redemptions from this process; then the
//! database is checked against what the load generator counted, and `verify` runs.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::partners::GeneratedKey;
use crate::store::DatabaseUrl;
use anyhow::{Context, Result, bail};
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::{Value, json};

use super::bench_client::RawClient;

/// How many points each member starts with: enough for any run's redemptions.
const STARTING_POINTS: u64 = 1_000_000;

pub struct Options {
    pub database: Option<String>,
    pub partners: PathBuf,
    pub duration_secs: u64,
    pub concurrency: usize,
    pub members: usize,
    pub json: bool,
    /// Earns with a five-line basket against ten rules of Aroma's (`bench_basket`).
    pub basket: bool,
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A fresh database for the run, dropped afterwards when it is PostgreSQL.
pub(crate) struct FreshDb {
    pub(crate) url: String,
    drop_pg: Option<(String, String)>,
}

impl FreshDb {
    pub(crate) fn new(database: Option<&str>, dir: &Path) -> Result<Self> {
        match database {
            None => Ok(Self {
                url: format!("sqlite://{}", dir.join("bench.db").display()),
                drop_pg: None,
            }),
            Some(url) if url.starts_with("sqlite://") => {
                let path = url.trim_start_matches("sqlite://");
                if Path::new(path).exists() {
                    bail!("{path} exists: the bench needs a fresh database file");
                }
                Ok(Self {
                    url: url.to_owned(),
                    drop_pg: None,
                })
            }
            Some(url) => {
                let (server, _) = url
                    .rsplit_once('/')
                    .context("a postgres:// URL with a database name")?;
                let name = format!("coalition_bench_{}", uuid::Uuid::new_v4().simple());
                let admin_url = format!("{server}/postgres");
                PgConnection::establish(&admin_url)?
                    .batch_execute(&format!("CREATE DATABASE {name}"))?;
                Ok(Self {
                    url: format!("{server}/{name}"),
                    drop_pg: Some((admin_url, name)),
                })
            }
        }
    }
}

impl Drop for FreshDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.drop_pg
            && let Ok(mut c) = PgConnection::establish(admin)
        {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// One signed POST, on the thread's own connection.
fn post_signed(
    client: &mut RawClient,
    base: &str,
    key: &GeneratedKey,
    path: &str,
    body: &Value,
    idem: &str,
) -> Result<u16> {
    let text = body.to_string();
    let h = crate::httpsig::sign_request_with(
        &key.key,
        key.key_id.as_str(),
        "POST",
        &format!("{base}{path}"),
        Some(text.as_bytes()),
        Some(idem),
        crate::ledger::clock::Clock::system().now_secs(),
    )?;
    let digest = h.content_digest.unwrap_or_default();
    client.send(
        "POST",
        path,
        &[
            ("Signature-Input", h.signature_input.as_str()),
            ("Signature", h.signature.as_str()),
            ("Content-Digest", digest.as_str()),
            ("Idempotency-Key", idem),
        ],
        text.as_bytes(),
    )
}

/// The last response's body as JSON, once `status` says the setup's request created what it
/// asked for (every setup request does, on the bench's fresh database).
fn created(client: &RawClient, status: u16, path: &str) -> Result<Value> {
    if status != 201 {
        bail!("setup {path} answered {status}");
    }
    Ok(serde_json::from_slice(client.body())?)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i.min(sorted.len() - 1)]) / 1000.0
}

/// CPU time (user + system) a process has used, in clock ticks, from `/proc/PID/stat`.
fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// CPU ticks of every PostgreSQL server process on this machine (the bench's database is the
/// only busy one while it runs).
fn postgres_ticks() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()))
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .filter_map(|pid| cpu_ticks(&pid))
        .sum()
}

/// Where the CPU went during the load: ticks of the server, this load generator and
/// PostgreSQL.
#[derive(Clone, Copy)]
struct CpuSample {
    server: u64,
    client: u64,
    database: u64,
}

impl CpuSample {
    fn take(server_pid: u32, postgres: bool) -> Self {
        Self {
            server: cpu_ticks(&server_pid.to_string()).unwrap_or(0),
            client: cpu_ticks("self").unwrap_or(0),
            database: if postgres { postgres_ticks() } else { 0 },
        }
    }
}

/// Microseconds of CPU per operation from a tick count (Linux counts 100 ticks a second).
fn us_per_op(ticks: u64, ops: u64) -> f64 {
    const TICKS_PER_SEC: f64 = 100.0;
    if ops == 0 {
        return 0.0;
    }
    (ticks as f64 / TICKS_PER_SEC * 1e6 / ops as f64).round()
}

pub(crate) fn peak_rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

pub fn run(o: &Options) -> Result<()> {
    in_temp_dir("coalition-bench", |dir| bench(o, dir))
}

/// Runs `f` in a fresh folder under the system's temporary one, removed afterwards either way.
pub(super) fn in_temp_dir(prefix: &str, f: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir)?;
    let outcome = f(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

/// A line of progress for a person (the `--json` run prints only its result).
pub(super) fn say(o: &Options, line: &str) {
    if !o.json {
        eprintln!("{line}");
    }
}

#[expect(
    clippy::too_many_lines,
    reason = "the benchmark as one script: setup, load, checks and report read top to bottom"
)]
fn bench(o: &Options, dir: &Path) -> Result<()> {
    let db = FreshDb::new(o.database.as_deref(), dir)?;
    let keys =
        crate::partners::copy_with_generated_keys(&o.partners, &dir.join("partners"), "bench")?;
    if o.basket {
        super::bench_basket::add_rules(&dir.join("partners"))?;
    }
    let basket = o.basket;
    let take = |p: &str| -> Result<Arc<GeneratedKey>> {
        let i = keys
            .iter()
            .position(|k| k.partner.as_str() == p)
            .with_context(|| format!("partner {p} in the manifests"))?;
        Ok(Arc::new(GeneratedKey {
            partner: keys[i].partner.clone(),
            key_id: keys[i].key_id.clone(),
            key: crate::crypto::SigningKey::from_pkcs8_der(keys[i].key.pkcs8_der())?,
        }))
    };
    let (aroma, books) = (take("aroma")?, take("books")?);
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let shown: DatabaseUrl = db.url.parse()?;
    say(
        o,
        &format!("bench: starting the service on {shown} (127.0.0.1:{port})"),
    );
    let server = Server(
        Command::new(std::env::current_exe()?)
            .args([
                "serve",
                "--database",
                &db.url,
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--rate-per-sec",
                "10000000",
            ])
            .arg("--partners")
            .arg(dir.join("partners"))
            .arg("--network-key")
            .arg(dir.join("network.pem"))
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let base = format!("http://127.0.0.1:{port}");
    let mut client = RawClient::new(addr);
    let deadline = Instant::now() + Duration::from_secs(60);
    while client.send("GET", "/readyz", &[], b"").unwrap_or(0) != 200 {
        if Instant::now() > deadline {
            bail!("the service did not come up");
        }
        std::thread::sleep(Duration::from_millis(50));
    }

    // Members with points at Aroma and an authorisation for the bookstore to spend them.
    say(
        o,
        &format!(
            "bench: enrolling {} members, giving each points and an authorisation for the bookstore",
            o.members
        ),
    );
    let setup_started = Instant::now();
    let members: Vec<(String, String)> = std::thread::scope(
        |s| -> Result<Vec<(String, String)>> {
            let chunk = o.members.div_ceil(16).max(1);
            let handles: Vec<_> = (0..o.members)
            .collect::<Vec<_>>()
            .chunks(chunk)
            .map(|ids| {
                let ids = ids.to_vec();
                let mut client = RawClient::new(addr);
                let (aroma, base) = (aroma.clone(), base.clone());
                s.spawn(move || -> Result<Vec<(String, String)>> {
                    let mut out = Vec::new();
                    let signed = |client: &mut RawClient, path: &str, body: Value, idem: String| {
                        let status = post_signed(client, &base, &aroma, path, &body, &idem)?;
                        created(client, status, path)
                    };
                    for i in ids {
                        let m = signed(&mut client, "/v1/members", json!({ "external_id": format!("bench-{i}") }), format!("enrol-{i}"))?;
                        let member = m["member_id"].as_str().context("member id")?.to_owned();
                        signed(&mut client, "/v1/earn", json!({ "member_id": member, "points": STARTING_POINTS.to_string(), "reference": format!("start-{i}") }), format!("start-{i}"))?;
                        let t = signed(&mut client, &format!("/v1/members/{member}/tokens"), json!({ "scope": ["authorizations"], "ttl_seconds": 3600 }), format!("token-{i}"))?;
                        let bearer = format!("Bearer {}", t["token"].as_str().context("member token")?);
                        let body = json!({ "partner": "books", "unit": "AROMA", "max_points": STARTING_POINTS.to_string(), "ttl_seconds": 86_400 }).to_string();
                        let path = "/v1/me/authorizations";
                        let status = client.send("POST", path, &[("Authorization", &bearer)], body.as_bytes())?;
                        let a = created(&client, status, path)?;
                        out.push((member, a["code"].as_str().context("authorization")?.to_owned()));
                    }
                    Ok(out)
                })
            })
            .collect();
            let mut all = Vec::new();
            for h in handles {
                all.extend(
                    h.join()
                        .map_err(|_| anyhow::anyhow!("a setup thread panicked"))??,
                );
            }
            Ok(all)
        },
    )?;
    say(
        o,
        &format!(
            "bench: set up in {:.1} s",
            setup_started.elapsed().as_secs_f64()
        ),
    );

    // The load: half purchases earning points at Aroma, half authorised spends at the bookstore.
    let members = Arc::new(members);
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let on_postgres = !db.url.starts_with("sqlite://");
    let cpu_before = CpuSample::take(server.0.id(), on_postgres);
    let started = Instant::now();
    let workers: Vec<_> = (0..o.concurrency)
        .map(|w| {
            let (members, stop, done) = (members.clone(), stop.clone(), done.clone());
            let (aroma, books) = (aroma.clone(), books.clone());
            let mut client = RawClient::new(addr);
            let url = base.clone();
            std::thread::spawn(move || {
                let (mut ok, mut errors, mut latencies) = (0u64, 0u64, Vec::<u32>::with_capacity(1 << 16));
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let (member, code) = &members[((w as u64 * 7919 + n * 104_729) % members.len() as u64) as usize];
                    let idem = format!("w{w}-{n}");
                    let t = Instant::now();
                    let result = if n.is_multiple_of(2) {
                        post_signed(&mut client, &url, &aroma, "/v1/earn", &super::bench_basket::earn_body(member, &idem, basket), &idem)
                    } else {
                        post_signed(&mut client, &url, &books, "/v1/redemptions", &json!({ "member_id": member, "unit": "AROMA", "points": "1", "reference": idem, "authorization": code }), &idem)
                    };
                    latencies.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
                    match result {
                        Ok(201) => ok += 1,
                        _ => errors += 1,
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
                (ok, errors, latencies)
            })
        })
        .collect();
    let total = Duration::from_secs(o.duration_secs);
    while started.elapsed() < total {
        std::thread::sleep(Duration::from_millis(250));
        if !o.json {
            let elapsed = started.elapsed().as_secs_f64();
            let width = 30;
            let filled =
                ((elapsed / total.as_secs_f64()) * width as f64).min(width as f64) as usize;
            eprint!(
                "\r  [{}{}] {:>4.1} s  {:>8} requests  {:>7.0} /s",
                "#".repeat(filled),
                ".".repeat(width - filled),
                elapsed,
                done.load(Ordering::Relaxed),
                done.load(Ordering::Relaxed) as f64 / elapsed
            );
            let _ = std::io::stderr().flush();
        }
    }
    stop.store(true, Ordering::Relaxed);
    let (mut ok, mut errors, mut latencies) = (0u64, 0u64, Vec::new());
    for w in workers {
        let (o_, e, l) = w
            .join()
            .map_err(|_| anyhow::anyhow!("a load thread panicked"))?;
        ok += o_;
        errors += e;
        latencies.extend(l);
    }
    let elapsed = started.elapsed().as_secs_f64();
    say(o, "");
    let cpu_after = CpuSample::take(server.0.id(), on_postgres);
    // SQLite: how large the write-ahead log file grew (it is restarted past a limit).
    let log_mb = db
        .url
        .strip_prefix("sqlite://")
        .and_then(|path| std::fs::metadata(format!("{path}-wal")).ok())
        .map(|m| (m.len() as f64 / 1_048_576.0).round());
    let rss = peak_rss_mb(server.0.id());
    let cpu_server = us_per_op(cpu_after.server - cpu_before.server, ok + errors);
    let cpu_client = us_per_op(cpu_after.client - cpu_before.client, ok + errors);
    let cpu_database = us_per_op(
        cpu_after.database.saturating_sub(cpu_before.database),
        ok + errors,
    );
    drop(server);

    // The bench's own check: every success is one entry, and the ledger verifies.
    let url: DatabaseUrl = db.url.parse()?;
    let mut conn = url.connect()?;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let entries = diesel::sql_query("SELECT COUNT(*) AS n FROM entries WHERE reference LIKE 'w%'")
        .load::<N>(&mut conn)?[0]
        .n;
    drop(conn);
    let checks = crate::clearing::verify_database(&url)?;
    let verified = entries == ok as i64 && checks.iter().all(|c| c.ok);
    latencies.sort_unstable();
    let throughput = ok as f64 / elapsed;
    let (p50, p99) = (percentile(&latencies, 0.50), percentile(&latencies, 0.99));
    if o.json {
        println!(
            "{}",
            json!({ "throughput_per_s": (throughput * 10.0).round() / 10.0, "p50_ms": p50, "p99_ms": p99, "requests": ok + errors,
                "errors": errors, "verified": verified, "entries": entries, "peak_rss_mb": rss,
                "cpu_us_per_op": { "server": cpu_server, "load_generator": cpu_client, "postgres": cpu_database },
                "sqlite_log_mb": log_mb, "backend": if url.is_sqlite() { "sqlite" } else { "postgres" },
                "concurrency": o.concurrency, "duration_s": o.duration_secs,
                "earn": if o.basket { "basket of 5 lines, 10 rules" } else { "purchase" } })
        );
    } else {
        println!(
            "backend        {}",
            if url.is_sqlite() {
                "SQLite"
            } else {
                "PostgreSQL"
            }
        );
        println!(
            "concurrency    {} clients, {} s, {} members",
            o.concurrency, o.duration_secs, o.members
        );
        if o.basket {
            println!("earns          a five-line basket against ten rules of Aroma's");
        }
        println!("throughput     {throughput:.0} signed operations/s ({ok} ok, {errors} errors)");
        println!("latency        p50 {p50:.2} ms, p99 {p99:.2} ms");
        if let Some(mb) = rss {
            println!("server memory  {mb:.0} MB peak resident");
        }
        if let Some(mb) = log_mb {
            println!("SQLite log     {mb:.0} MB file (restarted in place past a limit)");
        }
        println!(
            "cpu per op     server {cpu_server:.0} µs, load generator {cpu_client:.0} µs{}",
            if on_postgres {
                format!(", PostgreSQL {cpu_database:.0} µs")
            } else {
                String::new()
            }
        );
        println!(
            "check          {entries} entries for {ok} successes; verify {}",
            if checks.iter().all(|c| c.ok) {
                "passed"
            } else {
                "FAILED"
            }
        );
    }
    if !verified {
        bail!("the bench's check failed: {entries} entries for {ok} successes");
    }
    Ok(())
}
