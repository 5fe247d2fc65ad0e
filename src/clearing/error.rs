//! Why a use case was refused or failed: typed data, worded here and only here. The API maps each
//! variant to its error code (`api/problem.rs`) and sends this wording as the problem's detail.

use crate::ledger::{
    Amount, AmountError, BalanceError, EntryError, EntryId, MemberId, PartnerId, UnitCode,
};
use crate::store::StoreError;
use crate::store::status::{CouponStatus, OperationStatus};

/// Why a use case was refused or failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClearingError {
    #[error("partner {0} is not in the network")]
    UnknownPartner(String),
    #[error("unit {0} is not known")]
    UnknownUnit(String),
    #[error("{0} is not a point unit of the network")]
    NotPoints(UnitCode),
    #[error("partner {0} issues no unit of its own; name one")]
    NoOwnUnit(PartnerId),
    #[error("the amount is too large for the ledger")]
    AmountTooLarge,
    #[error("invalid amount: {0}")]
    InvalidAmount(BadAmount),
    #[error("invalid basket: {0}")]
    InvalidBasket(super::earn_rules::BasketError),
    #[error(transparent)]
    Entry(#[from] EntryError),
    #[error(transparent)]
    Balance(BalanceError),
    #[error(transparent)]
    Store(StoreError),
    #[error("the link code is not one of this partner's, or was used, or has expired")]
    InvalidLinkCode,
    #[error("reward {0} has no place left")]
    SoldOut(String),
    #[error("reward {0} is not open for claims now (before its start or after its end)")]
    RewardUnavailable(String),
    #[error(
        "claim {0} is closed: a fulfilled claim cannot be cancelled, nor a cancelled one fulfilled"
    )]
    ClaimClosed(String),
    #[error(
        "a token minted by {0} cannot widen what {0} sees of the member: ask in another brand's app"
    )]
    OwnViewRaised(PartnerId),
    #[error("no card {0}")]
    UnknownCard(crate::ledger::CardNumber),
    #[error("card {0} was replaced: use the member's new card")]
    CardRevoked(crate::ledger::CardNumber),
    #[error("a token minted by {azp} cannot move {unit}: only its issuer's tokens can")]
    TokenBound { azp: PartnerId, unit: UnitCode },
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
    InvalidRequest(Invalid),
    #[error("{0}")]
    BadReportTime(super::liability::BadReportTime),
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
    #[error("{left} is left to pay on {partner}'s position")]
    Overpayment { left: Amount, partner: String },
    #[error("line {line}: {why}")]
    InvalidCsv { line: usize, why: CsvProblem },
    #[error("{0}")]
    WebhookUrl(#[from] super::webhooks::UrlRefusal),
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
    /// A member that does not exist, or that the caller is not linked to: worded alike, so
    /// that no partner learns which member ids exist.
    #[error("no member {0} of this partner")]
    Member(MemberId),
    #[error("no link to {0}")]
    Link(String),
    #[error("no settlement {0}")]
    Settlement(String),
    #[error("no subscription {0} sold by this partner")]
    Subscription(String),
    #[error("no partner {0}")]
    Partner(String),
    #[error("no segment {0} of this caller")]
    Segment(String),
    #[error("this partner has no webhook endpoint")]
    Webhook,
    #[error("no such webhook delivery of this partner")]
    Delivery,
    #[error("no reward {0}")]
    Reward(String),
    #[error("no such claim of a reward of this partner")]
    Claim,
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
    #[error("an expiry can be undone for {days} days after it was posted")]
    ExpiryTooOld { days: i64 },
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

/// Why an amount was refused (worded after `invalid amount: `).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadAmount {
    #[error(transparent)]
    Parse(#[from] AmountError),
    #[error("{unit} counts in {places} decimal places")]
    Scale { unit: UnitCode, places: u32 },
    #[error("points must be greater than zero")]
    NotPositive,
    #[error("only {left} {unit} are left to reverse")]
    MoreThanLeft { left: Amount, unit: UnitCode },
    #[error("{captured} is more than the {held} held")]
    MoreThanHeld { captured: Amount, held: Amount },
    #[error("purchases are in {0}")]
    PurchaseCurrency(UnitCode),
    #[error("a purchase of {amount} earns no {unit}")]
    EarnsNothing { amount: String, unit: UnitCode },
    #[error("the purchase is too small for any discount")]
    NoDiscount,
    #[error("a percent benefit is a decimal string above 0 and at most 100")]
    Percent,
    #[error("min_purchase cannot be negative")]
    NegativeMinimum,
    #[error("too few points to convert into one step of the target unit")]
    TooFewToConvert,
    #[error("too few points to be worth anything to the charity")]
    TooFewToDonate,
}

/// A request that is well-formed but breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("{field} must be 1 to {max_chars} printable characters")]
    Text {
        field: &'static str,
        max_chars: usize,
    },
    #[error("Idempotency-Key must be 1 to {0} printable ASCII characters")]
    IdempotencyKey(usize),
    #[error("{field} must be an RFC 3339 time")]
    Time { field: &'static str },
    #[error("occurred_at must be after 2000-01-01 and at most a day from now")]
    OccurredAt,
    #[error("kind: {0}")]
    InteractionKind(String),
    #[error("{0}")]
    Webhook(String),
    #[error("segment: {0}")]
    Segment(String),
    #[error("the network has {0} segments already, the most it keeps")]
    TooManySegments(i64),
    #[error("audience: {0}")]
    Audience(String),
    #[error("capacity must be 1 to {0} places")]
    Capacity(i64),
    #[error("a coupon redemption is refunded whole: leave out points")]
    PartialCouponRefund,
    #[error("partner {0} has no earn rate: send points")]
    NoEarnRate(PartnerId),
    #[error("the network has no tiers (no [tiers] in network.toml)")]
    NoTiers,
    #[error("the network has no tier {0}")]
    UnknownTier(String),
    #[error("tier {0} is not sold: it has no price")]
    NotForSale(String),
    #[error("campaigns are in the settlement currency, {0}")]
    CampaignCurrency(UnitCode),
    #[error("redeemable_at needs 1 to {0} partners")]
    RedeemableAtCount(usize),
    #[error("{field}: unknown partner {partner}")]
    UnknownPartnerIn {
        field: &'static str,
        partner: String,
    },
    #[error("max_discount is for percent benefits")]
    MaxDiscountForAmount,
    #[error("a percent benefit needs max_discount")]
    PercentNeedsMaxDiscount,
    #[error("benefit kind must be amount or percent, not {0}")]
    BenefitKind(String),
    #[error("valid_from must be before valid_until")]
    EmptyValidity,
    #[error("per_member_limit must be 1 to {0}")]
    PerMemberLimit(u32),
    #[error("unknown scope {scope}; scopes are {known}")]
    Scope { scope: String, known: String },
    #[error("ttl_seconds must be 1 to {0}")]
    Ttl(u64),
    #[error("unknown partner {0}")]
    UnknownPartner(String),
    #[error("from_unit and to_unit are the same")]
    SameUnit,
    #[error("{0} is not a charity of the network")]
    NotACharity(String),
    #[error("the random source failed")]
    Randomness,
    #[error("cannot sign a token: {0}")]
    TokenSigning(String),
    #[error("format is csv, ledger or beancount")]
    ExportFormat,
    #[error("the cutoff is in the future")]
    FutureCutoff,
    #[error("the cutoff is before the last settlement's ({0})")]
    CutoffBeforeLast(String),
    #[error("the network's own position is settled through its bank account")]
    NetworkPayment,
    #[error("{0} has no position in this settlement")]
    NoPosition(String),
    #[error("reference is too long")]
    ReferenceTooLong,
    #[error("this partner already uses that external_id for another member")]
    ExternalIdTaken,
    #[error("`{0}` is not a member id")]
    MemberId(String),
}

/// What is wrong with a line of a reconciliation file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvProblem {
    #[error("the first line must be the header `{0}`")]
    Header(&'static str),
    #[error("more than {0} lines")]
    TooManyLines(usize),
    #[error("not CSV: {0}")]
    Syntax(String),
    #[error("expected 5 fields, found {0}")]
    Fields(usize),
    #[error("unknown kind `{0}`")]
    Kind(String),
    #[error("unknown unit `{0}`")]
    Unit(String),
    #[error(transparent)]
    Amount(#[from] AmountError),
    #[error("occurred_at must be an RFC 3339 time or empty")]
    Time,
}
