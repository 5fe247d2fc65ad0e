//! Every error code the API answers with, declared once: its HTTP status, title and a one-line
//! meaning. `problem.rs` builds responses from it, the OpenAPI document lists it, and `/docs`
//! renders it with an anchor per code, which every problem's `type` points at.

use actix_web::http::StatusCode;

macro_rules! error_codes {
    ($($variant:ident = $code:literal, $status:literal, $title:literal, $meaning:literal;)+) => {
        /// A stable, machine-readable error code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($variant,)+
        }

        impl ErrorCode {
            /// Every code, in the order the docs list them.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            /// The code as clients see it, e.g. `insufficient_balance`.
            pub const fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)+ }
            }

            /// The HTTP status every response with this code has.
            pub const fn status_u16(self) -> u16 {
                match self { $(ErrorCode::$variant => $status,)+ }
            }

            /// The problem's `title`: the same for every response with this code.
            pub const fn title(self) -> &'static str {
                match self { $(ErrorCode::$variant => $title,)+ }
            }

            /// What the code means and what the caller can do, in one line.
            pub const fn meaning(self) -> &'static str {
                match self { $(ErrorCode::$variant => $meaning,)+ }
            }
        }
    };
}

error_codes! {
    InvalidJson = "invalid_json", 400, "Bad request", "The body is not the JSON this call takes: the detail names the field.";
    InvalidQuery = "invalid_query", 400, "Bad request", "A query parameter is missing or malformed.";
    InvalidCursor = "invalid_cursor", 400, "Bad request", "The pagination cursor is not one this service handed out.";
    InvalidHeader = "invalid_header", 400, "Bad request", "A header holds bytes other than visible ASCII.";
    InvalidBody = "invalid_body", 400, "Bad request", "The request body could not be read to its end.";
    IdempotencyKeyMissing = "idempotency_key_missing", 400, "Bad request", "Every partner POST needs an Idempotency-Key header.";
    IdempotencyKeyInvalid = "idempotency_key_invalid", 400, "Bad request", "An Idempotency-Key is 1 to 255 printable ASCII characters.";
    SignatureMissing = "signature_missing", 401, "Unauthorized", "The request carries no Signature-Input and Signature headers.";
    SignatureInvalid = "signature_invalid", 401, "Unauthorized", "The signature is malformed, covers too little, or does not verify.";
    SignatureExpired = "signature_expired", 401, "Unauthorized", "The signature's `created` time is outside the allowed window: sign again.";
    SignatureReplayed = "signature_replayed", 401, "Unauthorized", "This exact signature was seen before: sign each request anew.";
    UnknownKey = "unknown_key", 401, "Unauthorized", "The `keyid` names no key in the network's manifests.";
    DigestMismatch = "digest_mismatch", 401, "Unauthorized", "Content-Digest does not match the body that arrived.";
    TokenMissing = "token_missing", 401, "Unauthorized", "The call needs `Authorization: Bearer <token>`.";
    TokenInvalid = "token_invalid", 401, "Unauthorized", "The token is malformed, not signed by the network, or not for this call.";
    TokenExpired = "token_expired", 401, "Unauthorized", "The token has expired: get a new one.";
    AuthorizationRequired = "authorization_required", 403, "Authorization required", "Spending another brand's points needs the member's authorisation code.";
    Forbidden = "forbidden", 403, "Forbidden", "The caller may not act on this resource.";
    NotFound = "not_found", 404, "Not found", "No such route, or no such entry, hold, member, campaign or coupon of the caller's.";
    MethodNotAllowed = "method_not_allowed", 405, "Method not allowed", "The path is served, but not with this method: `Allow` lists the ones it takes.";
    UnknownCard = "unknown_card", 404, "Unknown card", "No member card has this number.";
    CardRevoked = "card_revoked", 410, "Card replaced", "The card was replaced: the member has a new number.";
    BodyTooLarge = "body_too_large", 413, "Body too large", "The body is over the size limit (64 KiB).";
    UnsupportedMediaType = "unsupported_media_type", 415, "Unsupported media type", "A JSON body must be sent with `Content-Type: application/json`.";
    InvalidAmount = "invalid_amount", 422, "Unprocessable request", "An amount is not a decimal string at its unit's scale, not positive, or too large.";
    InvalidBasket = "invalid_basket", 422, "Unprocessable request", "A purchase's lines do not add up to its amount, or a line is not positive, or there are too many lines.";
    InsufficientBalance = "insufficient_balance", 422, "Unprocessable request", "The member holds fewer points than the request spends.";
    InvalidCard = "invalid_card", 422, "Unprocessable request", "A card number is 16 digits with a right Luhn check digit.";
    ConfirmationRequired = "confirmation_required", 422, "Unprocessable request", "Erasure forfeits every point: the body must say `{\"confirm\": \"forfeit-balances\"}`.";
    InvalidLinkCode = "invalid_link_code", 422, "Unprocessable request", "The link code is wrong, used, expired, or for another brand.";
    UnknownUnit = "unknown_unit", 422, "Unprocessable request", "The unit is not one of the network's, or not points where points are needed.";
    InvalidRequest = "invalid_request", 422, "Unprocessable request", "The request is well-formed but breaks a rule the detail names.";
    HoldNotPending = "hold_not_pending", 422, "Unprocessable request", "The hold was captured, voided or has expired.";
    NotReversible = "not_reversible", 422, "Unprocessable request", "The entry cannot be reversed (its kind, or nothing is left to reverse).";
    IdempotencyConflict = "idempotency_conflict", 422, "Unprocessable request", "The Idempotency-Key was used before with a different request.";
    BudgetExhausted = "budget_exhausted", 422, "Unprocessable request", "The campaign's budget cannot cover another coupon's largest discount.";
    CouponNotRedeemable = "coupon_not_redeemable", 422, "Unprocessable request", "The coupon is used, expired, voided, or not redeemable here or for this member.";
    SoldOut = "sold_out", 422, "Unprocessable request", "The reward has no place left: every place is claimed.";
    RewardUnavailable = "reward_unavailable", 422, "Unprocessable request", "The reward is not open for claims now: before its start or after its end.";
    ClaimClosed = "claim_closed", 422, "Unprocessable request", "A fulfilled claim cannot be cancelled, nor a cancelled one fulfilled.";
    PerMemberLimit = "per_member_limit", 422, "Unprocessable request", "The member already has as many coupons of the campaign as it allows.";
    CampaignEnded = "campaign_ended", 422, "Unprocessable request", "The campaign is not running: before its start or after its end.";
    Overpayment = "overpayment", 422, "Unprocessable request", "The payment is more than the settlement position still open.";
    WebhookUrlRefused = "webhook_url_refused", 422, "Unprocessable request", "The webhook URL is not an absolute http(s) URL, carries credentials, does not resolve, or resolves to an internal address.";
    InvalidCsv = "invalid_csv", 422, "Unprocessable request", "The CSV file is malformed: the detail names the line.";
    RateLimited = "rate_limited", 429, "Too many requests", "The partner is over its request rate: retry after Retry-After seconds.";
    Internal = "internal", 500, "Internal error", "The service failed; the error is logged. Nothing was changed.";
    Unavailable = "unavailable", 503, "Service unavailable", "The database is unavailable: retry with the same Idempotency-Key.";
}

impl ErrorCode {
    pub fn status(self) -> StatusCode {
        // Every status in the table is a valid one (a test checks): the fallback is unreachable.
        StatusCode::from_u16(self.status_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// Where the docs page explains the code: every problem's `type`.
    pub fn doc_url(self) -> String {
        format!("/docs#problem-{}", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn codes_are_unique_snake_case_with_valid_statuses() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert!(
                !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{s}"
            );
            assert!(
                StatusCode::from_u16(code.status_u16())
                    .is_ok_and(|st| st.is_client_error() || st.is_server_error()),
                "{s}: {}",
                code.status_u16()
            );
            assert!(
                !code.title().is_empty() && code.meaning().ends_with('.'),
                "{s}"
            );
        }
    }
}
