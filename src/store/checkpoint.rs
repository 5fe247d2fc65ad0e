//! SQLite's WAL checkpoints, on a thread of their own so the writer never pays for them.
//!
//! The writer's connection has automatic checkpoints off (see `dialect::session_setup`); left
//! on, every thousandth page made one commit copy the log into the database file while the
//! callers of that batch waited. A passive checkpoint never blocks the writer; durability does
//! not depend on it (each commit is already fsynced in the log).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use diesel::connection::SimpleConnection;

use super::conn::DatabaseUrl;
use super::dialect;

/// How often the log is copied into the database file.
pub const CHECKPOINT_INTERVAL_MS: u64 = 500;
/// Past this size the writer is asked to restart the log (see [`run`]).
pub const MAX_WAL_BYTES: u64 = 512 * 1024 * 1024;
/// How often the thread looks whether it should stop.
const STOP_POLL_MS: u64 = 50;

pub struct Checkpointer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing `url` (a SQLite database) in the background; `restart_log` is
    /// raised when the writer should restart the log (see [`run`]).
    pub fn start(url: DatabaseUrl, restart_log: Arc<AtomicBool>) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("checkpointer".into())
            .spawn(move || run(&url, &flag, &restart_log))?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

/// Passive checkpoints never finish while the writer keeps appending, so under steady load the
/// log would only grow (gigabytes a minute, each new block zeroed by the file system as it is
/// written). A `RESTART` checkpoint from here would wait for a gap between the writer's
/// transactions that it practically never gets; so past [`MAX_WAL_BYTES`], right after a
/// passive pass (little is then left to copy), this thread raises `restart_log` and the writer
/// runs the `RESTART` itself between two batches. The log file is then rewritten in place.
fn run(url: &DatabaseUrl, stop: &AtomicBool, restart_log: &AtomicBool) {
    let log = match url {
        DatabaseUrl::Sqlite(path) => {
            let mut log = path.as_os_str().to_owned();
            log.push("-wal");
            Some(std::path::PathBuf::from(log))
        }
        DatabaseUrl::Postgres(_) => None,
    };
    let mut conn = None;
    let mut waited_ms = 0;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(STOP_POLL_MS));
        waited_ms += STOP_POLL_MS;
        if waited_ms < CHECKPOINT_INTERVAL_MS {
            continue;
        }
        waited_ms = 0;
        if conn.is_none() {
            conn = url.connect().ok();
        }
        let large = log
            .as_ref()
            .and_then(|l| std::fs::metadata(l).ok())
            .is_some_and(|m| m.len() > MAX_WAL_BYTES);
        if let Some(c) = conn.as_mut() {
            match c.batch_execute(dialect::SQLITE_CHECKPOINT) {
                // A second pass copies only what was written during the first, so that the
                // writer's restart right after it has next to nothing left to copy.
                Ok(()) if large => match c.batch_execute(dialect::SQLITE_CHECKPOINT) {
                    Ok(()) => restart_log.store(true, Ordering::Relaxed),
                    Err(e) => {
                        tracing::warn!(error = %e, "WAL checkpoint failed; retrying");
                        conn = None;
                    }
                },
                Ok(()) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "WAL checkpoint failed; retrying");
                    conn = None;
                }
            }
        }
    }
    // One last copy so a stopped service leaves a small log behind.
    if let Some(c) = conn.as_mut() {
        let _ = c.batch_execute(dialect::SQLITE_CHECKPOINT);
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
