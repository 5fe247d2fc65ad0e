//! Members' own use cases, under a member token: wallet, entries, consent, authorisations for
//! another brand to spend their points, conversions between units, donations to a charity.

use rust_decimal::{Decimal, RoundingStrategy};

use super::cards::MemberRef;
use super::codes::{AUTH_CODE_CHARS, normalize_auth_code, random_code};
use super::context::Context;
use super::reads::EntryQuery;
use super::receipt::Posted;
use super::tokens::{
    DEFAULT_MEMBER_TOKEN_TTL_SECS, MAX_MEMBER_TOKEN_TTL_SECS, MEMBER_SCOPES, OPT_IN_SCOPES,
};
use super::trust::token_may_move;
use super::write::{Caller, Work};
use super::{AuthorizationRefused, BadAmount, Clearing, ClearingError, Invalid, rules};
use crate::ledger::{
    Account, Amount, EntryDraft, EntryKind, EntryMeta, MemberId, PartnerId, Party, Posting, Scale,
    UnitCode, UnitKind,
};
use crate::store::authorizations::{self, AuthorizationRow};
use crate::store::coupons::{self as coupon_store, CouponRow};
use crate::store::status::EntryStatus;
use crate::store::{self, WriteTx};

/// Authorisations last 10 minutes unless asked otherwise, at most a day.
pub const DEFAULT_AUTHORIZATION_TTL_SECS: u64 = 10 * 60;
pub const MAX_AUTHORIZATION_TTL_SECS: u64 = 24 * 60 * 60;

/// One unit a member holds, with what the wallet shows about it.
#[derive(Debug, Clone)]
pub struct WalletLine {
    pub unit: UnitCode,
    pub balance: Amount,
    pub issuer: Party,
    pub value: Decimal,
    /// What of it expires when, soonest first (empty when the unit's points do not expire).
    pub expiring: Vec<super::expiry::Expiring>,
}

#[derive(Debug, Clone)]
pub struct Wallet {
    pub member: MemberId,
    /// The member's card in use.
    pub card_number: Option<String>,
    pub lines: Vec<WalletLine>,
    pub coupons: Vec<CouponRow>,
}

/// Spends `points` under a member's authorisation, inside the redemption's write: the code must
/// be the member's, for this partner and unit, unexpired, with enough left.
pub fn spend_authorization(
    tx: &mut WriteTx<'_>,
    code: &str,
    partner: &PartnerId,
    member: MemberId,
    unit: &UnitCode,
    points: Amount,
) -> Result<(), ClearingError> {
    let deny = ClearingError::AuthorizationRequired;
    let stored =
        normalize_auth_code(code).ok_or_else(|| deny(AuthorizationRefused::UnknownCode))?;
    let row = authorizations::get_tx(tx, &stored)?
        .ok_or_else(|| deny(AuthorizationRefused::UnknownCode))?;
    if row.member_id != member.to_string()
        || row.partner != partner.as_str()
        || row.unit != unit.as_str()
    {
        return Err(deny(AuthorizationRefused::OtherTerms));
    }
    if tx.now_us() >= row.expires_at_us {
        return Err(deny(AuthorizationRefused::Expired));
    }
    if row.used_minor + points.minor() > row.max_minor {
        let left = Amount::from_minor(row.max_minor - row.used_minor, points.scale());
        return Err(deny(AuthorizationRefused::Exhausted {
            left,
            unit: unit.clone(),
        }));
    }
    authorizations::use_points(tx, &stored, points.minor())?;
    Ok(())
}

pub(crate) fn points_unit(
    ctx: &Context,
    code: &str,
) -> Result<(UnitCode, Scale, Party, Decimal), ClearingError> {
    let unit: UnitCode = code
        .parse()
        .map_err(|_| ClearingError::UnknownUnit(code.chars().take(20).collect()))?;
    let def = ctx
        .units
        .get(&unit)
        .ok_or_else(|| ClearingError::UnknownUnit(unit.to_string()))?;
    match &def.kind {
        UnitKind::Points { issuer, value } if ctx.network.units.get(&unit).is_some() => {
            Ok((unit, def.scale, issuer.clone(), *value))
        }
        _ => Err(ClearingError::NotPoints(unit)),
    }
}

fn credit(account: Account, amount: Amount) -> Result<Posting, ClearingError> {
    Posting::credit(account, amount).ok_or(ClearingError::AmountTooLarge)
}

fn settlement(ctx: &Context, party: Party) -> Account {
    Account::Settlement {
        party,
        currency: ctx.network.settlement_currency.clone(),
    }
}

/// The largest multiple of the scale's step not above `value`.
fn floor_to(value: Decimal, scale: Scale) -> Decimal {
    value.round_dp_with_strategy(scale.places(), RoundingStrategy::ToNegativeInfinity)
}

