//! The idempotent write: who is calling, under which key, and the one job on the writer that
//! looks the key up, runs the use case's work and leaves its response to be stored with it.

use super::context::Context;
use super::views::Render;
use super::{Clearing, ClearingError, Invalid};
use crate::ledger::{EntryKind, EntryMeta, KeyId, MemberId, PartnerId};
use crate::store::idempotency::{self, Recorded};
use crate::store::{self, WriteTx};

/// The longest `Idempotency-Key`, in bytes.
pub const MAX_IDEMPOTENCY_KEY_BYTES: usize = 255;

/// A write a use case hands to [`Clearing::once`]: it runs on the writer, inside the batch's
/// transaction, with the shared context.
pub trait Work<T>:
    FnOnce(&Context, &mut WriteTx<'_>) -> Result<T, ClearingError> + Send + 'static
{
}
impl<T, F> Work<T> for F where
    F: FnOnce(&Context, &mut WriteTx<'_>) -> Result<T, ClearingError> + Send + 'static
{
}

/// Who signed the request: the partner, the key, and the signature as received.
#[derive(Debug, Clone)]
pub struct Caller {
    pub partner: PartnerId,
    pub key_id: KeyId,
    pub signature: String,
}

impl Caller {
    /// What an entry this caller asked for records about it.
    pub(crate) fn meta(
        &self,
        kind: EntryKind,
        member: MemberId,
        reference: Option<String>,
    ) -> EntryMeta {
        EntryMeta {
            kind,
            partner: Some(self.partner.clone()),
            member: Some(member),
            reference,
            reverses: None,
            key_id: Some(self.key_id.clone()),
            signature: Some(self.signature.clone()),
            memo: None,
        }
    }
}

/// An `Idempotency-Key` and the hash of the request it came with.
#[derive(Debug, Clone)]
pub struct Idempotency {
    key: String,
    request_hash: String,
}

impl Idempotency {
    /// Checks the key (1 to 255 printable ASCII characters) and hashes what the request asked.
    pub fn new(key: &str, method: &str, path: &str, body: &[u8]) -> Result<Self, ClearingError> {
        if key.is_empty()
            || key.len() > MAX_IDEMPOTENCY_KEY_BYTES
            || !key.bytes().all(|b| (0x20..0x7f).contains(&b))
        {
            return Err(ClearingError::InvalidRequest(Invalid::IdempotencyKey(
                MAX_IDEMPOTENCY_KEY_BYTES,
            )));
        }
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for part in [method.as_bytes(), b" ", path.as_bytes(), b"\n", body] {
            ctx.update(part);
        }
        let request_hash = ctx
            .finish()
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Self {
            key: key.to_owned(),
            request_hash,
        })
    }
}

impl Idempotency {
    /// The key and the request's hash together: what makes two sends the same request.
    pub fn fingerprint(&self) -> String {
        format!("{} {}", self.key, self.request_hash)
    }
}

/// A response, given for the first time or again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub replayed: bool,
}

fn replay(recorded: Recorded, request_hash: &str) -> Result<Reply, ClearingError> {
    if recorded.request_hash != request_hash {
        return Err(ClearingError::IdempotencyConflict);
    }
    Ok(Reply {
        status: recorded.status,
        body: recorded.body,
        replayed: true,
    })
}

/// What a write under [`Clearing::once_as`] gives back: a replayed response, or the slot the
/// writer rendered the new one into.
enum Answer {
    Ready(Reply),
    Deferred(store::ResponseSlot),
}

impl Clearing {
    /// Runs `work` once per idempotency key: a retry gets the first response back, another
    /// request under the same key is refused. `render`, one of [`views`](super::views)'
    /// renderers, turns the result into the response, which is stored with the write in the same
    /// transaction.
    pub async fn once<T, W>(
        &self,
        caller: &Caller,
        idem: Idempotency,
        work: W,
        render: Render<T>,
    ) -> Result<Reply, ClearingError>
    where
        T: Send + 'static,
        W: FnOnce(&Context, &mut WriteTx<'_>) -> Result<T, ClearingError> + Send + 'static,
    {
        self.once_as(caller.partner.to_string(), Some(idem), work, render)
            .await
    }

    /// [`Clearing::once`] for any owner of keys (`member:{id}` for members), with the key
    /// optional: without one the write simply runs.
    pub async fn once_as<T, W>(
        &self,
        owner: String,
        idem: Option<Idempotency>,
        work: W,
        render: Render<T>,
    ) -> Result<Reply, ClearingError>
    where
        T: Send + 'static,
        W: FnOnce(&Context, &mut WriteTx<'_>) -> Result<T, ClearingError> + Send + 'static,
    {
        // The key is looked up inside the write only: a retry is rare, and the writer reads the
        // keys of a whole batch with one query.
        let idem_key = idem.as_ref().map(|i| i.key.clone());
        let key_owner = owner.clone();
        let ctx = self.ctx.clone();
        let write = move |tx: &mut WriteTx<'_>| {
            // Inside the write, concurrent duplicates post once.
            if let Some(idem) = &idem
                && let Some(recorded) = idempotency::lookup_tx(tx, &owner, &idem.key)?
            {
                return replay(recorded, &idem.request_hash).map(Answer::Ready);
            }
            let value = work(&ctx, tx)?;
            // The response (JSON and, for entries, a signed receipt) is rendered once all the
            // batch's jobs have run, and stored under the key in the same transaction.
            let record = idem.map(|i| ((owner, i.key), i.request_hash));
            let slot = tx.defer_response(record, Box::new(move || render(&ctx, value)));
            Ok(Answer::Deferred(slot))
        };
        let answer = match idem_key {
            Some(key) => self.store.write_keyed(&key_owner, &key, write).await,
            None => self.store.write(write).await,
        }?;
        match answer {
            Answer::Ready(reply) => Ok(reply),
            Answer::Deferred(slot) => {
                let rendered = slot
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take();
                let (status, body) =
                    rendered.ok_or(ClearingError::Store(store::StoreError::WriterFailed))?;
                Ok(Reply {
                    status,
                    body,
                    replayed: false,
                })
            }
        }
    }
}
