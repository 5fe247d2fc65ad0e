//! Why a use case was refused or failed: typed data, worded here and only here. The API maps each
//! variant to its error code (`api/problem.rs`) and sends this wording as the problem's detail.

use crate::ledger::{Amount, BalanceError, EntryError, EntryId, MemberId, PartnerId, UnitCode};
use crate::store::StoreError;
use crate::store::status::{CouponStatus, OperationStatus};

/// Why a use case was refused or failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClearingError {
    #[error("partner {0} is not in the network")]
    UnknownPartner(String),
    #[error("unit {0} is not known")]
    UnknownUnit(String),
    #[error("{0} is not a point unit")]
    NotPoints(UnitCode),
    #[error("partner {0} issues no unit of its own; name one")]
    NoOwnUnit(PartnerId),
    #[error("the amount is too large for the ledger")]
    AmountTooLarge,
    #[error("invalid amount: {0}")]
    InvalidAmount(String),
    #[error(transparent)]
    Entry(#[from] EntryError),
    #[error(transparent)]
    Balance(BalanceError),
    #[error(transparent)]
    Store(StoreError),
    #[error("member {0} is not enrolled in the network")]
    UnknownMember(String),
    #[error("{0}")]
    AuthorizationRequired(AuthorizationRefused),
    #[error("{0}")]
    NotFound(Missing),
    #[error("hold {hold} {state}")]
    HoldNotPending { hold: EntryId, state: HoldState },
    #[error("{0}")]
    NotReversible(Irreversible),
    #[error("this Idempotency-Key was already used with a different request")]
    IdempotencyConflict,
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    BudgetExhausted(BudgetShort),
    #[error("{0}")]
    CouponNotRedeemable(CouponRefusal),
    #[error("member {member} already {} {count} coupons of this campaign", if *.redeemed { "redeemed" } else { "holds" })]
    PerMemberLimit {
        member: MemberId,
        count: i64,
        /// Counted at redemption (else at issuance).
        redeemed: bool,
    },
    #[error("campaign {0} has ended")]
    CampaignEnded(String),
    #[error("member {member} is not enrolled with {partner}")]
    NotEnrolled {
        member: MemberId,
        partner: PartnerId,
    },
    #[error("{left} is left to pay on {partner}'s position")]
    Overpayment { left: Amount, partner: String },
    #[error("line {line}: {why}")]
    InvalidCsv { line: usize, why: String },
}

impl ClearingError {
    /// The database could not be reached: the same request may succeed if sent again.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, ClearingError::Store(s) if s.is_unavailable())
    }

    /// The stored ledger is not what the service wrote: an operator must look.
    pub fn is_corrupt(&self) -> bool {
        matches!(self, ClearingError::Store(StoreError::Corrupt(_)))
    }
}

impl From<StoreError> for ClearingError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Balance(b) => ClearingError::Balance(b),
            other => ClearingError::Store(other),
        }
    }
}

/// What a caller asked for that is not there, or not theirs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Missing {
    #[error("no entry {0} of this partner")]
    Entry(String),
    #[error("no hold {0} of this partner")]
    Hold(EntryId),
    #[error("no campaign {0}")]
    Campaign(String),
    #[error("no campaign {0} of this partner")]
    CampaignOfPartner(String),
    #[error("no coupon {0}")]
    Coupon(String),
    #[error("no such coupon")]
    AnyCoupon,
    #[error("no such coupon of this partner")]
    CouponOfPartner,
    #[error("no such coupon redemption of this partner")]
    CouponRedemption,
    #[error("unknown member {0}")]
    Member(MemberId),
    #[error("member {member} is not enrolled with {partner}")]
    Enrolment {
        member: MemberId,
        partner: PartnerId,
    },
    #[error("no settlement {0}")]
    Settlement(String),
    #[error("no partner {0}")]
    Partner(String),
}

/// Why a hold can no longer be captured or voided (worded after `hold {id}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HoldState {
    #[error("is {0}")]
    Closed(OperationStatus),
    #[error("has expired")]
    Expired,
}

/// Why an entry cannot be reversed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Irreversible {
    #[error("only earns, redemptions and captured holds can be reversed")]
    Kind,
    #[error("hold {hold} is {status}: void it instead")]
    UncapturedHold {
        hold: EntryId,
        status: OperationStatus,
    },
    #[error("entry {0} is already fully reversed")]
    FullyReversed(String),
    #[error("the coupon's campaign has ended and no money moved: nothing to undo")]
    NothingMoved,
}

/// Why spending another brand's points was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizationRefused {
    #[error("{unit} is issued by {issuer}: spending it needs the member's authorization")]
    Needed { unit: UnitCode, issuer: String },
    #[error("the authorization is not usable: unknown code")]
    UnknownCode,
    #[error("the authorization is not usable: it was given for another member, partner or unit")]
    OtherTerms,
    #[error("the authorization is not usable: it has expired")]
    Expired,
    #[error("the authorization is not usable: only {left} {unit} are left on it")]
    Exhausted { left: Amount, unit: UnitCode },
}

/// Why a campaign's budget cannot take a coupon.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetShort {
    #[error("the budget does not cover a single coupon")]
    NoSingleCoupon,
    #[error("{left} of the budget is left, a coupon reserves {reserve}")]
    Left { left: Amount, reserve: Amount },
}

/// Why a coupon cannot be redeemed (or voided).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CouponRefusal {
    #[error("this coupon is not redeemable at {0}")]
    NotHere(PartnerId),
    #[error("this coupon is {0}")]
    Status(CouponStatus),
    #[error("this coupon is valid from {0}")]
    NotYet(String),
    #[error("this coupon was issued to another member")]
    OtherMember,
}