/// The smallest multiple of the scale's step not below `value`.
fn ceil_to(value: Decimal, scale: Scale) -> Decimal {
    value.round_dp_with_strategy(scale.places(), RoundingStrategy::ToPositiveInfinity)
}

fn step(scale: Scale) -> Decimal {
    Decimal::new(1, scale.places())
}

/// What a conversion moves: `spent` source points become `received` target points worth
/// `value` of the settlement currency. The member never receives more than the value of what
/// they give; source points beyond the last whole target step are not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversion {
    pub spent: Amount,
    pub received: Amount,
    pub value: Amount,
}

pub fn conversion(
    offered: Amount,
    from_value: Decimal,
    to_scale: Scale,
    to_value: Decimal,
    currency_scale: Scale,
) -> Result<Conversion, ClearingError> {
    let too_large = || ClearingError::AmountTooLarge;
    let worth = offered
        .to_decimal()
        .checked_mul(from_value)
        .ok_or_else(too_large)?;
    let mut received = floor_to(worth.checked_div(to_value).ok_or_else(too_large)?, to_scale);
    // Division is carried to 28 digits; never let its last digit round the member up.
    while received > Decimal::ZERO && received * to_value > worth {
        received -= step(to_scale);
    }
    if received <= Decimal::ZERO {
        return Err(ClearingError::InvalidAmount(BadAmount::TooFewToConvert));
    }
    let cost = received * to_value;
    let mut spent = ceil_to(cost / from_value, offered.scale());
    while spent * from_value < cost {
        spent += step(offered.scale());
    }
    let value = cost.round_dp_with_strategy(
        currency_scale.places(),
        RoundingStrategy::MidpointNearestEven,
    );
    Ok(Conversion {
        spent: Amount::from_decimal(spent, offered.scale()).map_err(|_| too_large())?,
        received: Amount::from_decimal(received, to_scale).map_err(|_| too_large())?,
        value: Amount::from_decimal(value, currency_scale).map_err(|_| too_large())?,
    })
}

/// Posts a member's own entry (a conversion, a donation) once the member is known.
fn post_for_member(member: MemberId, draft: crate::ledger::BalancedEntry) -> impl Work<Posted> {
    move |ctx: &Context, tx: &mut WriteTx<'_>| {
        ctx.require_member(tx, member)?;
        let entry = tx.post(draft)?;
        Ok(Posted {
            entry,
            status: EntryStatus::Posted,
            coupons_issued: None,
        })
    }
}

