//! The behaviour profile: the one rule that turns a posted entry into what it adds to the
//! member's row at a brand (run by the writer on every entry it posts, and by the rebuild over
//! the journal, so the two agree by construction), the values each entry records for it, and
//! the rebuild itself.

use std::sync::Arc;

use serde_json::Value;

use super::views::profile::{ProfileParts, ProfileView, profile_view};
use super::{Clearing, ClearingError, Missing, rules};
use crate::ledger::{
    Account, AccountKind, Amount, EntryKind, MemberId, PartnerId, RawEntry, UnitCode,
};
use crate::partners::Network;
use crate::store::interactions::{self, InteractionRow};
use crate::store::profiles::{self, Activity, EntryObserver};
use crate::store::{self, Store, StoreError};

/// The memo key under which earns, redemptions, captures and reversals record the clearing
/// value, in the settlement currency, of the points they move (at the value in force then).
pub(crate) const VALUE_KEY: &str = "value";
/// The memo key of the purchase an earn reports (and a reversal of it takes back).
pub(crate) const PURCHASE_KEY: &str = "purchase";
/// Journal entries a rebuild reads per page.
const REBUILD_PAGE_ENTRIES: i64 = 1_000;

/// `{"amount": "1.50", "currency": "ILS"}`: money as an entry's memo records it.
pub(crate) fn money(amount: Amount, currency: &UnitCode) -> Value {
    serde_json::json!({ "amount": amount.to_string(), "currency": currency.as_str() })
}

/// The part of `total` that taking `taken` more of `n` (after `done`) moves back: cumulative
/// shares rounded toward zero, so parts never overshoot and the last part takes exactly what is
/// left (`share(t, 0, n, n) == t`, and the parts of any split of `n` sum to `t`).
pub(crate) fn share(total: i64, done: i64, taken: i64, n: i64) -> i64 {
    if n <= 0 {
        return 0;
    }
    let upto = |k: i64| i128::from(total) * i128::from(k) / i128::from(n);
    let part = upto(done.saturating_add(taken).min(n)) - upto(done.min(n));
    i64::try_from(part).unwrap_or(0)
}

/// The money fields of an entry's memo the profile reads (the rest is skipped unparsed).
#[derive(Debug, Default, serde::Deserialize)]
struct MemoMoney<'a> {
    #[serde(borrow, default)]
    value: Option<MemoAmount<'a>>,
    #[serde(borrow, default)]
    purchase: Option<MemoAmount<'a>>,
    /// An interaction's earn: the interaction itself is the visit.
    #[serde(default)]
    interaction: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, serde::Deserialize)]
struct MemoAmount<'a> {
    #[serde(borrow)]
    amount: std::borrow::Cow<'a, str>,
}

impl<'a> MemoMoney<'a> {
    fn of(raw: &'a RawEntry) -> Self {
        raw.memo
            .as_deref()
            .and_then(|m| serde_json::from_str(m).ok())
            .unwrap_or_default()
    }
}

/// What the rule needs of the network: the settlement currency's scale, and the units' values
/// for entries posted before entries recorded theirs.
struct Rule<'a> {
    network: &'a Network,
}

