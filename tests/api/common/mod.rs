//! Test support: a fresh database per test on the backend the run selected, the demo network,
//! and a real server over HTTP.

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

    pub fn with_partners(partners: &Path) -> Self {
        let db = TestDb::new();
        let dir = TempDir::new();
        let settings = Settings {
            database: db.url.clone(),
            partners_dir: partners.to_owned(),
            network_key: Some(dir.path().join("network-key.pem")),
        };
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
