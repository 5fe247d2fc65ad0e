//! Members whose behaviour aggregates changed in a committed batch: what the segment worker
//! re-evaluates. The writer adds them only after the batch commits (a reader then sees what
//! changed), and only while something listens (`enable`): with no segments, nothing is kept.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// The most members kept between two drains; past it the set is dropped and a full pass is due.
pub const MAX_TOUCHED_MEMBERS: usize = 1_000_000;

#[derive(Debug, Default)]
pub struct Touched {
    enabled: AtomicBool,
    /// The set overflowed (or was dropped): every member must be looked at again.
    overflowed: AtomicBool,
    members: Mutex<HashSet<String>>,
}

impl Touched {
    /// Starts (or stops) keeping touched members.
    pub fn enable(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Adds members (after their batch committed, or a change outside the writer's entries).
    pub fn add_all(&self, members: impl IntoIterator<Item = String>) {
        if !self.is_enabled() {
            return;
        }
        let Ok(mut set) = self.members.lock() else {
            self.overflowed.store(true, Ordering::Relaxed);
            return;
        };
        set.extend(members);
        if set.len() > MAX_TOUCHED_MEMBERS {
            set.clear();
            self.overflowed.store(true, Ordering::Relaxed);
        }
    }

    /// Takes every member added so far, and whether a full pass is due instead.
    pub fn take(&self) -> (Vec<String>, bool) {
        let overflowed = self.overflowed.swap(false, Ordering::Relaxed);
        let members = match self.members.lock() {
            Ok(mut set) => set.drain().collect(),
            Err(_) => return (Vec::new(), true),
        };
        (members, overflowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_only_while_enabled_and_taken_once() {
        let t = Touched::default();
        t.add_all(["a".to_owned()]);
        assert_eq!(t.take(), (Vec::new(), false));
        t.enable(true);
        t.add_all(["a".to_owned(), "b".to_owned(), "a".to_owned()]);
        let (mut got, full) = t.take();
        got.sort();
        assert_eq!((got, full), (vec!["a".to_owned(), "b".to_owned()], false));
        assert_eq!(t.take(), (Vec::new(), false));
    }
}
