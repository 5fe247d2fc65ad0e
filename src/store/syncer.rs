//! SQLite only: callers are answered once the write-ahead log holding their batch is on disk,
//! by a thread of its own, so that the writer can run the next batch during the fsync.
//!
//! The writer's connection commits with `synchronous = NORMAL`: `COMMIT` writes the batch's
//! frames to the log file without waiting for the disk. This thread then calls `fdatasync` on
//! the log and only after it returns answers the callers of every batch committed before the
//! call. Why no acknowledged write can be lost:
//!
//! * `fdatasync` makes every byte written to the file before it durable, whichever descriptor
//!   wrote it; the callers answered after it had their frames written (their `COMMIT` had
//!   returned) before it began.
//! * SQLite recovers a log as a prefix: it replays frames in order while their cumulative
//!   checksums hold and keeps the transactions up to the last whole commit frame. A synced
//!   batch is therefore recovered with everything before it, whatever came after.
//! * The log is overwritten from its start only after a checkpoint has copied every frame into
//!   the database file and synced that file (checkpoints sync the log first and the database
//!   after, in `NORMAL` as in `FULL`); it is deleted only after such a checkpoint. So a log
//!   that is gone, or restarted, holds nothing that is not already durable elsewhere.
//!
//! The price: another connection may read a batch in the ~millisecond between its commit and
//! the fsync. After a power cut such a batch is gone, and since its callers were never
//! answered they retry under their idempotency keys. If `fdatasync` fails, the kernel may have
//! dropped the pages; the batch's callers get an error and the writer refuses every later write
//! until the service is restarted and SQLite recovers from what is on disk.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;

use super::StoreError;

/// How a caller is answered once its batch's fate is known.
pub type Completion = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

pub struct Syncer {
    batches: Option<mpsc::Sender<Vec<Completion>>>,
    thread: Option<JoinHandle<()>>,
    failed: Arc<AtomicBool>,
}

/// How many syncs of the log began and how many ended (`/metrics` shows them); they also let a
/// test see that no caller is answered before a sync that began after its batch was handed over
/// has ended.
#[derive(Debug, Default)]
pub struct SyncCounts {
    pub started: AtomicU64,
    pub ended: AtomicU64,
}

impl Syncer {
    /// Starts syncing the log of the SQLite database at `database`, counting into `counts`.
    pub fn start(database: &std::path::Path, counts: Arc<SyncCounts>) -> Result<Self, StoreError> {
        let mut log = database.as_os_str().to_owned();
        log.push("-wal");
        let log = PathBuf::from(log);
        let (batches, waiting) = mpsc::channel();
        let failed = Arc::new(AtomicBool::new(false));
        let flag = failed.clone();
        let counted = counts;
        let thread = std::thread::Builder::new()
            .name("log-syncer".into())
            .spawn(move || run(&log, &waiting, &flag, &counted))
            .map_err(|e| StoreError::Unavailable(format!("cannot start the log syncer: {e}")))?;
        Ok(Self {
            batches: Some(batches),
            thread: Some(thread),
            failed,
        })
    }

    /// Answers a committed batch's callers once the log is on disk.
    pub fn after_sync(&self, completions: Vec<Completion>) {
        let Some(batches) = &self.batches else {
            return;
        };
        if let Err(mpsc::SendError(completions)) = batches.send(completions) {
            // The thread is gone (it cannot be, short of a panic): nobody may be told "done".
            for c in completions {
                c(Err(StoreError::WriterFailed));
            }
        }
    }

    /// Whether a sync has failed: no further write may be taken.
    pub fn has_failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }
}

