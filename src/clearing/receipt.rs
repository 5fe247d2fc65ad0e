//! What an entry write answers: the entry with its status, and the receipt the network signs
//! over it.

use serde::{Deserialize, Serialize};

use super::context::Context;
use super::time;
use crate::crypto::jws;
use crate::ledger::CommittedEntry;
use crate::store::status::EntryStatus;

/// An entry and the status it has now (`posted` for an entry that is no operation of its own:
/// a reversal, a void, a conversion…).
#[derive(Debug, Clone)]
pub struct Posted {
    pub entry: CommittedEntry,
    pub status: EntryStatus,
    /// For an earn: the coupons its purchase issued, as `(code, campaign_id)`.
    pub coupons_issued: Option<Vec<(String, String)>>,
}

/// One posting of a receipt: amounts signed, debit positive, as decimal strings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PostingClaim {
    pub account: String,
    pub unit: String,
    pub amount: String,
}

/// The claims of a receipt's JWS.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReceiptClaims {
    pub iss: String,
    pub entry_id: String,
    pub seq: i64,
    pub kind: String,
    pub status: String,
    pub partner: Option<String>,
    pub member_id: Option<String>,
    pub reference: Option<String>,
    pub reverses: Option<String>,
    pub hash: String,
    pub prev_hash: String,
    pub iat: i64,
    pub created_at: String,
    pub postings: Vec<PostingClaim>,
}

/// The postings of `entry` as a receipt shows them.
pub fn postings(entry: &CommittedEntry) -> Vec<PostingClaim> {
    entry
        .postings
        .iter()
        .map(|p| PostingClaim {
            account: p.account.to_string(),
            unit: p.account.unit().to_string(),
            amount: p.amount.to_string(),
        })
        .collect()
}

/// The receipt: a compact JWS (EdDSA, the network key) over the entry's claims.
pub fn receipt(ctx: &Context, entry: &CommittedEntry, status: EntryStatus) -> String {
    let claims = ReceiptClaims {
        iss: ctx.network.name.clone(),
        entry_id: entry.id.to_string(),
        seq: entry.seq,
        kind: entry.meta.kind.to_string(),
        status: status.as_str().to_owned(),
        partner: entry.meta.partner.as_ref().map(ToString::to_string),
        member_id: entry.meta.member.as_ref().map(ToString::to_string),
        reference: entry.meta.reference.clone(),
        reverses: entry.meta.reverses.as_ref().map(ToString::to_string),
        hash: entry.hash.to_string(),
        prev_hash: entry.prev_hash.to_string(),
        iat: entry.created_at_us / 1_000_000,
        created_at: time::rfc3339(entry.created_at_us),
        postings: postings(entry),
    };
    jws::sign_compact(&ctx.key, &ctx.kid, &claims)
}
