//! Test support: a fresh database per test on the backend the run selected, the demo network,
//! and a real server over HTTP.

pub mod pages;
pub mod receiver;
pub mod webdriver;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use coalition::api::RunningServer;
use coalition::clearing::{Clearing, Settings};
use coalition::store::DatabaseUrl;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

/// Set to a `postgres://` URL to run the suite on PostgreSQL; unset, it runs on SQLite.
pub const BACKEND_ENV: &str = "COALITION_TEST_DATABASE_URL";

/// A throwaway folder, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("coalition-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A database nobody else uses: a new SQLite file, or a new schema in the PostgreSQL database
/// named by [`BACKEND_ENV`] (dropped afterwards).
pub struct TestDb {
    pub url: DatabaseUrl,
    pub raw_url: String,
    pg: Option<(String, String)>,
    _dir: TempDir,
}

impl TestDb {
    /// A database the caller made and will drop; nothing is cleaned here.
    pub fn existing(url: &str) -> Self {
        Self {
            url: url.parse().unwrap(),
            raw_url: url.to_owned(),
            pg: None,
            _dir: TempDir::new(),
        }
    }

    pub fn new() -> Self {
        let dir = TempDir::new();
        match std::env::var(BACKEND_ENV).ok().filter(|v| !v.is_empty()) {
            None => {
                let raw_url = format!("sqlite://{}", dir.path().join("test.db").display());
                Self {
                    url: raw_url.parse().unwrap(),
                    raw_url,
                    pg: None,
                    _dir: dir,
                }
            }
            Some(base) => {
                assert!(
                    base.starts_with("postgres"),
                    "{BACKEND_ENV} must be a postgres:// URL"
                );
                let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
                let mut admin = PgConnection::establish(&base).expect("PostgreSQL for tests");
                admin
                    .batch_execute(&format!("CREATE SCHEMA {schema}"))
                    .unwrap();
                let sep = if base.contains('?') { '&' } else { '?' };
                let raw_url = format!("{base}{sep}options=-csearch_path%3D{schema}");
                Self {
                    url: raw_url.parse().unwrap(),
                    raw_url,
                    pg: Some((base, schema)),
                    _dir: dir,
                }
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }

    /// A direct connection, for tests that change rows behind the service's back.
    pub fn raw(&self) -> coalition::store::DbConn {
        self.url.connect().unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((base, schema)) = &self.pg
            && let Ok(mut admin) = PgConnection::establish(base)
        {
            let _ = admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
        }
    }
}

/// Two string fields of every object in a JSON array, as pairs: postings as `(account, amount)`,
/// wallet lines as `(unit, balance)`.
pub fn field_pairs(list: &serde_json::Value, first: &str, second: &str) -> Vec<(String, String)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o[first].as_str().unwrap().to_owned(),
                o[second].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The repository's demo network.
pub fn demo_partners() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("partners")
}

/// The service on a fresh database with the demo network, not yet serving HTTP.
pub struct TestService {
    pub db: TestDb,
    pub clearing: Arc<Clearing>,
    pub dir: TempDir,
}

impl TestService {
    pub fn start() -> Self {
        Self::with_partners(&demo_partners())
    }

    pub fn on(db: TestDb, partners: &Path) -> Self {
        let dir = TempDir::new();
        let settings = Settings::new(db.url.clone(), partners)
            .with_network_key(Some(dir.path().join("network-key.pem")))
            .with_private_webhooks(true);
        let clearing = Clearing::start(&settings).unwrap();
        Self { db, clearing, dir }
    }

    pub fn with_partners(partners: &Path) -> Self {
        Self::with(partners, coalition::clearing::DEFAULT_HOLD_TTL_SECS)
    }

    /// Webhooks may go to loopback addresses (the tests' receivers listen there).
    pub fn with(partners: &Path, hold_ttl_secs: u64) -> Self {
        Self::with_webhooks(partners, hold_ttl_secs, true)
    }

    pub fn with_webhooks(partners: &Path, hold_ttl_secs: u64, allow_private: bool) -> Self {
        let db = TestDb::new();
        let dir = TempDir::new();
        let settings = Settings::new(db.url.clone(), partners)
            .with_network_key(Some(dir.path().join("network-key.pem")))
            .with_hold_ttl_secs(hold_ttl_secs)
            .with_private_webhooks(allow_private);
        let clearing = Clearing::start(&settings).unwrap();
        Self { db, clearing, dir }
    }

