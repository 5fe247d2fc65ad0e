//! How a partner names a member: by id, or by the card the member presents — looked up within
//! the partner's budget of failed look-ups (a sweep through card numbers or link codes meets
//! `429` early), each look-up counted in `/metrics`.

use super::AppState;
use super::auth::Signed;
use super::codes::ErrorCode;
use super::metrics::CardLookup;
use super::problem::ApiError;
use super::ratelimit::RateLimiter;
use crate::clearing::cards::MemberRef;
use crate::ledger::{CardNumber, MemberId};

pub(super) fn parse_member(text: &str) -> Result<MemberId, ApiError> {
    text.parse().map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidRequest,
            format!(
                "`{}` is not a member id",
                text.chars().take(40).collect::<String>()
            ),
        )
    })
}

/// Runs `call` against a partner's budget of failures (`budget`): while the partner is over it
/// the call is refused (`429`) without running, and an answer with one of `failures` spends from
/// it. `Some(failed)` tells whether it was one; `None` that the budget refused the call.
pub(super) async fn within_budget<T>(
    budget: &RateLimiter,
    partner: &str,
    what: &str,
    failures: &[ErrorCode],
    call: impl std::future::Future<Output = Result<T, ApiError>>,
) -> (Result<T, ApiError>, Option<bool>) {
    if let Err(retry_after_secs) = budget.check(partner) {
        let refused = ApiError::new(
            ErrorCode::RateLimited,
            format!("too many failed {what}; retry in {retry_after_secs} s"),
        )
        .retry_after(retry_after_secs);
        return (Err(refused), None);
    }
    let result = call.await;
    let failed = result
        .as_ref()
        .err()
        .is_some_and(|e| failures.contains(&e.code));
    if failed {
        // Spent, not checked: this request already had its answer.
        let _ = budget.take(partner);
    }
    (result, Some(failed))
}

/// Runs `call`, which looks a card up when `card`, within the partner's budget of failed card
/// look-ups, counting each look-up in `/metrics`.
pub(super) async fn card_guarded<T>(
    state: &AppState,
    req: &Signed,
    card: bool,
    call: impl std::future::Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    if !card {
        return call.await;
    }
    let failures = [
        ErrorCode::UnknownCard,
        ErrorCode::CardRevoked,
        ErrorCode::InvalidCard,
    ];
    let partner = req.caller.partner.as_str();
    let (result, failed) = within_budget(
        &state.card_failures,
        partner,
        "card look-ups",
        &failures,
        call,
    )
    .await;
    state.http.card_lookup(match failed {
        None => CardLookup::Limited,
        Some(true) => CardLookup::Failed,
        Some(false) => CardLookup::Found,
    });
    result
}

/// The member a path names (`/v1/members/{member_id}/…`): by id, or by the 16 digits of their
/// card, looked up within the partner's budget of failed card look-ups.
pub(super) async fn path_member(
    state: &AppState,
    req: &Signed,
    path: &str,
) -> Result<MemberId, ApiError> {
    if CardNumber::looks_like(path) {
        let looked_up = async { Ok(state.clearing.card_member(&parse_card(path)?).await?) };
        card_guarded(state, req, true, looked_up).await
    } else {
        path.parse()
            .map_err(|_| ApiError::new(ErrorCode::NotFound, "no such member"))
    }
}

/// The member a body names: by `member_id` or by `card_number`, exactly one of them.
pub(super) fn member_ref(id: Option<&str>, card: Option<&str>) -> Result<MemberRef, ApiError> {
    match (id, card) {
        (Some(id), None) => Ok(MemberRef::Id(parse_member(id)?)),
        (None, Some(card)) => parse_card(card).map(MemberRef::Card),
        _ => Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "name the member by member_id or by card_number: one of them",
        )),
    }
}

/// A card number as typed: 16 digits with a right Luhn check digit (`422 invalid_card`).
pub(super) fn parse_card(text: &str) -> Result<CardNumber, ApiError> {
    text.parse()
        .map_err(|e: crate::ledger::CardError| ApiError::new(ErrorCode::InvalidCard, e.to_string()))
}
