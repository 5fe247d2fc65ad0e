//! How a posting moves an account balance, and the rule that points held never go negative.

use super::account::Account;
use super::amount::Amount;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BalanceError {
    /// The posting would take a member's or a hold's points below zero.
    #[error("{account} holds {available}, {requested} requested")]
    Insufficient {
        account: String,
        available: Amount,
        requested: Amount,
    },
    #[error("{account} would leave the range the ledger can hold")]
    Overflow { account: String },
}

/// The balance after `amount` is posted to `account` holding `balance_minor` (signed, debit
/// positive), or why it may not be.
pub fn apply_posting(
    account: &Account,
    balance_minor: i64,
    amount: Amount,
) -> Result<i64, BalanceError> {
    let next = balance_minor
        .checked_add(amount.minor())
        .ok_or_else(|| BalanceError::Overflow {
            account: account.to_string(),
        })?;
    if account.kind().must_stay_credit() && next > 0 {
        // Credit balances are negative when signed: what the holder has is the negation.
        let available = Amount::from_minor(balance_minor.saturating_neg(), amount.scale());
        return Err(BalanceError::Insufficient {
            account: account.to_string(),
            available,
            requested: amount,
        });
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::amount::Scale;
    use crate::ledger::ids::{MemberId, Party};

    #[test]
    fn member_balances_never_go_below_zero() {
        let s = Scale::new(0).unwrap();
        let member = Account::Member {
            member: MemberId::random(),
            unit: "AROMA".parse().unwrap(),
        };
        // The member holds 50 (credit): a debit of 50 empties it, 51 is refused.
        assert_eq!(
            apply_posting(&member, -50, Amount::from_minor(50, s)),
            Ok(0)
        );
        assert!(matches!(
            apply_posting(&member, -50, Amount::from_minor(51, s)),
            Err(BalanceError::Insufficient { .. })
        ));
        // Issuers' accounts carry a debit balance and have no such floor.
        let issuer = Account::Issuer {
            issuer: Party::Network,
            unit: "AROMA".parse().unwrap(),
        };
        assert_eq!(apply_posting(&issuer, 0, Amount::from_minor(-5, s)), Ok(-5));
        assert!(matches!(
            apply_posting(&issuer, i64::MAX, Amount::from_minor(1, s)),
            Err(BalanceError::Overflow { .. })
        ));
    }
}