    pub fn serve(&self) -> RunningServer {
        RunningServer::start(self.clearing.clone(), "127.0.0.1:0").unwrap()
    }

    /// Runs an async block on a fresh runtime (the tests themselves are plain threads).
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }
}

impl Drop for TestService {
    fn drop(&mut self) {
        self.clearing.shutdown();
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The problem+json `code`, checking the content type on the way.
    pub fn code(&self) -> String {
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/problem+json"),
            "{self:?}"
        );
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }
}

/// Sends a request exactly as given: no signing, no added headers beyond ureq's own.
pub fn send(method: &str, url: &str, headers: &[(&str, String)], body: Option<&[u8]>) -> Resp {
    run(ureq::Agent::config_builder(), method, url, headers, body)
}

/// [`send`] as a browser's first hop: a redirect is answered, not followed.
pub fn send_unfollowed(
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    body: Option<&[u8]>,
) -> Resp {
    let config = ureq::Agent::config_builder().max_redirects(0);
    run(config, method, url, headers, body)
}

fn run(
    config: ureq::config::ConfigBuilder<ureq::typestate::AgentScope>,
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    body: Option<&[u8]>,
) -> Resp {
    let agent: ureq::Agent = config.http_status_as_error(false).build().into();
    let mut builder = ureq::http::Request::builder().method(method).uri(url);
    for (n, v) in headers {
        builder = builder.header(*n, v);
    }
    let request = builder
        .body(body.map(<[u8]>::to_vec).unwrap_or_default())
        .unwrap();
    let mut response = agent.run(request).unwrap();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    Resp {
        status: response.status().as_u16(),
        headers,
        body: response.body_mut().read_to_string().unwrap(),
    }
}

/// The service with the demo network whose partners hold freshly generated keys, served over
/// HTTP, and a way to call it as each partner.
pub struct Api {
    pub server: RunningServer,
    pub keys: Vec<coalition::partners::GeneratedKey>,
    pub svc: TestService,
}

impl Api {
    pub fn start() -> Self {
        Self::with_hold_ttl(coalition::clearing::DEFAULT_HOLD_TTL_SECS)
    }

    pub fn with_hold_ttl(hold_ttl_secs: u64) -> Self {
        Self::with(
            hold_ttl_secs,
            coalition::api::ServerOptions::default(),
            |_| {},
        )
    }

    /// The service as in production: webhooks to loopback and private addresses refused.
    pub fn strict() -> Self {
        Self::build(
            coalition::clearing::DEFAULT_HOLD_TTL_SECS,
            coalition::api::ServerOptions::default(),
            |_| {},
            false,
        )
    }

    /// The service with `options`, after `edit` had its say on the manifests folder.
    pub fn with(
        hold_ttl_secs: u64,
        options: coalition::api::ServerOptions,
        edit: impl FnOnce(&Path),
    ) -> Self {
        Self::build(hold_ttl_secs, options, edit, true)
    }

    fn build(
        hold_ttl_secs: u64,
        options: coalition::api::ServerOptions,
        edit: impl FnOnce(&Path),
        allow_private_webhooks: bool,
    ) -> Self {
        let dir = TempDir::new();
        let manifests = dir.path().join("partners");
        let keys =
            coalition::partners::copy_with_generated_keys(&demo_partners(), &manifests, "test")
                .unwrap();
        edit(&manifests);
        let svc = TestService::with_webhooks(&manifests, hold_ttl_secs, allow_private_webhooks);
        let server =
            RunningServer::start_with(svc.clearing.clone(), "127.0.0.1:0", options).unwrap();
        // The manifests were read at start; the folder may go.
        drop(dir);
        Self { server, keys, svc }
    }

    /// The API on a database the caller made (the outage test).
    pub fn on_database(url: &str) -> Self {
        let dir = TempDir::new();
        let manifests = dir.path().join("partners");
        let keys =
            coalition::partners::copy_with_generated_keys(&demo_partners(), &manifests, "test")
                .unwrap();
        let svc = TestService::on(TestDb::existing(url), &manifests);
        let server = svc.serve();
        Self { server, keys, svc }
    }

