//! Persistence: diesel schema and queries for SQLite and PostgreSQL, the pool, migrations, and
//! the sequencer through which every write goes.

mod activity;
pub mod authorizations;
mod bulk;
pub mod cards;
mod checkpoint;
pub mod conn;
pub mod coupons;
mod dialect;
mod event_type;
pub mod idempotency;
pub mod insights;
pub mod interactions;
pub mod ledger;
pub mod liability;
mod lot_postings;
pub mod lots;
pub mod members;
pub mod network;
pub mod notices;
pub mod operations;
mod prefetch;
pub mod profiles;
mod replies;
pub mod rewards;
mod rows;
mod schema;
pub mod segments;
pub mod sequencer;
pub mod settlements;
pub mod status;
pub mod subscriptions;
mod syncer;
pub mod tiers;
pub mod touched;
mod tx;
pub mod webhooks;
mod writer;

use std::sync::Arc;

pub use conn::{DatabaseUrl, DbConn};
pub use lot_postings::LotPlan;
pub use replies::{Render, ResponseSlot};
pub use tx::WriteTx;

use crate::ledger::{BalanceError, CorruptEntryError};

use crate::ledger::clock::Clock;

/// Pooled reading connections per process for SQLite (WAL lets readers run beside the writer).
pub const SQLITE_READERS: u32 = 8;
/// Pooled reading connections per process for PostgreSQL.
pub const POSTGRES_READERS: u32 = 16;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("bad database URL: {0}")]
    BadUrl(String),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(String),
    #[error("conflicting write: {0}")]
    Conflict(String),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("ledger data is corrupt: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Balance(#[from] BalanceError),
    #[error(
        "unit {code} is stored as {stored} but configured as {configured}; a unit's scale and issuer cannot change"
    )]
    UnitConflict {
        code: String,
        stored: String,
        configured: String,
    },
    #[error("the ledger writer has stopped")]
    WriterStopped,
    #[error("the ledger writer failed while handling this write")]
    WriterFailed,
}

impl StoreError {
    /// Whether the failure is the database's (worth a retry later), not the request's.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Unavailable(_)
                | StoreError::Database(_)
                | StoreError::WriterStopped
                | StoreError::WriterFailed
        )
    }
}

impl From<diesel::result::Error> for StoreError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        match e {
            E::DatabaseError(K::UniqueViolation, info) => {
                StoreError::Conflict(info.message().to_owned())
            }
            E::DatabaseError(K::ClosedConnection | K::UnableToSendCommand, info) => {
                StoreError::Unavailable(info.message().to_owned())
            }
            E::BrokenTransactionManager => StoreError::Unavailable(e.to_string()),
            other => StoreError::Database(other.to_string()),
        }
    }
}

impl From<CorruptEntryError> for StoreError {
    fn from(e: CorruptEntryError) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

impl From<diesel::r2d2::PoolError> for StoreError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}

/// The database: a pool for reads and the sequencer for writes.
pub struct Store {
    url: DatabaseUrl,
    pool: conn::DbPool,
    sequencer: sequencer::Sequencer,
    clock: Clock,
    /// Members whose aggregates the writer's committed batches changed.
    touched: Arc<touched::Touched>,
    /// Which partners' webhook endpoints take which events.
    subscribers: Arc<webhooks::Subscribers>,
    /// SQLite only: copies the log into the database file off the writer's path.
    _checkpointer: Option<checkpoint::Checkpointer>,
}

impl Store {
    /// Migrates the database and starts the writer, which stamps what it writes with `clock`.
    pub fn open(url: &DatabaseUrl, clock: Clock) -> Result<Arc<Self>, StoreError> {
        Self::open_observed(url, clock, None)
    }

    /// [`Store::open`], with the writer adding what `observer` makes of each entry it posts to
    /// the behaviour profile (the service's rule, `clearing::profile`).
    pub fn open_observed(
        url: &DatabaseUrl,
        clock: Clock,
        observer: Option<profiles::EntryObserver>,
    ) -> Result<Arc<Self>, StoreError> {
        let applied = url.migrate()?;
        if applied > 0 {
            tracing::info!(database = %url, migrations = applied, "database migrated");
        }
        let readers = if url.is_sqlite() {
            SQLITE_READERS
        } else {
            POSTGRES_READERS
        };
        // Raised by the checkpointer when the SQLite log should start again; acted on by the
        // writer between batches.
        let restart_log = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let touched = Arc::new(touched::Touched::default());
        let pool = conn::pool(url, readers)?;
        let subscribers = Arc::new(webhooks::Subscribers::default());
        subscribers.load(&mut *pool.get()?)?;
        Ok(Arc::new(Self {
            url: url.clone(),
            pool,
            sequencer: sequencer::Sequencer::start(
                url.clone(),
                restart_log.clone(),
                clock.clone(),
                writer::Listeners {
                    observer,
                    touched: touched.clone(),
                    subscribers: subscribers.clone(),
                },
            )?,
            clock,
            touched,
            subscribers,
            _checkpointer: if url.is_sqlite() {
                Some(
                    checkpoint::Checkpointer::start(url.clone(), restart_log).map_err(|e| {
                        StoreError::Unavailable(format!("cannot start the checkpointer: {e}"))
                    })?,
                )
            } else {
                None
            },
        }))
    }

    /// The clock the writer stamps rows with.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Members whose behaviour aggregates changed (kept once enabled).
    pub fn touched(&self) -> &touched::Touched {
        &self.touched
    }

    /// Which partners' webhook endpoints take which events.
    pub fn subscribers(&self) -> &webhooks::Subscribers {
        &self.subscribers
    }

    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// Runs a read on a pooled connection, off the async runtime's threads.
    pub async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Database(format!("read task failed: {e}")))?
    }

    /// [`Store::read`] for callers outside an async runtime (the CLI).
    pub fn read_blocking<T>(
        &self,
        f: impl FnOnce(&mut DbConn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.pool.get()?;
        f(&mut conn)
    }

    /// Runs a write in the sequencer's next batch; answered once the batch is durable.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut WriteTx<'_>) -> Result<T, E> + Send + 'static,
    {
        self.sequencer.write(None, f).await
    }

    /// [`Store::write`] for a write that first looks up the idempotency key `key` of `owner`
    /// (with [`idempotency::lookup_tx`]): the writer reads a whole batch's keys in one query.
    pub async fn write_keyed<T, E, F>(&self, owner: &str, key: &str, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut WriteTx<'_>) -> Result<T, E> + Send + 'static,
    {
        self.sequencer
            .write(Some((owner.to_owned(), key.to_owned())), f)
            .await
    }

    /// [`Store::write`] for callers outside an async runtime (the CLI).
    pub fn write_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut WriteTx<'_>) -> Result<T, E> + Send + 'static,
    {
        self.sequencer.write_blocking(f)
    }

    /// Whether the database answers a trivial query right now.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.read(|c| {
            use diesel::connection::SimpleConnection;
            c.batch_execute("SELECT 1").map_err(StoreError::from)
        })
        .await
    }

    /// The writer's batch counters, for `/metrics`.
    pub fn batch_stats(&self) -> &sequencer::BatchStats {
        self.sequencer.stats()
    }

    /// Lets queued writes commit, then stops the writer.
    pub fn shutdown(&self) {
        self.sequencer.shutdown();
    }
}