impl Rule<'_> {
    /// A money field of the memo, in minor units of the settlement currency.
    fn minor(&self, amount: Option<&MemoAmount<'_>>) -> Option<i64> {
        Amount::parse(&amount?.amount, self.network.currency_scale)
            .ok()
            .map(Amount::minor)
    }

    /// The issuer's line of the entry's points: which way the liability moved, and the value
    /// of the points at the unit's value now (for entries that did not record theirs).
    fn issuer_line(&self, raw: &RawEntry) -> Option<(bool, i64)> {
        raw.postings.iter().find_map(|p| {
            let account: Account = p.account.parse().ok()?;
            if account.kind() != AccountKind::Issuer {
                return None;
            }
            let unit = self.network.units.get(account.unit())?;
            let points = Amount::from_minor(p.amount_minor.checked_abs()?, unit.scale);
            let value = rules::clearing_value(points, unit, self.network).ok()?;
            Some((p.amount_minor > 0, value.minor()))
        })
    }

    /// The clearing value the entry recorded; for one posted before entries recorded it, its
    /// points at the unit's value now.
    fn value(&self, raw: &RawEntry, memo: &MemoMoney<'_>) -> i64 {
        self.minor(memo.value.as_ref())
            .or_else(|| self.issuer_line(raw).map(|(_, v)| v))
            .unwrap_or(0)
    }

    /// What `raw` adds to its member's row at its brand, if anything.
    fn activity(&self, raw: &RawEntry) -> Option<Activity> {
        let kind: EntryKind = raw.kind.parse().ok()?;
        let counts = matches!(
            kind,
            EntryKind::Earn
                | EntryKind::Redemption
                | EntryKind::RewardClaim
                | EntryKind::Capture
                | EntryKind::CouponRedemption
                | EntryKind::Reversal
        );
        if !counts {
            return None;
        }
        let memo = MemoMoney::of(raw);
        let value = || self.value(raw, &memo);
        let spend = self.minor(memo.purchase.as_ref()).unwrap_or(0);
        let (visits, spend_minor, earned_minor, redeemed_minor) = match kind {
            EntryKind::Earn => (i64::from(memo.interaction.is_none()), spend, value(), 0),
            EntryKind::Redemption | EntryKind::Capture | EntryKind::RewardClaim => {
                (1, 0, 0, value())
            }
            EntryKind::Reversal => {
                // The issuer's line says what is reversed: credited back, an earn; debited
                // again, a redemption. A coupon refund moves no points and counts for nothing.
                let (issuer_debited, _) = self.issuer_line(raw)?;
                if issuer_debited {
                    (0, 0, 0, -value())
                } else {
                    (0, -spend, -value(), 0)
                }
            }
            _ => (1, 0, 0, 0),
        };
        Some(Activity {
            member_id: raw.member.clone()?,
            partner: raw.partner.clone()?,
            at_us: raw.created_at_us,
            visits,
            spend_minor,
            earned_minor,
            redeemed_minor,
        })
    }
}

/// The rule as the writer runs it on every entry it posts.
pub(crate) fn observer(network: &Network) -> EntryObserver {
    let network = network.clone();
    Arc::new(move |raw: &RawEntry| Rule { network: &network }.activity(raw))
}

/// What a reversal of `taken` of the `n` points of `original` (of which `done` were reversed
/// before) takes back of the value and the purchase it recorded, as the reversal's memo records
/// them: each its share, so that the parts of a whole reversal take back exactly the whole.
pub(crate) fn reversed_memo(
    network: &Network,
    original: &RawEntry,
    (done, taken, n): (i64, i64, i64),
    memo: &mut Value,
) {
    let rule = Rule { network };
    let recorded = MemoMoney::of(original);
    let scale = network.currency_scale;
    let currency = &network.settlement_currency;
    let value = share(rule.value(original, &recorded), done, taken, n);
    memo[VALUE_KEY] = money(Amount::from_minor(value, scale), currency);
    if let Some(spent) = rule.minor(recorded.purchase.as_ref()) {
        let back = share(spent, done, taken, n);
        memo[PURCHASE_KEY] = money(Amount::from_minor(back, scale), currency);
    }
}

/// Builds the profile from the journal when the database has entries from before it (once).
pub(crate) fn build_if_missing(store: &Store, network: &Network) -> Result<(), ClearingError> {
    if store.read_blocking(profiles::is_built)? {
        return Ok(());
    }
    let entries = rebuild(store, network, &|_| {})?;
    tracing::info!(entries, "built the member profiles from the journal");
    Ok(())
}

