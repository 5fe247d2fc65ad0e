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
/// How often the thread looks whether it should stop.
const STOP_POLL_MS: u64 = 50;

pub struct Checkpointer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing `url` (a SQLite database) in the background.
    pub fn start(url: DatabaseUrl) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("checkpointer".into())
            .spawn(move || run(&url, &flag))?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

fn run(url: &DatabaseUrl, stop: &AtomicBool) {
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
        if let Some(c) = conn.as_mut()
            && let Err(e) = c.batch_execute(dialect::SQLITE_CHECKPOINT)
        {
            tracing::warn!(error = %e, "WAL checkpoint failed; retrying");
            conn = None;
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
