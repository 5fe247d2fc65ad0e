//! The rows the writer keeps in memory between a job and the batch's flush, shared by the
//! table modules that read and write them and by the writer's caches.

use diesel::prelude::*;

use super::schema::{authorizations, campaigns, operations};
use super::status::{OperationKind, OperationStatus};
use crate::ledger::ChainHash;

/// The last entry in the chain, as the writer sees it inside its transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub seq: i64,
    pub hash: ChainHash,
    pub created_at_us: i64,
}

impl Head {
    pub const EMPTY: Head = Head {
        seq: 0,
        hash: ChainHash::GENESIS,
        created_at_us: 0,
    };
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = campaigns)]
pub struct CampaignRow {
    pub id: String,
    pub sponsor: String,
    pub currency: String,
    pub terms: String,
    pub budget_minor: i64,
    pub reserved_minor: i64,
    pub used_minor: i64,
    pub issued_count: i64,
    pub redeemed_count: i64,
    pub valid_from_us: i64,
    pub valid_until_us: i64,
    pub trigger_partner: Option<String>,
    pub trigger_min_minor: Option<i64>,
    pub created_at_us: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = operations)]
pub struct Operation {
    pub entry_id: String,
    #[diesel(deserialize_as = String)]
    pub kind: OperationKind,
    pub partner: String,
    pub member_id: String,
    pub unit: String,
    pub points_minor: i64,
    pub reversed_minor: i64,
    #[diesel(deserialize_as = String)]
    pub status: OperationStatus,
    pub expires_at_us: Option<i64>,
    /// For a hold: the entry that captured, voided or expired it.
    pub closed_by: Option<String>,
    pub created_at_us: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = authorizations)]
pub struct AuthorizationRow {
    pub code: String,
    pub member_id: String,
    pub partner: String,
    pub unit: String,
    pub max_minor: i64,
    pub used_minor: i64,
    pub expires_at_us: i64,
    pub created_at_us: i64,
}

/// A response given once, to be given again byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub request_hash: String,
    pub status: u16,
    pub body: String,
}

/// An idempotency key and the owner of keys it belongs to: `(owner, key)`.
pub type OwnerKey = (String, String);