impl Drop for Syncer {
    /// Answers everything still waiting before the writer goes away.
    fn drop(&mut self) {
        self.batches.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(
    log: &std::path::Path,
    waiting: &mpsc::Receiver<Vec<Completion>>,
    failed: &AtomicBool,
    counts: &SyncCounts,
) {
    while let Ok(first) = waiting.recv() {
        let mut batches = vec![first];
        // Every batch committed by now is covered by one fsync.
        batches.extend(waiting.try_iter());
        counts.started.fetch_add(1, Ordering::SeqCst);
        let synced = if failed.load(Ordering::SeqCst) {
            Err(StoreError::WriterFailed)
        } else {
            sync(log)
        };
        counts.ended.fetch_add(1, Ordering::SeqCst);
        if let Err(e) = &synced {
            failed.store(true, Ordering::SeqCst);
            tracing::error!(error = %e, "the write-ahead log could not be synced; writes are refused until a restart");
        }
        for completion in batches.into_iter().flatten() {
            completion(synced.clone());
        }
    }
}

/// `fdatasync` of the log file. A log that does not exist was checkpointed into the database
/// file, synced, and removed: everything in it is durable.
fn sync(log: &std::path::Path) -> Result<(), StoreError> {
    match std::fs::File::open(log) {
        Ok(file) => file
            .sync_data()
            .map_err(|e| StoreError::Unavailable(format!("syncing the log: {e}"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::Unavailable(format!("opening the log: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    fn answered(syncer: &Syncer, n: usize) -> Vec<Result<(), StoreError>> {
        let (tx, rx) = channel();
        let completions: Vec<Completion> = (0..n)
            .map(|_| {
                let tx = tx.clone();
                Box::new(move |r: Result<(), StoreError>| tx.send(r).unwrap()) as Completion
            })
            .collect();
        syncer.after_sync(completions);
        (0..n)
            .map(|_| rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap())
            .collect()
    }

    /// Every caller is answered only after a sync that began after its batch was handed over
    /// has ended. Syncs run one after another, so if `k` had begun at the hand-over, sync `k + 1`
    /// is the first that covers the batch, and `ended > k` when the caller is answered says it
    /// is done. Batches are handed over back to back, so some arrive while a sync is running.
    #[test]
    fn callers_are_answered_after_the_log_is_synced() {
        let dir = std::env::temp_dir().join(format!("coalition-syncer-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("ledger.db");
        let counts = Arc::new(SyncCounts::default());
        let syncer = Syncer::start(&db, counts.clone()).unwrap();
        // No log yet (checkpointed and removed): nothing is waiting on the disk.
        assert!(answered(&syncer, 3).iter().all(Result::is_ok));
        std::fs::write(dir.join("ledger.db-wal"), b"frames").unwrap();
        let (tx, rx) = channel();
        const BATCHES: u64 = 200;
        for batch in 0..BATCHES {
            let begun_at_hand_over = counts.started.load(Ordering::SeqCst);
            let completions: Vec<Completion> = (0..3)
                .map(|_| {
                    let (tx, counts) = (tx.clone(), counts.clone());
                    Box::new(move |r: Result<(), StoreError>| {
                        let ended = counts.ended.load(Ordering::SeqCst);
                        tx.send((batch, r.is_ok(), begun_at_hand_over, ended))
                            .unwrap();
                    }) as Completion
                })
                .collect();
            syncer.after_sync(completions);
        }
        for _ in 0..BATCHES * 3 {
            let (batch, ok, begun, ended) =
                rx.recv_timeout(std::time::Duration::from_secs(30)).unwrap();
            assert!(ok, "batch {batch}");
            assert!(
                ended > begun,
                "batch {batch} answered with {ended} syncs ended, {begun} begun at its hand-over"
            );
        }
        // Batches handed over during a sync share the next one: fewer syncs than batches is
        // allowed, more is not.
        assert!(counts.ended.load(Ordering::SeqCst) <= BATCHES + 1);
        assert!(!syncer.has_failed());
        drop(syncer);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_sync_refuses_the_batch_and_every_later_one() {
        // A log path below a regular file cannot be opened (ENOTDIR): the sync fails.
        let file = std::env::temp_dir().join(format!("coalition-syncer-{}", uuid::Uuid::new_v4()));
        std::fs::write(&file, b"not a directory").unwrap();
        let syncer = Syncer::start(&file.join("ledger.db"), Arc::default()).unwrap();
        assert!(answered(&syncer, 2).iter().all(Result::is_err));
        assert!(syncer.has_failed());
        assert!(answered(&syncer, 1).iter().all(Result::is_err));
        drop(syncer);
        std::fs::remove_file(&file).unwrap();
    }
}
