//! The double-entry core: units, accounts, entries, the hash chain and the invariants.
//!
//! Nothing here knows about HTTP, SQL or partners' business rules; `store` persists what this
//! module defines and `clearing` decides which entries to write.

pub mod account;
pub mod amount;
pub mod balance;
pub mod card;
pub mod chain;
pub mod clock;
pub mod entry;
mod findings;
pub mod flows;
pub mod ids;
pub mod invariants;
pub mod kind;
pub mod parties;
mod shapes;
pub mod unit;

pub use account::{Account, AccountKind};
pub use amount::{Amount, AmountError, Scale, format_minor};
pub use balance::{BalanceError, apply_posting};
pub use card::{CardError, CardNumber, CardPrefix};
pub use chain::{ChainHash, RawEntry, RawPosting};
pub use entry::{
    BalancedEntry, CommittedEntry, CorruptEntryError, EntryDraft, EntryError, EntryKind, EntryMeta,
    Posting,
};
pub use ids::{
    CampaignId, EntryId, IdError, InteractionId, KeyId, MemberId, NETWORK, PartnerId, Party,
    RewardId, SegmentId, UnitCode,
};
pub use invariants::{Check, RawBalance, Verifier};
pub use unit::{Unit, UnitKind, Units};
