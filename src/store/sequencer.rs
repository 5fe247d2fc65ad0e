//! The single writer: every write runs here, batched into one transaction (group commit), and
//! each caller is answered only once its batch is committed and durable.
//!
//! One thread owns one connection. It takes the first waiting job, then whatever else is
//! queued (up to [`MAX_BATCH_JOBS`]), runs the jobs one after another against the writer's
//! memory ([`batch`](super::batch): cached balances, rows waiting to be written), writes the
//! batch's rows with one multi-row statement per table, commits once, and only then answers
//! every caller. A refused job is undone alone (in memory, and behind a savepoint if it went to
//! the database directly). The hash chain's head is read inside the locked transaction, so the
//! chain stays gap-free even with several processes writing to one PostgreSQL database.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;

use diesel::connection::SimpleConnection;
use tokio::sync::{mpsc, oneshot};

use super::conn::{DatabaseUrl, DbConn};
use super::syncer::{Completion, SyncCounts, Syncer};
use super::tx::WriteTx;
use super::writer::{Listeners, WriterState};
use super::{StoreError, dialect, ledger};
use crate::ledger::clock::Clock;

/// The most jobs committed in one transaction.
pub const MAX_BATCH_JOBS: usize = 512;
/// How many jobs may wait for the writer before callers wait to enqueue (back-pressure).
pub const QUEUE_CAPACITY: usize = 8192;

