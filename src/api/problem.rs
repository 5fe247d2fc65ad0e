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
}

impl ApiError {
    /// An error with `code`'s status and title, and `detail` saying what went wrong this time.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            retry_after_secs: None,
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
    fn from(e: ClearingError) -> Self {
        match e {
            ClearingError::UnknownPartner(p) => ApiError::new(
                ErrorCode::NotFound,
                format!("partner {p} is not in the network"),
            ),
            ClearingError::UnknownUnit(u) => {
                ApiError::new(ErrorCode::UnknownUnit, format!("unit {u} is not known"))
            }
            ClearingError::NotPoints(_) | ClearingError::NoOwnUnit(_) => {
                ApiError::new(ErrorCode::UnknownUnit, e.to_string())
            }
            ClearingError::AmountTooLarge | ClearingError::InvalidAmount(_) => {
                ApiError::new(ErrorCode::InvalidAmount, e.to_string())
            }
            ClearingError::Entry(e) => e.into(),
            ClearingError::Balance(b) => b.into(),
            ClearingError::Store(_) => store_failure(&e),
            ClearingError::UnknownMember(m) => ApiError::new(
                ErrorCode::UnknownMember,
                format!("member {m} is not enrolled in the network"),
            ),
            ClearingError::AuthorizationRequired(why) => {
                ApiError::new(ErrorCode::AuthorizationRequired, why)
            }
            ClearingError::NotFound(why) => ApiError::new(ErrorCode::NotFound, why),
            ClearingError::HoldNotPending(why) => ApiError::new(ErrorCode::HoldNotPending, why),
            ClearingError::NotReversible(why) => ApiError::new(ErrorCode::NotReversible, why),
            ClearingError::IdempotencyConflict => ApiError::new(
                ErrorCode::IdempotencyConflict,
                "this Idempotency-Key was already used with a different request",
            ),
            ClearingError::InvalidRequest(why) => ApiError::new(ErrorCode::InvalidRequest, why),
            ClearingError::BudgetExhausted(why) => ApiError::new(ErrorCode::BudgetExhausted, why),
            ClearingError::CouponNotRedeemable(why) => {
                ApiError::new(ErrorCode::CouponNotRedeemable, why)
            }
            ClearingError::PerMemberLimit(why) => ApiError::new(ErrorCode::PerMemberLimit, why),
            ClearingError::CampaignEnded(why) => ApiError::new(ErrorCode::CampaignEnded, why),
            ClearingError::Forbidden(why) => ApiError::new(ErrorCode::Forbidden, why),
            ClearingError::Overpayment(why) => ApiError::new(ErrorCode::Overpayment, why),
            ClearingError::InvalidCsv(why) => ApiError::new(ErrorCode::InvalidCsv, why),
        }
    }
}
