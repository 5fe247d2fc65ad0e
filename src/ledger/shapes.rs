//! The shapes some entry kinds must have: which accounts they may move, and which way. A
//! forfeiture only gives a member's points back to their issuer; an earn gives its member
//! points and makes only its partner (or the network, for a tier bonus it funds) owe the issuer;
//! a subscription only makes the selling partner owe the network's fee income; a reward claim is
//! a redemption at the reward's partner; a points expiry is shaped as a forfeiture.

use super::account::Account;
use super::chain::RawEntry;
use super::findings::{Check, Findings};
use super::ids::Party;

/// The memo fragment an earn with a network-funded tier bonus records.
const NETWORK_FUNDED: &str = "\"funded_by\":\"network\"";

/// The postings of `e` that are not its member's points going back to their issuer:
/// `(amount, account)`.
fn not_a_release(e: &RawEntry) -> Vec<(i64, &str)> {
    let member = e.member.as_deref().unwrap_or_default();
    e.postings
        .iter()
        .filter(|p| !match p.account.parse::<Account>() {
            Ok(Account::Member { member: m, .. }) => m.to_string() == member && p.amount_minor > 0,
            Ok(Account::Issuer { .. }) => p.amount_minor < 0,
            _ => false,
        })
        .map(|p| (p.amount_minor, p.account.as_str()))
        .collect()
}

#[derive(Debug, Default)]
pub(super) struct Shapes {
    forfeitures: Findings,
    earns: Findings,
    subscriptions: Findings,
    reward_claims: Findings,
    expiries: Findings,
    counted: [u64; 5],
}

impl Shapes {
    pub(super) fn entry(&mut self, e: &RawEntry) {
        match e.kind.as_str() {
            "forfeiture" => self.forfeiture(e),
            "earn" => self.earn(e),
            "subscription" => self.subscription(e),
            "reward_claim" => self.reward_claim(e),
            "points_expiry" => self.points_expiry(e),
            _ => {}
        }
    }

    /// A forfeiture only gives the entry's member's points back to their issuer: member lines
    /// debited, issuer lines credited, nothing else (no settlement effect).
    fn forfeiture(&mut self, e: &RawEntry) {
        self.counted[0] += 1;
        for (amount, account) in not_a_release(e) {
            self.forfeitures.add(|| {
                format!(
                    "forfeiture {} moves {amount} on {account}, which is not its member's points back to their issuer",
                    e.id
                )
            });
        }
    }

    /// An expiry has a forfeiture's shape: its member's points back to their issuer, no money.
    fn points_expiry(&mut self, e: &RawEntry) {
        self.counted[4] += 1;
        for (amount, account) in not_a_release(e) {
            self.expiries.add(|| {
                format!(
                    "points expiry {} moves {amount} on {account}, which is not its member's points back to their issuer",
                    e.id
                )
            });
        }
    }

    /// An earn credits its own member's points and debits their issuer; in money, only the
    /// earning partner — or the network, when the entry records a tier bonus the network funds
    /// — owes, and only the points' issuer is owed.
    fn earn(&mut self, e: &RawEntry) {
        self.counted[1] += 1;
        let member = e.member.as_deref().unwrap_or_default();
        let partner = e.partner.as_deref().unwrap_or_default();
        let network_funds = e
            .memo
            .as_deref()
            .is_some_and(|m| m.contains(NETWORK_FUNDED));
        let issuer = e.postings.iter().find_map(|p| match p.account.parse() {
            Ok(Account::Issuer { issuer, .. }) => Some(issuer),
            _ => None,
        });
        for p in &e.postings {
            let fits = match p.account.parse::<Account>() {
                Ok(Account::Member { member: m, .. }) => {
                    m.to_string() == member && p.amount_minor < 0
                }
                Ok(Account::Issuer { .. }) => p.amount_minor > 0,
                Ok(Account::Settlement { party, .. }) if p.amount_minor > 0 => match &party {
                    Party::Partner(id) => id.as_str() == partner,
                    Party::Network => network_funds,
                },
                Ok(Account::Settlement { party, .. }) => Some(&party) == issuer.as_ref(),
                _ => false,
            };
            if !fits {
                self.earns.add(|| {
                    format!(
                        "earn {} moves {} on {}, which an earn does not move",
                        e.id, p.amount_minor, p.account
                    )
                });
            }
        }
    }

    /// A subscription debits the selling partner's settlement account and credits the network's
    /// fees, in the same amount, and nothing else.
    fn subscription(&mut self, e: &RawEntry) {
        self.counted[2] += 1;
        let partner = e.partner.as_deref().unwrap_or_default();
        let fits = e.postings.len() == 2
            && e.postings
                .iter()
                .all(|p| match p.account.parse::<Account>() {
                    Ok(Account::Settlement {
                        party: Party::Partner(id),
                        ..
                    }) => id.as_str() == partner && p.amount_minor > 0,
                    Ok(Account::NetworkFees { .. }) => p.amount_minor < 0,
                    _ => false,
                });
        if !fits {
            self.subscriptions.add(|| {
                format!(
                    "subscription {} is not its seller owing the network's fees",
                    e.id
                )
            });
        }
    }

    /// A reward claim is a redemption at the reward's partner: its member's points go back to
    /// their issuer; in money, only the issuer owes, and only the reward's partner (and the
    /// network's fees) is owed.
    fn reward_claim(&mut self, e: &RawEntry) {
        self.counted[3] += 1;
        let member = e.member.as_deref().unwrap_or_default();
        let partner = e.partner.as_deref().unwrap_or_default();
        let issuer = e.postings.iter().find_map(|p| match p.account.parse() {
            Ok(Account::Issuer { issuer, .. }) => Some(issuer),
            _ => None,
        });
        for p in &e.postings {
            let fits = match p.account.parse::<Account>() {
                Ok(Account::Member { member: m, .. }) => {
                    m.to_string() == member && p.amount_minor > 0
                }
                Ok(Account::Issuer { .. }) | Ok(Account::NetworkFees { .. }) => p.amount_minor < 0,
                Ok(Account::Settlement { party, .. }) if p.amount_minor > 0 => {
                    Some(&party) == issuer.as_ref()
                }
                Ok(Account::Settlement {
                    party: Party::Partner(id),
                    ..
                }) => id.as_str() == partner,
                _ => false,
            };
            if !fits {
                self.reward_claims.add(|| {
                    format!(
                        "reward claim {} moves {} on {}, which a redemption at its partner does not move",
                        e.id, p.amount_minor, p.account
                    )
                });
            }
        }
    }

    pub(super) fn into_checks(self) -> Vec<Check> {
        let [forfeitures, earns, subscriptions, reward_claims, expiries] = self.counted;
        vec![
            self.forfeitures.into_check(
                "forfeitures_release_liability",
                format!("{forfeitures} forfeitures move members' points back to their issuers only"),
            ),
            self.earns.into_check(
                "earns_owe_the_issuer",
                format!(
                    "{earns} earns credit their member and make only their partner, or the network for a tier bonus it funds, owe the issuer"
                ),
            ),
            self.subscriptions.into_check(
                "subscriptions_are_fees",
                format!("{subscriptions} paid tiers make only their seller owe the network's fees"),
            ),
            self.reward_claims.into_check(
                "reward_claims_are_redemptions",
                format!(
                    "{reward_claims} reward claims spend their member's points at the reward's partner, which only the issuer owes"
                ),
            ),
            self.expiries.into_check(
                "expiries_release_liability",
                format!("{expiries} points expiries move members' points back to their issuers only"),
            ),
        ]
    }
}
