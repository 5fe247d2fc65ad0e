//! Responses a batch's jobs leave to render after every job has run, and the idempotency keys
//! they will be kept under: a job's answer is rendered once, before the batch commits, and stored
//! in the same transaction as the write it answers.

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, PoisonError};

use super::StoreError;
use super::rows::{OwnerKey, Recorded};

/// A response rendered after the batch's jobs ran and before it commits; its idempotency
/// record is written with the batch.
pub type Render = Box<dyn FnOnce() -> (u16, String) + Send>;

/// Where a deferred response is left for its caller (filled before the batch commits).
pub type ResponseSlot = Arc<Mutex<Option<(u16, String)>>>;

/// An idempotency key and the hash of the request that came with it.
pub(super) type KeyedRequest = (OwnerKey, String);

/// A rendered response to keep: its key, the record, the member it names.
pub(super) type RenderedRecord = (OwnerKey, Recorded, Option<String>);

/// A response to render, and the key to keep it under.
struct Deferred {
    record: Option<KeyedRequest>,
    /// The member the job acted for: the record is removed when they are erased.
    member: Option<String>,
    render: Render,
    slot: ResponseSlot,
}

/// The batch's deferred responses, in the order their jobs ran.
#[derive(Default)]
pub(super) struct Replies {
    deferred: Vec<Deferred>,
    /// Idempotency keys whose response is deferred (a second use in the batch must wait).
    reserved: HashSet<OwnerKey>,
}

impl Replies {
    /// How many responses are deferred: a job's undo mark.
    pub fn len(&self) -> usize {
        self.deferred.len()
    }

    pub fn clear(&mut self) {
        self.deferred.clear();
        self.reserved.clear();
    }

    /// Leaves a response to render; with a key, it is kept under it in the same transaction.
    pub fn defer(
        &mut self,
        record: Option<KeyedRequest>,
        member: Option<String>,
        render: Render,
    ) -> ResponseSlot {
        if let Some((key, _)) = &record {
            self.reserved.insert(key.clone());
        }
        let slot: ResponseSlot = Arc::default();
        self.deferred.push(Deferred {
            record,
            member,
            render,
            slot: slot.clone(),
        });
        slot
    }

    /// Forgets the responses deferred since `mark` (their job was refused).
    pub fn undo_from(&mut self, mark: usize) {
        for d in self.deferred.drain(mark..) {
            if let Some((key, _)) = d.record {
                self.reserved.remove(&key);
            }
        }
    }

    /// Whether a job of this batch holds `key` with its response still to render.
    pub fn is_reserved(&self, owner: &str, key: &str) -> bool {
        self.reserved.contains(&(owner.to_owned(), key.to_owned()))
    }

    /// Renders every deferred response into its slot and returns the records to keep. A render
    /// that panics fails the batch: its entry must not commit without the response it promised.
    pub fn render_all(&mut self) -> Result<Vec<RenderedRecord>, StoreError> {
        let deferred = std::mem::take(&mut self.deferred);
        self.reserved.clear();
        let mut records = Vec::with_capacity(deferred.len());
        // Rendered here, in one go (docs/performance.md: a helper thread was slower).
        for d in deferred {
            let Ok((status, body)) = catch_unwind(AssertUnwindSafe(d.render)) else {
                return Err(StoreError::Database(
                    "rendering a response failed; the batch is rolled back".into(),
                ));
            };
            *d.slot.lock().unwrap_or_else(PoisonError::into_inner) = Some((status, body.clone()));
            if let Some((key, request_hash)) = d.record {
                records.push((
                    key,
                    Recorded {
                        request_hash,
                        status,
                        body,
                    },
                    d.member,
                ));
            }
        }
        Ok(records)
    }
}