/// Recomputes the profile from the journal in one write (writes wait meanwhile): empties it,
/// adds every entry's activity in chain order, drops erased members' rows. Returns the entries
/// read; `progress` hears the count after each page.
fn rebuild(
    store: &Store,
    network: &Network,
    progress: &(dyn Fn(i64) + Sync),
) -> Result<i64, ClearingError> {
    let network = network.clone();
    std::thread::scope(|scope| {
        let (tx_progress, rx_progress) = std::sync::mpsc::channel::<i64>();
        let reporter = scope.spawn(move || {
            for read in rx_progress {
                progress(read);
            }
        });
        let done = store.write_blocking(move |tx| -> Result<i64, StoreError> {
            profiles::clear(tx)?;
            let (mut after, mut read) = (0, 0);
            loop {
                let page = store::ledger::raw_entries_after_tx(tx, after, REBUILD_PAGE_ENTRIES)?;
                let Some(last) = page.last() else { break };
                after = last.seq;
                read += i64::try_from(page.len()).unwrap_or(0);
                let rule = Rule { network: &network };
                let activities: Vec<Activity> =
                    page.iter().filter_map(|e| rule.activity(e)).collect();
                profiles::add_tx(tx, &activities)?;
                let _ = tx_progress.send(read);
            }
            // Interactions are kept beside the journal: each is a visit, and counted by kind.
            interactions::clear_counts(tx)?;
            let mut after = String::new();
            loop {
                let page = interactions::page_tx(tx, &after, interactions::MAX_INTERACTIONS_PAGE)?;
                let Some(last) = page.last() else { break };
                after = last.id.clone();
                let activities: Vec<Activity> = page.iter().map(InteractionRow::activity).collect();
                profiles::add_tx(tx, &activities)?;
                interactions::recount_tx(tx, &page)?;
            }
            profiles::finish_rebuild(tx, read)?;
            Ok(read)
        });
        let _ = reporter.join();
        Ok(done?)
    })
}

impl Clearing {
    /// `GET /v1/me/profile`: the member's whole profile.
    pub async fn my_profile(&self, member: MemberId) -> Result<ProfileView, ClearingError> {
        let m = member.to_string();
        let read = self
            .store
            .read(move |c| profiles::read(c, &m, None))
            .await?;
        let joined = read
            .joined_at_us
            .ok_or(ClearingError::NotFound(Missing::Member(member)))?;
        Ok(self.profile_view(ProfileParts {
            member_id: member.to_string(),
            card_number: read.card,
            member_since_us: joined,
            rows: read.rows,
            with_totals: true,
        }))
    }

    /// `GET /v1/members/{id}/profile`: the partner's own row always; the other brands' rows and
    /// the totals only when the member shares their profile with this partner. Unlinked: 404.
    pub async fn profile_for(
        &self,
        partner: &PartnerId,
        member: MemberId,
    ) -> Result<ProfileView, ClearingError> {
        let (p, m) = (partner.to_string(), member.to_string());
        let read = self
            .store
            .read(move |c| profiles::read(c, &m, Some(&p)))
            .await?;
        let (Some(link), Some(joined)) = (read.link, read.joined_at_us) else {
            return Err(ClearingError::NotFound(Missing::Member(member)));
        };
        let shared = link.sharing.profile;
        let rows = read
            .rows
            .into_iter()
            .filter(|r| shared || r.partner == partner.as_str())
            .collect();
        Ok(self.profile_view(ProfileParts {
            member_id: member.to_string(),
            card_number: read.card,
            member_since_us: if shared { joined } else { link.linked_at_us },
            rows,
            with_totals: shared,
        }))
    }

    fn profile_view(&self, parts: ProfileParts) -> ProfileView {
        let network = &self.ctx.network;
        profile_view(
            parts,
            network.settlement_currency.as_str(),
            network.currency_scale,
        )
    }

    /// `coalition rebuild-aggregates`: the profile recomputed from the journal. Returns the
    /// entries read.
    pub fn rebuild_aggregates(
        &self,
        progress: &(dyn Fn(i64) + Sync),
    ) -> Result<i64, ClearingError> {
        rebuild(&self.store, &self.ctx.network, progress)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::RawPosting;

    fn demo() -> Network {
        Network::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("partners")).unwrap()
    }

