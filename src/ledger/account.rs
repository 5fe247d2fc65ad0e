//! The chart of accounts: what each account name means and which ones may never go negative.

use std::fmt;
use std::str::FromStr;

use super::ids::{CampaignId, IdError, MemberId, PartnerId, Party, UnitCode};

/// One account in the chart (`../docs/accounting.md`). Balances are signed, debit positive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Account {
    /// Points a member holds (a credit balance; never below zero).
    Member {
        member: MemberId,
        unit: UnitCode,
    },
    /// Points of a unit outstanding: the issuer's liability (a debit balance).
    Issuer {
        issuer: Party,
        unit: UnitCode,
    },
    /// A party's open position with the network; a credit means the network owes the party.
    Settlement {
        party: Party,
        currency: UnitCode,
    },
    /// Points authorised at a partner but not yet captured (a credit balance; never below zero).
    Hold {
        partner: PartnerId,
        unit: UnitCode,
    },
    /// Coupon budget reserved for issued coupons and not yet used (a credit balance).
    Campaign {
        campaign: CampaignId,
        currency: UnitCode,
    },
    /// What a sponsor has reserved for its coupons: the other side of its campaigns' accounts
    /// (a debit balance). Reservations stay off the settlement accounts: a sponsor pays only
    /// for discounts actually given.
    Commitment {
        sponsor: PartnerId,
        currency: UnitCode,
    },
    /// What a closed settlement left the party to pay (debit) or to be paid (credit), until the
    /// payment is confirmed against the network's bank account.
    Due {
        party: Party,
        currency: UnitCode,
    },
    NetworkFees {
        currency: UnitCode,
    },
    NetworkBreakage {
        unit: UnitCode,
    },
    NetworkBank {
        currency: UnitCode,
    },
}

/// The account's family, as stored beside its balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountKind {
    Member,
    Issuer,
    Settlement,
    Hold,
    Campaign,
    Commitment,
    Due,
    Fees,
    Breakage,
    Bank,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Member => "member",
            AccountKind::Issuer => "issuer",
            AccountKind::Settlement => "settlement",
            AccountKind::Hold => "hold",
            AccountKind::Campaign => "campaign",
            AccountKind::Commitment => "commitment",
            AccountKind::Due => "due",
            AccountKind::Fees => "fees",
            AccountKind::Breakage => "breakage",
            AccountKind::Bank => "bank",
        }
    }

    /// Accounts that hold somebody's points, and a campaign's reserved budget, carry a credit
    /// balance that may never go below zero: their signed (debit-positive) balance must stay at
    /// or under zero.
    pub fn must_stay_credit(self) -> bool {
        matches!(
            self,
            AccountKind::Member | AccountKind::Hold | AccountKind::Campaign
        )
    }
}

impl Account {
    pub fn kind(&self) -> AccountKind {
        match self {
            Account::Member { .. } => AccountKind::Member,
            Account::Issuer { .. } => AccountKind::Issuer,
            Account::Settlement { .. } => AccountKind::Settlement,
            Account::Hold { .. } => AccountKind::Hold,
            Account::Campaign { .. } => AccountKind::Campaign,
            Account::Commitment { .. } => AccountKind::Commitment,
            Account::Due { .. } => AccountKind::Due,
            Account::NetworkFees { .. } => AccountKind::Fees,
            Account::NetworkBreakage { .. } => AccountKind::Breakage,
            Account::NetworkBank { .. } => AccountKind::Bank,
        }
    }

