//! SQLite's WAL checkpoints, on a thread of their own so the writer never pays for them.
//!
//! The writer's connection has automatic checkpoints off (see `conn::session_setup`); left
//! on, every thousandth page made one commit copy the log into the database file while the
//! callers of that batch waited. A passive checkpoint never blocks the writer; durability does
//! not depend on it (each commit is already fsynced in the log).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use diesel::{QueryResult, RunQueryDsl};

use super::conn::{DatabaseUrl, DbConn};
use super::dialect;

/// How often the log is copied into the database file.
pub const CHECKPOINT_INTERVAL_MS: u64 = 250;
/// Past this many frames (pages of 4 KiB) in the log the writer is asked to restart it (see
/// [`run`]): 512 MiB, a few seconds of full load. Each restart pauses the writer for a few ms;
/// restarting every 64 MiB was measured to raise p99, keeping the log forever to cost CPU.
pub const RESTART_AFTER_FRAMES: i64 = 131_072;
/// The writer's restart copies what was written since the checkpointer's last pass began;
/// passes are repeated until one had at most this many frames to copy, so that stays short.
pub const RESTART_LEFT_FRAMES: i64 = 128;
/// Passes before the writer is asked anyway (each pass copies what was written during the one
/// before, so under any load the checkpointer keeps up with, a few passes suffice).
const MAX_PASSES: usize = 16;
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
/// log would only grow (gigabytes a minute, each new block allocated by the file system as it
/// is written, and every page lookup searching a longer log index). A `RESTART` checkpoint from
/// here would wait for a gap between the writer's transactions that it practically never gets;
/// so once the log holds [`RESTART_AFTER_FRAMES`], this thread copies passes until little is
/// left, raises `restart_log`, and the writer runs the `RESTART` itself between two batches,
/// copying only the rest. The log file is then rewritten from its beginning, in place.
fn run(url: &DatabaseUrl, stop: &AtomicBool, restart_log: &AtomicBool) {
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
        let Some(c) = conn.as_mut() else { continue };
        if let Err(e) = checkpoint(c, restart_log, RESTART_AFTER_FRAMES, RESTART_LEFT_FRAMES) {
            tracing::warn!(error = %e, "WAL checkpoint failed; retrying");
            conn = None;
        }
    }
    // One last copy so a stopped service leaves a small log behind.
    if let Some(c) = conn.as_mut() {
        let _ = passive(c);
    }
}

/// One round: a passive pass, and when the log holds `after_frames`, more passes (until one had
/// at most `left_frames` to copy) and the writer's cue.
fn checkpoint(
    c: &mut DbConn,
    restart_log: &AtomicBool,
    after_frames: i64,
    left_frames: i64,
) -> QueryResult<()> {
    // While the writer's restart is pending, a pass here would hold the checkpoint lock the
    // restart needs, and the writer would sleep in SQLite's busy handler (tens of ms). An idle
    // writer restarts at its next batch; until then only the last pass's few frames wait.
    if restart_log.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut progress = passive(c)?;
    if progress.log < after_frames {
        return Ok(());
    }
    // A pass copies the log as it was when the pass began, so each pass copies what was
    // written during the one before; once that is little, so is what the writer will find.
    for _ in 1..MAX_PASSES {
        let before = progress.log;
        progress = passive(c)?;
        if progress.log - before <= left_frames {
            break;
        }
    }
    restart_log.store(true, Ordering::Relaxed);
    Ok(())
}

/// Of what `PRAGMA wal_checkpoint` reports, the frames in the log when the pass began.
#[derive(diesel::QueryableByName, Debug)]
struct Progress {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    log: i64,
}

fn passive(c: &mut DbConn) -> QueryResult<Progress> {
    diesel::sql_query(dialect::SQLITE_CHECKPOINT).get_result(c)
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::connection::SimpleConnection;

    /// Writes `rows` rows of 4 KiB in one transaction: about one log frame each.
    fn write(c: &mut DbConn, rows: usize) {
        let values = vec!["(zeroblob(4000))"; rows].join(",");
        c.batch_execute(&format!(
            "BEGIN; INSERT INTO t (x) VALUES {values}; COMMIT;"
        ))
        .unwrap();
    }

    #[test]
    fn a_long_log_is_copied_out_then_restarted_by_the_writer() {
        let dir = std::env::temp_dir().join(format!("coalition-ckpt-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = DatabaseUrl::Sqlite(dir.join("ledger.db"));
        let mut writer = url.connect().unwrap();
        writer
            .batch_execute(crate::store::conn::SQLITE_ONCE)
            .and_then(|()| writer.batch_execute("CREATE TABLE t (x BLOB NOT NULL)"))
            .unwrap();
        let mut checkpointer = url.connect().unwrap();
        let restart_log = AtomicBool::new(false);

        write(&mut writer, 50);
        checkpoint(&mut checkpointer, &restart_log, 200, 10).unwrap();
        assert!(
            !restart_log.load(Ordering::Relaxed),
            "a short log is only copied"
        );

        write(&mut writer, 300);
        checkpoint(&mut checkpointer, &restart_log, 200, 10).unwrap();
        assert!(
            restart_log.load(Ordering::Relaxed),
            "a long log cues the writer"
        );
        // While the cue is up, the checkpointer copies nothing (the database file stays as is).
        let db_bytes = || std::fs::metadata(dir.join("ledger.db")).unwrap().len();
        let before = db_bytes();
        write(&mut writer, 100);
        checkpoint(&mut checkpointer, &restart_log, 200, 10).unwrap();
        assert_eq!(
            db_bytes(),
            before,
            "no pass while the writer's restart is pending"
        );

        // The writer's restart, as the sequencer runs it, copies the rest out.
        writer.batch_execute(dialect::SQLITE_WAL_RESTART).unwrap();
        restart_log.store(false, Ordering::Relaxed);
        assert!(
            db_bytes() >= before + 100 * 4000,
            "the restart copied the log out"
        );
        write(&mut writer, 5);
        let rows: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "(SELECT COUNT(*) FROM t)",
        ))
        .get_result(&mut checkpointer)
        .unwrap();
        assert_eq!(rows, 455, "nothing was lost on the way");
        drop((writer, checkpointer));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