    fn entry(kind: &str, memo: Option<Value>, issuer_minor: i64) -> RawEntry {
        RawEntry {
            id: "e".into(),
            seq: 1,
            kind: kind.into(),
            created_at_us: 7,
            partner: Some("aroma".into()),
            member: Some("0190f7a4-0000-7000-8000-000000000001".into()),
            reference: None,
            reverses: None,
            key_id: None,
            signature: None,
            memo: memo.map(|m| m.to_string()),
            postings: vec![
                RawPosting {
                    account: "issuer:aroma:AROMA".into(),
                    unit: "AROMA".into(),
                    amount_minor: issuer_minor,
                },
                RawPosting {
                    account: "member:0190f7a4-0000-7000-8000-000000000001:AROMA".into(),
                    unit: "AROMA".into(),
                    amount_minor: -issuer_minor,
                },
            ],
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    /// What each kind of entry adds, read from the memo the use cases write (the keys they
    /// write are the keys read), and for entries from before the values were recorded, from
    /// the points at the unit's value.
    #[test]
    fn each_kind_adds_what_it_recorded() {
        let network = demo();
        let ils: UnitCode = "ILS".parse().unwrap();
        let scale = network.currency_scale;
        let m = |s: &str| money(Amount::parse(s, scale).unwrap(), &ils);
        let rule = Rule { network: &network };
        let figures = |e: &RawEntry| {
            rule.activity(e)
                .map(|a| (a.visits, a.spend_minor, a.earned_minor, a.redeemed_minor))
        };
        let earn = entry(
            "earn",
            Some(serde_json::json!({ PURCHASE_KEY: m("120.00"), VALUE_KEY: m("4.80") })),
            120,
        );
        assert_eq!(figures(&earn), Some((1, 12_000, 480, 0)));
        let redeemed = entry(
            "redemption",
            Some(serde_json::json!({ VALUE_KEY: m("2.00") })),
            -50,
        );
        assert_eq!(figures(&redeemed), Some((1, 0, 0, 200)));
        // Posted before values were recorded: 50 AROMA at 0.04 ILS now.
        assert_eq!(figures(&entry("earn", None, 50)), Some((1, 0, 200, 0)));
        let refund = entry(
            "reversal",
            Some(
                serde_json::json!({ "reason": "r", PURCHASE_KEY: m("40.00"), VALUE_KEY: m("1.60") }),
            ),
            -40,
        );
        assert_eq!(figures(&refund), Some((0, -4_000, -160, 0)));
        let unredeemed = entry(
            "reversal",
            Some(serde_json::json!({ VALUE_KEY: m("0.40") })),
            10,
        );
        assert_eq!(figures(&unredeemed), Some((0, 0, 0, -40)));
        assert_eq!(figures(&entry("hold", None, 0)), None);
        let mut settlement = entry("earn", None, 10);
        settlement.member = None;
        assert_eq!(figures(&settlement), None);
    }

    /// Parts of a reversal never take back more than the whole, and all of them take back
    /// exactly the whole, however it is split.
    #[test]
    fn shares_add_up_to_the_whole() {
        for (total, n) in [(1000, 3), (7, 10), (0, 5), (12_345, 12_345), (-999, 4)] {
            for split in [
                vec![n],
                vec![1; usize::try_from(n).unwrap()],
                vec![n - 1, 1],
            ] {
                let (mut done, mut sum) = (0, 0);
                for taken in split {
                    let part = share(total, done, taken, n);
                    assert!(part.abs() <= total.abs(), "{total} {n}: {part}");
                    sum += part;
                    done += taken;
                }
                assert_eq!(sum, total, "{total} over {n}");
            }
        }
        assert_eq!(share(100, 0, 1, 3), 33);
        assert_eq!(share(100, 1, 1, 3), 33);
        assert_eq!(share(100, 2, 1, 3), 34);
        assert_eq!(share(5, 0, 1, 0), 0);
    }
}