impl Clearing {
    /// `POST /v1/members/{id}/tokens`: only a partner the member is enrolled with.
    pub fn member_token_work(
        caller: &Caller,
        member: MemberRef,
        scopes: Option<Vec<String>>,
        ttl_secs: Option<u64>,
    ) -> Result<impl Work<(String, i64)>, ClearingError> {
        let scopes = scopes.unwrap_or_else(|| {
            MEMBER_SCOPES
                .iter()
                .filter(|s| !OPT_IN_SCOPES.contains(s))
                .map(|s| (*s).to_owned())
                .collect()
        });
        if let Some(bad) = scopes.iter().find(|s| !MEMBER_SCOPES.contains(&s.as_str())) {
            return Err(ClearingError::InvalidRequest(Invalid::Scope {
                scope: bad.chars().take(30).collect(),
                known: MEMBER_SCOPES.join(", "),
            }));
        }
        let ttl = ttl_secs.unwrap_or(DEFAULT_MEMBER_TOKEN_TTL_SECS);
        if ttl == 0 || ttl > MAX_MEMBER_TOKEN_TTL_SECS {
            return Err(ClearingError::InvalidRequest(Invalid::Ttl(
                MAX_MEMBER_TOKEN_TTL_SECS,
            )));
        }
        let partner = caller.partner.clone();
        Ok(move |ctx: &Context, tx: &mut WriteTx<'_>| {
            let member = ctx.member_for(tx, &partner, &member)?;
            ctx.tokens
                .mint_member(member, &partner, &scopes, ttl, ctx.clock.now_secs())
        })
    }

    /// `GET /v1/me/wallet`: every unit the member holds, with issuer and value, and open coupons.
    pub async fn wallet(&self, member: MemberId) -> Result<Wallet, ClearingError> {
        let m = member.to_string();
        let accounts = self.member_accounts(member);
        let now = self.context().clock.now_us();
        let (balances, coupons, card) = self
            .store()
            .read(move |c| {
                Ok((
                    store::ledger::member_balances(c, &accounts)?,
                    coupon_store::open_for_member(c, &m, now)?,
                    store::cards::active_for(c, &m)?,
                ))
            })
            .await?;
        let mut expiring = self.expiring(member).await?;
        let mut lines = Vec::new();
        for (unit, balance) in balances {
            let Ok((code, scale, issuer, value)) = points_unit(self.context(), &unit) else {
                continue;
            };
            let expiring = expiring
                .iter_mut()
                .find(|(u, _)| *u == code)
                .map(|(_, dates)| std::mem::take(dates))
                .unwrap_or_default();
            lines.push(WalletLine {
                unit: code,
                balance: Amount::from_minor(-balance, scale),
                issuer,
                value,
                expiring,
            });
        }
        Ok(Wallet {
            member,
            card_number: card,
            lines,
            coupons,
        })
    }

    /// `GET /v1/me/entries`: the member's entries at every partner.
    pub async fn member_entries(
        &self,
        member: MemberId,
        after_seq: i64,
        limit: i64,
    ) -> Result<(Vec<Posted>, Option<i64>), ClearingError> {
        let query = EntryQuery {
            member: Some(member),
            ..EntryQuery::default()
        };
        self.entries_for(query, after_seq, limit).await
    }

    /// `POST /v1/me/authorizations`: a code `partner` can pass to spend up to `max_points` of
    /// `unit` of the member's, until it expires.
    pub fn authorize_work(
        &self,
        member: MemberId,
        azp: &PartnerId,
        partner: &str,
        unit: &str,
        max_points: &str,
        ttl_secs: Option<u64>,
    ) -> Result<impl Work<AuthorizationRow>, ClearingError> {
        let ctx = self.context();
        let partner = ctx.partner_named(partner)?;
        let (unit, scale, issuer, _) = points_unit(ctx, unit)?;
        token_may_move(azp, &unit, &issuer, Some(&partner))?;
        let max = Amount::parse_positive(max_points, scale)
            .map_err(|e| ClearingError::InvalidAmount(e.into()))?;
        let ttl = ttl_secs.unwrap_or(DEFAULT_AUTHORIZATION_TTL_SECS);
        if ttl == 0 || ttl > MAX_AUTHORIZATION_TTL_SECS {
            return Err(ClearingError::InvalidRequest(Invalid::Ttl(
                MAX_AUTHORIZATION_TTL_SECS,
            )));
        }
        Ok(move |ctx: &Context, tx: &mut WriteTx<'_>| {
            ctx.require_member(tx, member)?;
            let now = tx.now_us();
            let row = AuthorizationRow {
                code: random_code(AUTH_CODE_CHARS)?,
                member_id: member.to_string(),
                partner: partner.to_string(),
                unit: unit.to_string(),
                max_minor: max.minor(),
                used_minor: 0,
                expires_at_us: now
                    .saturating_add(i64::try_from(ttl).unwrap_or(0).saturating_mul(1_000_000)),
                created_at_us: now,
            };
            authorizations::insert(tx, &row)?;
            Ok(row)
        })
    }

    /// `POST /v1/me/conversions`: points of one unit into another at clearing values. The target
    /// issuer takes over the liability and is owed its value by the source issuer.
    pub fn convert_work(
        &self,
        member: MemberId,
        azp: &PartnerId,
        from: &str,
        to: &str,
        points: &str,
    ) -> Result<impl Work<Posted>, ClearingError> {
        let ctx = self.context();
        let (from, from_scale, from_issuer, from_value) = points_unit(ctx, from)?;
        let (to, to_scale, to_issuer, to_value) = points_unit(ctx, to)?;
        let receiver = match &to_issuer {
            Party::Partner(p) => Some(p),
            Party::Network => None,
        };
        token_may_move(azp, &from, &from_issuer, receiver)?;
        if from == to {
            return Err(ClearingError::InvalidRequest(Invalid::SameUnit));
        }
        let offered = Amount::parse_positive(points, from_scale)
            .map_err(|e| ClearingError::InvalidAmount(e.into()))?;
        let c = conversion(
            offered,
            from_value,
            to_scale,
            to_value,
            ctx.network.currency_scale,
        )?;
        let mut postings = vec![
            Posting::debit(
                Account::Member {
                    member,
                    unit: from.clone(),
                },
                c.spent,
            ),
            credit(
                Account::Issuer {
                    issuer: from_issuer.clone(),
                    unit: from.clone(),
                },
                c.spent,
            )?,
            Posting::debit(
                Account::Issuer {
                    issuer: to_issuer.clone(),
                    unit: to.clone(),
                },
                c.received,
            ),
            credit(
                Account::Member {
                    member,
                    unit: to.clone(),
                },
                c.received,
            )?,
        ];
        if from_issuer != to_issuer && c.value.is_positive() {
            postings.push(Posting::debit(settlement(ctx, from_issuer), c.value));
            postings.push(credit(settlement(ctx, to_issuer), c.value)?);
        }
        let mut meta = EntryMeta::new(EntryKind::Conversion);
        meta.member = Some(member);
        meta.memo = Some(serde_json::json!({ "offered": offered.to_string(), "from": from.to_string(), "to": to.to_string() }).to_string());
        let draft = EntryDraft::new(meta, postings).balance(&ctx.units)?;
        Ok(post_for_member(member, draft))
    }

    /// `POST /v1/me/donations`: points given to a charity partner; their issuer owes the charity
    /// their value, which its statement will show.
    pub fn donate_work(
        &self,
        member: MemberId,
        azp: &PartnerId,
        unit: &str,
        points: &str,
        charity: &str,
    ) -> Result<impl Work<Posted>, ClearingError> {
        let ctx = self.context();
        let charity: PartnerId = charity
            .parse()
            .ok()
            .filter(|p| ctx.network.partner(p).is_some_and(|p| p.charity))
            .ok_or_else(|| {
                ClearingError::InvalidRequest(Invalid::NotACharity(
                    charity.chars().take(32).collect(),
                ))
            })?;
        let (unit, scale, issuer, _) = points_unit(ctx, unit)?;
        token_may_move(azp, &unit, &issuer, Some(&charity))?;
        let points = Amount::parse_positive(points, scale)
            .map_err(|e| ClearingError::InvalidAmount(e.into()))?;
        let def = ctx
            .units
            .get(&unit)
            .ok_or_else(|| ClearingError::UnknownUnit(unit.to_string()))?;
        let value = rules::clearing_value(points, def, &ctx.network)?;
        if !value.is_positive() {
            return Err(ClearingError::InvalidAmount(BadAmount::TooFewToDonate));
        }
        let postings = vec![
            Posting::debit(
                Account::Member {
                    member,
                    unit: unit.clone(),
                },
                points,
            ),
            credit(
                Account::Issuer {
                    issuer: issuer.clone(),
                    unit: unit.clone(),
                },
                points,
            )?,
            Posting::debit(settlement(ctx, issuer), value),
            credit(settlement(ctx, Party::Partner(charity.clone())), value)?,
        ];
        let mut meta = EntryMeta::new(EntryKind::Donation);
        meta.member = Some(member);
        meta.partner = Some(charity);
        let draft = EntryDraft::new(meta, postings).balance(&ctx.units)?;
        Ok(post_for_member(member, draft))
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn s(p: u32) -> Scale {
        Scale::new(p).unwrap()
    }

    fn d(t: &str) -> Decimal {
        Decimal::from_str(t).unwrap()
    }

    #[test]
    fn conversions_never_give_more_than_the_value() {
        // 50 AROMA at 0.04 = 2.00 → 20 STYLE at 0.10, all 50 spent.
        let c = conversion(
            Amount::from_minor(50, s(0)),
            d("0.04"),
            s(0),
            d("0.10"),
            s(2),
        )
        .unwrap();
        assert_eq!(
            (
                c.spent.minor(),
                c.received.minor(),
                c.value.to_string().as_str()
            ),
            (50, 20, "2.00")
        );
        // 51 AROMA = 2.04 → still 20 STYLE: only 50 AROMA are taken, the member keeps 1.
        let c = conversion(
            Amount::from_minor(51, s(0)),
            d("0.04"),
            s(0),
            d("0.10"),
            s(2),
        )
        .unwrap();
        assert_eq!((c.spent.minor(), c.received.minor()), (50, 20));
        // 7 STYLE = 0.70 → 14 PAGES at 0.05.
        let c = conversion(
            Amount::from_minor(7, s(0)),
            d("0.10"),
            s(0),
            d("0.05"),
            s(2),
        )
        .unwrap();
        assert_eq!(
            (c.spent.minor(), c.received.minor(), c.value.minor()),
            (7, 14, 70)
        );
        // 3 AROMA = 0.12 → 1.2 FUEL-tenths... FUEL counts in tenths at 0.01: 12.0 FUEL.
        let c = conversion(
            Amount::from_minor(3, s(0)),
            d("0.04"),
            s(1),
            d("0.01"),
            s(2),
        )
        .unwrap();
        assert_eq!((c.spent.minor(), c.received.minor()), (3, 120));
        // Too little for one target step.
        assert!(
            conversion(
                Amount::from_minor(1, s(0)),
                d("0.04"),
                s(0),
                d("0.10"),
                s(2)
            )
            .is_err()
        );
        // Thirds: 1 X at 0.10 into Y at 0.03 → 3 Y (0.09); the whole X is spent (0.10 ≥ 0.09).
        let c = conversion(
            Amount::from_minor(1, s(0)),
            d("0.10"),
            s(0),
            d("0.03"),
            s(2),
        )
        .unwrap();
        assert_eq!(
            (c.spent.minor(), c.received.minor(), c.value.minor()),
            (1, 3, 9)
        );
        assert!(c.received.to_decimal() * d("0.03") <= c.spent.to_decimal() * d("0.10"));
    }
}