    /// The unit this account counts in.
    pub fn unit(&self) -> &UnitCode {
        match self {
            Account::Member { unit, .. }
            | Account::Issuer { unit, .. }
            | Account::Hold { unit, .. }
            | Account::NetworkBreakage { unit } => unit,
            Account::Settlement { currency, .. }
            | Account::Campaign { currency, .. }
            | Account::Commitment { currency, .. }
            | Account::Due { currency, .. }
            | Account::NetworkFees { currency }
            | Account::NetworkBank { currency } => currency,
        }
    }
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Account::Member { member, unit } => write!(f, "member:{member}:{unit}"),
            Account::Issuer { issuer, unit } => write!(f, "issuer:{issuer}:{unit}"),
            Account::Settlement { party, currency } => write!(f, "settlement:{party}:{currency}"),
            Account::Hold { partner, unit } => write!(f, "hold:{partner}:{unit}"),
            Account::Campaign { campaign, currency } => write!(f, "campaign:{campaign}:{currency}"),
            Account::Commitment { sponsor, currency } => {
                write!(f, "commitment:{sponsor}:{currency}")
            }
            Account::Due { party, currency } => write!(f, "due:{party}:{currency}"),
            Account::NetworkFees { currency } => write!(f, "network:fees:{currency}"),
            Account::NetworkBreakage { unit } => write!(f, "network:breakage:{unit}"),
            Account::NetworkBank { currency } => write!(f, "network:bank:{currency}"),
        }
    }
}

impl FromStr for Account {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        let bad = || IdError {
            what: "account",
            value: s.chars().take(64).collect(),
            rule: "one of the chart's names, e.g. `member:{member}:{UNIT}`",
        };
        let mut parts = s.splitn(3, ':');
        let (Some(family), Some(owner), Some(unit)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let unit: UnitCode = unit.parse().map_err(|_| bad())?;
        let account = match (family, owner) {
            ("member", m) => Account::Member {
                member: m.parse()?,
                unit,
            },
            ("issuer", p) => Account::Issuer {
                issuer: p.parse()?,
                unit,
            },
            ("settlement", p) => Account::Settlement {
                party: p.parse()?,
                currency: unit,
            },
            ("hold", p) => Account::Hold {
                partner: p.parse()?,
                unit,
            },
            ("campaign", c) => Account::Campaign {
                campaign: c.parse()?,
                currency: unit,
            },
            ("commitment", p) => Account::Commitment {
                sponsor: p.parse()?,
                currency: unit,
            },
            ("due", p) => Account::Due {
                party: p.parse()?,
                currency: unit,
            },
            ("network", "fees") => Account::NetworkFees { currency: unit },
            ("network", "breakage") => Account::NetworkBreakage { unit },
            ("network", "bank") => Account::NetworkBank { currency: unit },
            _ => return Err(bad()),
        };
        Ok(account)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let unit: UnitCode = "AROMA".parse().unwrap();
        let ils: UnitCode = "ILS".parse().unwrap();
        let aroma = Party::Partner("aroma".parse().unwrap());
        let accounts = [
            Account::Member {
                member: MemberId::random(),
                unit: unit.clone(),
            },
            Account::Issuer {
                issuer: aroma.clone(),
                unit: unit.clone(),
            },
            Account::Issuer {
                issuer: Party::Network,
                unit: "COAL".parse().unwrap(),
            },
            Account::Settlement {
                party: aroma,
                currency: ils.clone(),
            },
            Account::Hold {
                partner: "books".parse().unwrap(),
                unit: unit.clone(),
            },
            Account::NetworkFees {
                currency: ils.clone(),
            },
            Account::NetworkBreakage { unit },
            Account::NetworkBank { currency: ils },
        ];
        for a in accounts {
            assert_eq!(a.to_string().parse::<Account>().unwrap(), a);
        }
        assert_eq!(
            "issuer:aroma:AROMA".parse::<Account>().unwrap().to_string(),
            "issuer:aroma:AROMA"
        );
    }

    #[test]
    fn bad_names_are_refused() {
        for bad in [
            "",
            "member",
            "member:x:AROMA",
            "issuer:aroma",
            "issuer:Aroma:AROMA",
            "network:cash:ILS",
            "vault:aroma:ILS",
            "hold:network:AROMA",
        ] {
            assert!(bad.parse::<Account>().is_err(), "{bad}");
        }
    }
}