/// A job runs against the write transaction, or is told why there is none; it returns whether
/// it succeeded and how to answer its caller once the batch's fate is known.
type JobFn = Box<dyn FnOnce(Result<&mut WriteTx<'_>, StoreError>) -> (bool, Completion) + Send>;

/// A job and the idempotency key (owner, key) it will look up, if any: the writer reads the
/// records of a whole batch's keys with one query.
struct Job {
    key: Option<(String, String)>,
    run: JobFn,
}

pub struct Sequencer {
    queue: RwLock<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    stats: Arc<BatchStats>,
}

/// Upper bounds of the batch-size histogram's buckets.
pub const BATCH_BUCKETS: [usize; 8] = [1, 2, 4, 8, 16, 64, 256, MAX_BATCH_JOBS];

/// What the writer has done, for `/metrics`.
#[derive(Debug, Default)]
pub struct BatchStats {
    pub committed: AtomicU64,
    pub failed: AtomicU64,
    pub jobs: AtomicU64,
    /// Batches with at most `BATCH_BUCKETS[i]` jobs (cumulative, as Prometheus counts them).
    pub by_size: [AtomicU64; BATCH_BUCKETS.len()],
    /// SQLite: the write-ahead log's syncs, each answering the batches committed before it.
    pub log_syncs: Arc<SyncCounts>,
}

impl BatchStats {
    fn record(&self, size: usize, ok: bool) {
        let counter = if ok { &self.committed } else { &self.failed };
        counter.fetch_add(1, Ordering::Relaxed);
        self.jobs.fetch_add(size as u64, Ordering::Relaxed);
        for (bound, bucket) in BATCH_BUCKETS.iter().zip(&self.by_size) {
            if size <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Wraps a typed write into a job and the receiver of its answer.
fn job<T, E, F>(key: Option<(String, String)>, f: F) -> (Job, oneshot::Receiver<Result<T, E>>)
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
    F: FnOnce(&mut WriteTx<'_>) -> Result<T, E> + Send + 'static,
{
    let (answer, receiver) = oneshot::channel();
    let run: JobFn = Box::new(move |tx: Result<&mut WriteTx<'_>, StoreError>| {
        let result = tx.map_err(E::from).and_then(f);
        let ok = result.is_ok();
        let completion: Completion = Box::new(move |commit: Result<(), StoreError>| {
            let out = match (result, commit) {
                (Ok(value), Ok(())) => Ok(value),
                (Ok(_), Err(e)) => Err(E::from(e)),
                // A refused job's own reason stands whatever became of the batch.
                (Err(e), _) => Err(e),
            };
            // The caller may have gone away (client disconnected): the write stands regardless.
            let _ = answer.send(out);
        });
        (ok, completion)
    });
    (Job { key, run }, receiver)
}

impl Sequencer {
    /// Starts the writer on `url`, stamping rows with `clock` and adding what `observer` makes
    /// of each entry to the profile. `restart_log` (SQLite): raised by the checkpointer when the
    /// writer should restart the log between two batches.
    pub fn start(
        url: DatabaseUrl,
        restart_log: Arc<AtomicBool>,
        clock: Clock,
        observers: Listeners,
    ) -> Result<Self, StoreError> {
        let (queue, jobs) = mpsc::channel(QUEUE_CAPACITY);
        let stats = Arc::new(BatchStats::default());
        let writer_stats = stats.clone();
        let thread = std::thread::Builder::new()
            .name("sequencer".into())
            .spawn(move || run(url, jobs, &writer_stats, &restart_log, (clock, observers)))
            .map_err(|e| StoreError::Unavailable(format!("cannot start the writer thread: {e}")))?;
        Ok(Self {
            queue: RwLock::new(Some(queue)),
            thread: Mutex::new(Some(thread)),
            stats,
        })
    }

    pub fn stats(&self) -> &BatchStats {
        &self.stats
    }

    fn sender(&self) -> Result<mpsc::Sender<Job>, StoreError> {
        let guard = self.queue.read().unwrap_or_else(PoisonError::into_inner);
        guard.clone().ok_or(StoreError::WriterStopped)
    }

    /// Runs `f` in the next batch and returns its result once the batch is durable. `key`: the
    /// idempotency key `(owner, key)` that `f` will look up, read ahead for the whole batch.
    pub async fn write<T, E, F>(&self, key: Option<(String, String)>, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut WriteTx<'_>) -> Result<T, E> + Send + 'static,
    {
        let (job, answer) = job(key, f);
        self.sender()?
            .send(job)
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        answer.await.map_err(|_| StoreError::WriterFailed)?
    }

    /// [`Sequencer::write`] for callers outside an async runtime (the CLI).
    pub fn write_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut WriteTx<'_>) -> Result<T, E> + Send + 'static,
    {
        let (job, answer) = job(None, f);
        self.sender()?
            .blocking_send(job)
            .map_err(|_| StoreError::WriterStopped)?;
        answer
            .blocking_recv()
            .map_err(|_| StoreError::WriterFailed)?
    }

    /// Stops taking jobs, lets the queued ones commit, and waits for the writer to finish.
    pub fn shutdown(&self) {
        self.queue
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let handle = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            // A panic in the writer was already reported to its callers as WriterFailed.
            let _ = handle.join();
        }
    }
}

impl Drop for Sequencer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The writer thread: runs until every sender is gone and the queue is empty.
fn run(
    url: DatabaseUrl,
    mut jobs: mpsc::Receiver<Job>,
    stats: &BatchStats,
    restart_log: &AtomicBool,
    (clock, listeners): (Clock, Listeners),
) {
    // SQLite: commits skip the fsync and a syncer thread answers callers after one (see
    // `syncer.rs` for why nothing acknowledged can be lost). Without it, commits fsync.
    let syncer = match &url {
        DatabaseUrl::Sqlite(path) => Syncer::start(path, stats.log_syncs.clone())
            .inspect_err(
                |e| tracing::warn!(error = %e, "log syncer unavailable; commits fsync themselves"),
            )
            .ok(),
        DatabaseUrl::Postgres(_) => None,
    };
    let mut conn: Option<DbConn> = None;
    let mut state = WriterState::new(clock, listeners);
    // Jobs put off to the next batch because an earlier job of theirs held the same key.
    let mut carried: Vec<Job> = Vec::new();
    while let Some(batch) = next_batch(&mut jobs, &mut carried) {
        if syncer.as_ref().is_some_and(Syncer::has_failed) {
            refuse(
                batch,
                &StoreError::Unavailable(
                    "the write-ahead log could not be synced; restart the service".into(),
                ),
            );
            continue;
        }
        if conn.is_none() {
            match connect_writer(&url, syncer.is_some()) {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    tracing::error!(error = %e, jobs = batch.len(), "writer cannot reach the database");
                    refuse(batch, &e);
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        let (batch, later) = split_duplicate_keys(batch);
        carried = later;
        let size = batch.len();
        let (completions, outcome) = run_batch(c, &mut state, batch);
        stats.record(size, outcome.is_ok());
        if let Err(e) = &outcome {
            tracing::error!(error = %e, jobs = size, "write batch rolled back");
            // The connection may be broken; a fresh one is opened for the next batch.
            conn = None;
            state.batch_failed();
        } else {
            tracing::trace!(jobs = size, "write batch committed");
        }
        match (&syncer, &outcome) {
            (Some(syncer), Ok(())) => syncer.after_sync(completions),
            _ => {
                for completion in completions {
                    completion(outcome.clone());
                }
            }
        }
        if restart_log.swap(false, Ordering::Relaxed)
            && let Some(c) = conn.as_mut()
        {
            restart_wal(c);
        }
    }
    // Dropping the syncer answers every batch still waiting for its fsync.
    drop(syncer);
}

/// The next batch: jobs carried over first, else the first to arrive (waiting for it), then
/// whatever else is queued, up to [`MAX_BATCH_JOBS`]. `None` once every sender is gone.
fn next_batch(jobs: &mut mpsc::Receiver<Job>, carried: &mut Vec<Job>) -> Option<Vec<Job>> {
    let first = if carried.is_empty() {
        jobs.blocking_recv()?
    } else {
        carried.remove(0)
    };
    let mut batch = Vec::with_capacity(64);
    batch.push(first);
    batch.append(carried);
    while batch.len() < MAX_BATCH_JOBS {
        match jobs.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    Some(batch)
}

/// Answers every job of a batch that cannot run with `e`.
fn refuse(batch: Vec<Job>, e: &StoreError) {
    for job in batch {
        let (_, completion) = (job.run)(Err(e.clone()));
        completion(Err(e.clone()));
    }
}

/// The writer's own connection; with a log syncer (SQLite), its commits leave the fsync to it.
fn connect_writer(url: &DatabaseUrl, synced_elsewhere: bool) -> Result<DbConn, StoreError> {
    let mut c = url.connect()?;
    if synced_elsewhere {
        c.batch_execute(dialect::SQLITE_WRITER_SYNCED_ELSEWHERE)?;
    }
    Ok(c)
}

/// Starts the SQLite log over between two batches, as the checkpointer asked.
fn restart_wal(c: &mut DbConn) {
    let started = std::time::Instant::now();
    match c.batch_execute(dialect::SQLITE_WAL_RESTART) {
        Ok(()) => tracing::debug!(
            pause_us = started.elapsed().as_micros(),
            "write-ahead log restarted"
        ),
        Err(e) => tracing::warn!(
            error = %e,
            "restarting the write-ahead log failed; retrying later"
        ),
    }
}

/// Keeps one job per idempotency key in a batch; the others wait for the next batch, where the
/// first one's response is recorded and they are answered from it.
fn split_duplicate_keys(batch: Vec<Job>) -> (Vec<Job>, Vec<Job>) {
    let mut seen = std::collections::HashSet::new();
    let (mut now, mut later) = (Vec::with_capacity(batch.len()), Vec::new());
    for job in batch {
        match &job.key {
            Some(key) if !seen.insert(key.clone()) => later.push(job),
            _ => now.push(job),
        }
    }
    (now, later)
}

/// Runs one batch in one transaction. Returns the callers' completions and the batch outcome.
fn run_batch(
    conn: &mut DbConn,
    state: &mut WriterState,
    batch: Vec<Job>,
) -> (Vec<Completion>, Result<(), StoreError>) {
    let mut completions = Vec::with_capacity(batch.len());
    let attempt = || -> Result<(), StoreError> {
        dialect::begin_write(conn)?;
        state.begin_batch(ledger::read_head(conn)?);
        let keys: Vec<&(String, String)> = batch.iter().filter_map(|j| j.key.as_ref()).collect();
        state.prefetch_idempotency(conn, &keys)?;
        for job in batch {
            state.begin_job();
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                let mut tx = WriteTx::new(&mut *conn, &mut *state);
                (job.run)(Ok(&mut tx))
            }));
            match outcome {
                Ok((true, completion)) => {
                    state.job_succeeded(conn)?;
                    completions.push(completion);
                }
                Ok((false, completion)) => {
                    state.job_failed(conn)?;
                    completions.push(completion);
                }
                Err(_) => {
                    // The job panicked (a broken invariant); its caller sees WriterFailed.
                    tracing::error!("a write job panicked; its changes were rolled back");
                    state.job_failed(conn)?;
                }
            }
            if state.is_broken() {
                return Err(StoreError::Database(
                    "writing the batch's rows failed; the batch is rolled back".into(),
                ));
            }
        }
        state.render_deferred()?;
        state.flush(conn)?;
        dialect::commit_write(conn)?;
        state.batch_committed();
        Ok(())
    };
    let outcome = attempt();
    if outcome.is_err() {
        // Best effort: the connection is dropped after a failed batch anyway.
        let _ = dialect::rollback(conn);
        state.batch_failed();
    }
    (completions, outcome)
}
