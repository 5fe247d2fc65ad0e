//! Errors as `application/problem+json` (RFC 9457) with a stable `code`: the one place where a
//! failure becomes an HTTP status.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use super::codes::ErrorCode;
use crate::clearing::ClearingError;
use crate::ledger::{BalanceError, EntryError};

pub const PROBLEM_JSON: &str = "application/problem+json";

/// The body of every error response.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type; it points into the API docs.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code, e.g. `insufficient_balance`.
    pub code: String,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{}: {detail}", code.as_str())]
pub struct ApiError {
    pub code: ErrorCode,
    pub detail: String,
    /// Seconds to send as `Retry-After` (rate limiting, unavailability).
    pub retry_after_secs: Option<u64>,
    /// The methods to send as `Allow` (a 405).
    pub allow: Option<String>,
}

impl ApiError {
    /// An error with `code`'s status and title, and `detail` saying what went wrong this time.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            retry_after_secs: None,
            allow: None,
        }
    }

    pub fn internal() -> Self {
        Self::new(
            ErrorCode::Internal,
            "the service failed; the error is logged with this request",
        )
    }

    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    pub fn allow(mut self, methods: String) -> Self {
        self.allow = Some(methods);
        self
    }

    pub fn problem(&self) -> Problem {
        Problem {
            problem_type: self.code.doc_url(),
            title: self.code.title().to_owned(),
            status: self.code.status_u16(),
            detail: self.detail.clone(),
            code: self.code.as_str().to_owned(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        // Serialising a struct of strings cannot fail; an empty body would still carry the status.
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = HttpResponse::build(self.status());
        if let Some(secs) = self.retry_after_secs {
            response.insert_header(("Retry-After", secs.to_string()));
        }
        if let Some(methods) = &self.allow {
            response.insert_header(("Allow", methods.as_str()));
        }
        response.content_type(PROBLEM_JSON).body(body)
    }
}

/// A failure of the database behind a use case: the caller learns only whether to retry.
fn store_failure(e: &ClearingError) -> ApiError {
    if e.is_corrupt() {
        tracing::error!(error = %e, "ledger corruption found while serving a request");
        ApiError::internal()
    } else if e.is_unavailable() {
        tracing::warn!(error = %e, "database unavailable");
        ApiError::new(
            ErrorCode::Unavailable,
            "the ledger database is unavailable; retry with the same Idempotency-Key",
        )
        .retry_after(1)
    } else {
        tracing::error!(error = %e, "store error");
        ApiError::internal()
    }
}

impl From<BalanceError> for ApiError {
    fn from(e: BalanceError) -> Self {
        match e {
            BalanceError::Insufficient { .. } => {
                ApiError::new(ErrorCode::InsufficientBalance, e.to_string())
            }
            BalanceError::Overflow { .. } => ApiError::new(ErrorCode::InvalidAmount, e.to_string()),
        }
    }
}

impl From<EntryError> for ApiError {
    fn from(e: EntryError) -> Self {
        match e {
            EntryError::UnknownUnit(u) => {
                ApiError::new(ErrorCode::UnknownUnit, format!("unit {u} is not known"))
            }
            EntryError::BadText { .. } => ApiError::new(ErrorCode::InvalidRequest, e.to_string()),
            other => {
                // The clearing rules only build balanced entries: this is a bug, not bad input.
                tracing::error!(error = %other, "clearing built an entry the ledger refused");
                ApiError::internal()
            }
        }
    }
}

impl From<ClearingError> for ApiError {
    /// The code for each refusal; its detail is the refusal's own wording (`clearing/error.rs`).
    fn from(e: ClearingError) -> Self {
        let code = match &e {
            ClearingError::Entry(entry) => return entry.clone().into(),
            ClearingError::Balance(b) => return b.clone().into(),
            ClearingError::Store(_) => return store_failure(&e),
            ClearingError::UnknownPartner(_) | ClearingError::NotFound(_) => ErrorCode::NotFound,
            ClearingError::UnknownUnit(_)
            | ClearingError::NotPoints(_)
            | ClearingError::NoOwnUnit(_) => ErrorCode::UnknownUnit,
            ClearingError::AmountTooLarge | ClearingError::InvalidAmount(_) => {
                ErrorCode::InvalidAmount
            }
            ClearingError::InvalidBasket(_) => ErrorCode::InvalidBasket,
            ClearingError::InvalidLinkCode => ErrorCode::InvalidLinkCode,
            ClearingError::SoldOut(_) => ErrorCode::SoldOut,
            ClearingError::RewardUnavailable(_) => ErrorCode::RewardUnavailable,
            ClearingError::ClaimClosed(_) => ErrorCode::ClaimClosed,
            ClearingError::TokenBound { .. } | ClearingError::OwnViewRaised(_) => {
                ErrorCode::Forbidden
            }
            ClearingError::UnknownCard(_) => ErrorCode::UnknownCard,
            ClearingError::CardRevoked(_) => ErrorCode::CardRevoked,
            ClearingError::AuthorizationRequired(_) => ErrorCode::AuthorizationRequired,
            ClearingError::HoldNotPending { .. } => ErrorCode::HoldNotPending,
            ClearingError::NotReversible(_) => ErrorCode::NotReversible,
            ClearingError::IdempotencyConflict => ErrorCode::IdempotencyConflict,
            ClearingError::InvalidRequest(_) => ErrorCode::InvalidRequest,
            ClearingError::BadReportTime(_) => ErrorCode::InvalidQuery,
            ClearingError::BudgetExhausted(_) => ErrorCode::BudgetExhausted,
            ClearingError::CouponNotRedeemable(_) => ErrorCode::CouponNotRedeemable,
            ClearingError::PerMemberLimit { .. } => ErrorCode::PerMemberLimit,
            ClearingError::CampaignEnded(_) => ErrorCode::CampaignEnded,
            ClearingError::Overpayment { .. } => ErrorCode::Overpayment,
            ClearingError::InvalidCsv { .. } => ErrorCode::InvalidCsv,
            ClearingError::WebhookUrl(_) => ErrorCode::WebhookUrlRefused,
        };
        ApiError::new(code, e.to_string())
    }
}
