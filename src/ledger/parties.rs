//! The partners an entry concerns: the one that posted it and every partner one of its accounts
//! belongs to (an issuer whose unit moved, a party whose position moved, a hold's partner, a
//! sponsor's commitment). Webhooks send an entry's events to exactly these.

use super::account::Account;
use super::chain::RawEntry;
use super::ids::Party;

impl Account {
    /// The partner this account belongs to, if any (network accounts and members' have none;
    /// a campaign's account names its campaign, whose sponsor's commitment moves with it).
    pub fn partner(&self) -> Option<&str> {
        let party = match self {
            Account::Issuer { issuer, .. } => issuer,
            Account::Settlement { party, .. } | Account::Due { party, .. } => party,
            Account::Hold { partner, .. }
            | Account::Commitment {
                sponsor: partner, ..
            } => {
                return Some(partner.as_str());
            }
            Account::Member { .. }
            | Account::Campaign { .. }
            | Account::NetworkFees { .. }
            | Account::NetworkBreakage { .. }
            | Account::NetworkBank { .. } => return None,
        };
        match party {
            Party::Partner(p) => Some(p.as_str()),
            Party::Network => None,
        }
    }
}

/// The partners `entry` concerns, sorted, each once. An account name that does not parse
/// names nobody (verify reports such names; they cannot stop an event from being sent to
/// the others).
pub fn partners_of(entry: &RawEntry) -> Vec<String> {
    let mut out: Vec<String> = entry.partner.iter().cloned().collect();
    for p in &entry.postings {
        if let Ok(account) = p.account.parse::<Account>()
            && let Some(partner) = account.partner()
        {
            out.push(partner.to_owned());
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::chain::RawPosting;

    fn entry(partner: Option<&str>, accounts: &[&str]) -> RawEntry {
        RawEntry {
            id: "e".into(),
            seq: 1,
            kind: "redemption".into(),
            created_at_us: 0,
            partner: partner.map(str::to_owned),
            member: None,
            reference: None,
            reverses: None,
            key_id: None,
            signature: None,
            memo: None,
            postings: accounts
                .iter()
                .map(|a| RawPosting {
                    account: (*a).to_owned(),
                    unit: "X".into(),
                    amount_minor: 0,
                })
                .collect(),
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn a_redemption_at_another_brand_concerns_both_brands_and_nobody_else() {
        let e = entry(
            Some("books"),
            &[
                "member:m1:AROMA",
                "issuer:aroma:AROMA",
                "settlement:aroma:ILS",
                "settlement:books:ILS",
                "network:fees:ILS",
            ],
        );
        assert_eq!(partners_of(&e), vec!["aroma", "books"]);
    }

    #[test]
    fn network_accounts_and_campaigns_name_nobody() {
        let e = entry(
            None,
            &[
                "member:m1:COAL",
                "issuer:network:COAL",
                "campaign:c1:ILS",
                "commitment:aroma:ILS",
                "hold:fuelup:FUEL",
            ],
        );
        assert_eq!(partners_of(&e), vec!["aroma", "fuelup"]);
    }
}
