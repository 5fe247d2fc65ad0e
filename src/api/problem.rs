//! Errors as `application/problem+json` (RFC 9457) with a stable `code`: the one place where a
//! failure becomes an HTTP status.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::clearing::ClearingError;
use crate::ledger::{BalanceError, EntryError};
use crate::store::StoreError;

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
#[error("{code}: {detail}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub title: &'static str,
    pub detail: String,
    /// Seconds to send as `Retry-After` (rate limiting, unavailability).
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code,
            title,
            detail: detail.into(),
            retry_after_secs: None,
        }
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Not found", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, "Bad request", detail)
    }

    pub fn unprocessable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
            "Unprocessable request",
            detail,
        )
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
            detail,
        )
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the service failed; the error is logged with this request",
        )
    }

    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    pub fn problem(&self) -> Problem {
        Problem {
            problem_type: format!("/docs#problem-{}", self.code),
            title: self.title.to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_owned(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        // Serialising a struct of strings cannot fail; an empty body would still carry the status.
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = HttpResponse::build(self.status);
        if let Some(secs) = self.retry_after_secs {
            response.insert_header(("Retry-After", secs.to_string()));
        }
        response.content_type(PROBLEM_JSON).body(body)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Balance(b) => b.into(),
            StoreError::Corrupt(why) => {
                tracing::error!(%why, "ledger corruption found while serving a request");
                ApiError::internal()
            }
            other if other.is_unavailable() => {
                tracing::warn!(error = %other, "database unavailable");
                ApiError::unavailable(
                    "the ledger database is unavailable; retry with the same Idempotency-Key",
                )
                .retry_after(1)
            }
            other => {
                tracing::error!(error = %other, "store error");
                ApiError::internal()
            }
        }
    }
}

impl From<BalanceError> for ApiError {
    fn from(e: BalanceError) -> Self {
        match e {
            BalanceError::Insufficient { .. } => {
                ApiError::unprocessable("insufficient_balance", e.to_string())
            }
            BalanceError::Overflow { .. } => {
                ApiError::unprocessable("invalid_amount", e.to_string())
            }
        }
    }
}

impl From<EntryError> for ApiError {
    fn from(e: EntryError) -> Self {
        match e {
            EntryError::UnknownUnit(u) => {
                ApiError::unprocessable("unknown_unit", format!("unit {u} is not known"))
            }
            EntryError::BadText { .. } => ApiError::unprocessable("invalid_request", e.to_string()),
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
            ClearingError::UnknownPartner(p) => {
                ApiError::not_found(format!("partner {p} is not in the network"))
            }
            ClearingError::UnknownUnit(u) => {
                ApiError::unprocessable("unknown_unit", format!("unit {u} is not known"))
            }
            ClearingError::NotPoints(_) | ClearingError::NoOwnUnit(_) => {
                ApiError::unprocessable("unknown_unit", e.to_string())
            }
            ClearingError::AmountTooLarge | ClearingError::InvalidAmount(_) => {
                ApiError::unprocessable("invalid_amount", e.to_string())
            }
            ClearingError::Entry(e) => e.into(),
            ClearingError::Balance(b) => b.into(),
            ClearingError::Store(s) => s.into(),
            ClearingError::UnknownMember(m) => ApiError::unprocessable(
                "unknown_member",
                format!("member {m} is not enrolled in the network"),
            ),
            ClearingError::AuthorizationRequired(why) => ApiError::new(
                StatusCode::FORBIDDEN,
                "authorization_required",
                "Authorization required",
                why,
            ),
            ClearingError::NotFound(why) => ApiError::not_found(why),
            ClearingError::HoldNotPending(why) => ApiError::unprocessable("hold_not_pending", why),
            ClearingError::NotReversible(why) => ApiError::unprocessable("not_reversible", why),
            ClearingError::IdempotencyConflict => ApiError::unprocessable(
                "idempotency_conflict",
                "this Idempotency-Key was already used with a different request",
            ),
            ClearingError::InvalidRequest(why) => ApiError::unprocessable("invalid_request", why),
            ClearingError::BudgetExhausted(why) => ApiError::unprocessable("budget_exhausted", why),
            ClearingError::CouponNotRedeemable(why) => {
                ApiError::unprocessable("coupon_not_redeemable", why)
            }
            ClearingError::PerMemberLimit(why) => ApiError::unprocessable("per_member_limit", why),
            ClearingError::CampaignEnded(why) => ApiError::unprocessable("campaign_ended", why),
            ClearingError::Forbidden(why) => ApiError::forbidden(why),
            ClearingError::Overpayment(why) => ApiError::unprocessable("overpayment", why),
            ClearingError::InvalidCsv(why) => ApiError::unprocessable("invalid_csv", why),
        }
    }
}