    pub fn key(&self, partner: &str) -> &coalition::partners::GeneratedKey {
        self.keys
            .iter()
            .find(|k| k.partner.as_str() == partner)
            .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    /// Now by the service's clock: what requests are signed with.
    pub fn now_secs(&self) -> i64 {
        self.svc.clearing.clock().now_secs()
    }

    /// Lets `secs` pass for this service (and the requests signed for it), without waiting.
    pub fn advance_secs(&self, secs: u32) {
        self.svc.clearing.clock().advance_secs(secs);
    }

    /// A request signed by `partner` the way `coalition sign` does it, created now.
    pub fn signed(
        &self,
        partner: &str,
        method: &str,
        path: &str,
        body: Option<&str>,
        idem: Option<&str>,
    ) -> Resp {
        let k = self.key(partner);
        let url = self.url(path);
        let now = self.now_secs();
        let h = coalition::httpsig::sign_request_with(
            &k.key,
            k.key_id.as_str(),
            method,
            &url,
            body.map(str::as_bytes),
            idem,
            now,
        )
        .unwrap();
        let mut headers = vec![
            ("signature-input", h.signature_input),
            ("signature", h.signature),
        ];
        if let Some(d) = h.content_digest {
            headers.push(("content-digest", d));
        }
        if let Some(i) = idem {
            headers.push(("idempotency-key", i.to_owned()));
        }
        headers.push(("content-type", "application/json".to_owned()));
        send(method, &url, &headers, body.map(str::as_bytes))
    }

    pub fn post(&self, partner: &str, path: &str, body: &serde_json::Value) -> Resp {
        let idem = uuid::Uuid::new_v4().to_string();
        self.signed(partner, "POST", path, Some(&body.to_string()), Some(&idem))
    }

    pub fn get(&self, partner: &str, path: &str) -> Resp {
        self.signed(partner, "GET", path, None, None)
    }

    /// Enrols a member with `partner` and returns its id.
    pub fn member(&self, partner: &str) -> String {
        let r = self.post(
            partner,
            "/v1/members",
            &serde_json::json!({ "external_id": uuid::Uuid::new_v4().to_string() }),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        r.json()["member_id"].as_str().unwrap().to_owned()
    }

    /// Links `member`, enrolled with `via`, to `to` as well, the way the member does it: a
    /// token from `via` with the `links` scope asks for a link code, and `to` enrols with it.
    pub fn link(&self, member: &str, via: &str, to: &str) {
        let r = self.post(
            via,
            &format!("/v1/members/{member}/tokens"),
            &serde_json::json!({ "scope": ["links"] }),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let token = r.json()["token"].as_str().unwrap().to_owned();
        let code = self.bearer(
            &token,
            "POST",
            "/v1/me/links",
            Some(&serde_json::json!({ "partner": to })),
        );
        assert_eq!(code.status, 201, "{}", code.body);
        let linked = self.post(
            to,
            "/v1/members",
            &serde_json::json!({
                "external_id": format!("{to}-{member}"),
                "link_code": code.json()["code"],
            }),
        );
        assert_eq!(linked.status, 201, "{}", linked.body);
        assert_eq!(linked.json()["member_id"], member, "the same member");
    }

    /// Each linked brand and whether it may see the member's other balances, as the member's
    /// `GET /v1/me/links` lists them.
    pub fn link_shares(&self, token: &str) -> Vec<(String, bool)> {
        let links = self.bearer(token, "GET", "/v1/me/links", None).json();
        links["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["partner"].as_str().unwrap().to_owned(),
                    l["share_balances"].as_bool().unwrap(),
                )
            })
            .collect()
    }

    pub fn earn(&self, partner: &str, member: &str, points: &str) -> serde_json::Value {
        let r = self.post(
            partner,
            "/v1/earn",
            &serde_json::json!({ "member_id": member, "points": points, "reference": "r" }),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        r.json()
    }

    /// A member's own-unit balance as `partner` sees it.
    pub fn balance(&self, partner: &str, member: &str) -> String {
        let r = self.get(partner, &format!("/v1/members/{member}/balances"));
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["balances"][0]["balance"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub fn entry_count(&self) -> i64 {
        self.svc
            .clearing
            .store()
            .read_blocking(coalition::store::ledger::entry_count)
            .unwrap()
    }

    pub fn verify(&self) {
        let checks = self.svc.block_on(self.svc.clearing.verify()).unwrap();
        assert!(checks.iter().all(|c| c.ok), "{checks:#?}");
    }
}

impl Api {
    /// A member token of `partner` for `member` carrying `scopes`, minted through the API.
    pub fn scoped_token(&self, partner: &str, member: &str, scopes: &[&str]) -> String {
        let r = self.post(
            partner,
            &format!("/v1/members/{member}/tokens"),
            &serde_json::json!({ "scope": scopes }),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        r.json()["token"].as_str().unwrap().to_owned()
    }

    /// A member token minted through the partner API.
    pub fn member_token(&self, partner: &str, member: &str) -> String {
        let r = self.post(
            partner,
            &format!("/v1/members/{member}/tokens"),
            &serde_json::json!({}),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        r.json()["token"].as_str().unwrap().to_owned()
    }

    pub fn bearer(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Resp {
        let text = body.map(serde_json::Value::to_string);
        send(
            method,
            &self.url(path),
            &[
                ("authorization", format!("Bearer {token}")),
                ("content-type", "application/json".into()),
            ],
            text.as_deref().map(str::as_bytes),
        )
    }

    /// A finance (`partner` set) or operator token signed by the running network key.
    pub fn finance_token(
        &self,
        role: coalition::clearing::tokens::Role,
        partner: Option<&str>,
    ) -> String {
        let partner = partner.map(|p| p.parse().unwrap());
        let now = self.now_secs();
        self.svc
            .clearing
            .context()
            .tokens
            .mint_finance(role, partner.as_ref(), 600, now)
            .unwrap()
    }

    pub fn settlement(&self, party: &str) -> i64 {
        let account = coalition::ledger::Account::Settlement {
            party: party.parse().unwrap(),
            currency: "ILS".parse().unwrap(),
        };
        self.svc
            .block_on(self.svc.clearing.balance(&account))
            .unwrap()
            .minor()
    }
}

/// A `coalition serve` process, killed when dropped.
pub struct ServeProcess {
    pub child: std::process::Child,
    pub port: u16,
}

impl ServeProcess {
    /// Starts `coalition serve` on `port` (manifests in `dir/partners`, key `dir/network.pem`),
    /// logging at `rust_log` to `stderr`, and waits until it is ready.
    pub fn start(
        db_url: &str,
        dir: &Path,
        port: u16,
        rust_log: &str,
        stderr: std::process::Stdio,
    ) -> Self {
        Self::start_with(db_url, dir, port, rust_log, stderr, &[])
    }

    /// [`ServeProcess::start`] with further `serve` arguments.
    pub fn start_with(
        db_url: &str,
        dir: &Path,
        port: u16,
        rust_log: &str,
        stderr: std::process::Stdio,
        args: &[&str],
    ) -> Self {
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_coalition"))
            .args([
                "serve",
                "--database",
                db_url,
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--workers",
                "2",
            ])
            .arg("--partners")
            .arg(dir.join("partners"))
            .arg("--network-key")
            .arg(dir.join("network.pem"))
            .args(args)
            .env("RUST_LOG", rust_log)
            .stdout(std::process::Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let process = Self { child, port };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while ureq::get(&process.url("/readyz")).call().is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "coalition serve did not come up"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        process
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The headers that sign a POST of `body` to `path` by `key`, covering its Idempotency-Key.
    pub fn signed_post_headers(
        &self,
        key: &coalition::partners::GeneratedKey,
        path: &str,
        body: &str,
        idem: &str,
    ) -> [(&'static str, String); 5] {
        let now = coalition::ledger::clock::Clock::system().now_secs();
        let h = coalition::httpsig::sign_request_with(
            &key.key,
            key.key_id.as_str(),
            "POST",
            &self.url(path),
            Some(body.as_bytes()),
            Some(idem),
            now,
        )
        .unwrap();
        [
            ("signature-input", h.signature_input),
            ("signature", h.signature),
            ("content-digest", h.content_digest.unwrap()),
            ("idempotency-key", idem.to_owned()),
            ("content-type", "application/json".to_owned()),
        ]
    }

    /// A POST signed by `key`, covering its Idempotency-Key.
    pub fn post(
        &self,
        key: &coalition::partners::GeneratedKey,
        path: &str,
        body: &str,
        idem: &str,
    ) -> Resp {
        let headers = self.signed_post_headers(key, path, body, idem);
        send("POST", &self.url(path), &headers, Some(body.as_bytes()))
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
