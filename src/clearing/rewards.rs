//! Rewards: experiences and products a partner offers for points, each with a number of places.
//! A member claims one with their token — the points are spent as a redemption at the reward's
//! partner (entry kind `reward_claim`; another brand's unit is cleared like any cross-brand
//! redemption) and a place is taken in the same write, never past capacity. The partner fulfils
//! the claim, or cancels it: the points go back by a reversal and the place is free again.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::codes::{display_code, new_code, normalize_code};
use super::context::Context;
use super::input::check_text;
use super::members::points_unit;
use super::receipt::Posted;
use super::trust::token_may_move;
use super::views::entry::EntryView;
use super::write::{Caller, Work};
use super::{Clearing, ClearingError, Invalid, Missing, profile, rules, time};
use crate::ledger::{
    Amount, EntryId, EntryKind, EntryMeta, MemberId, PartnerId, Posting, RewardId,
};
use crate::store::WriteTx;
use crate::store::rewards::{self, ClaimRow, MAX_REWARDS_PAGE, RewardRow};
use crate::store::status::EntryStatus;

/// The longest reward name and description, in characters.
pub const MAX_REWARD_NAME_CHARS: usize = 100;
pub const MAX_REWARD_DESCRIPTION_CHARS: usize = 2_000;
/// The most places one reward may have.
pub const MAX_REWARD_CAPACITY: i64 = 1_000_000;
/// The most claims a member's listing shows.
pub const MAX_MEMBER_CLAIMS: i64 = 200;

#[derive(Debug, Clone)]
pub struct RewardInput {
    pub name: String,
    pub description: String,
    pub unit: String,
    pub points: String,
    pub capacity: i64,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
}

/// A reward as anyone may see it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RewardView {
    pub reward_id: String,
    pub partner: String,
    pub name: String,
    pub description: String,
    /// The unit its price is in, and the price.
    pub unit: String,
    pub points: String,
    pub capacity: i64,
    pub places_left: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<String>,
}

impl RewardView {
    pub fn new(ctx: &Context, r: &RewardRow) -> Self {
        let scale = r
            .unit
            .parse()
            .ok()
            .and_then(|u| ctx.units.scale_of(&u))
            .unwrap_or(crate::ledger::Scale::ZERO);
        Self {
            reward_id: r.id.clone(),
            partner: r.partner.clone(),
            name: r.name.clone(),
            description: r.description.clone(),
            unit: r.unit.clone(),
            points: Amount::from_minor(r.price_minor, scale).to_string(),
            capacity: r.capacity,
            places_left: r.capacity - r.claimed,
            starts_at: r.starts_at_us.map(time::rfc3339),
            ends_at: r.ends_at_us.map(time::rfc3339),
        }
    }
}

/// A claim as its member and the reward's partner see it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ClaimView {
    /// What the member shows at the workshop or the counter, e.g. `7KQ2-M9XD-TPRH-4WNCZ`.
    pub claim_code: String,
    pub reward_id: String,
    pub member_id: String,
    /// `claimed`, `fulfilled` or `cancelled`.
    pub status: String,
    pub claimed_at: String,
    /// The points spent (`reward_claim`), or given back (the cancellation's reversal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<EntryView>,
}

/// A claim and the entry its write posted, if any.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub row: ClaimRow,
    pub posted: Option<Posted>,
}

impl Claimed {
    pub fn view(&self, ctx: &Context) -> ClaimView {
        ClaimView {
            claim_code: display_code(&self.row.code),
            reward_id: self.row.reward_id.clone(),
            member_id: self.row.member_id.clone(),
            status: self.row.status.clone(),
            claimed_at: time::rfc3339(self.row.created_at_us),
            receipt: self.posted.as_ref().map(|p| EntryView::new(ctx, p)),
        }
    }
}

fn optional_time(field: &'static str, text: Option<&str>) -> Result<Option<i64>, ClearingError> {
    text.map(|t| {
        time::parse_rfc3339(t).ok_or(ClearingError::InvalidRequest(Invalid::Time { field }))
    })
    .transpose()
}

/// The reward's row, checked: a known point unit, a positive price at its scale, 1 to
/// [`MAX_REWARD_CAPACITY`] places, a window that is not empty.
fn reward_row(
    ctx: &Context,
    partner: &PartnerId,
    input: RewardInput,
) -> Result<RewardRow, ClearingError> {
    check_text("name", &input.name, MAX_REWARD_NAME_CHARS)?;
    check_text(
        "description",
        &input.description,
        MAX_REWARD_DESCRIPTION_CHARS,
    )?;
    let (unit, scale, _, _) = points_unit(ctx, &input.unit)?;
    let price = Amount::parse_positive(&input.points, scale)
        .map_err(|e| ClearingError::InvalidAmount(e.into()))?;
    if !(1..=MAX_REWARD_CAPACITY).contains(&input.capacity) {
        return Err(ClearingError::InvalidRequest(Invalid::Capacity(
            MAX_REWARD_CAPACITY,
        )));
    }
    let starts = optional_time("starts_at", input.starts_at.as_deref())?;
    let ends = optional_time("ends_at", input.ends_at.as_deref())?;
    if let (Some(s), Some(e)) = (starts, ends)
        && e <= s
    {
        return Err(ClearingError::InvalidRequest(Invalid::EmptyValidity));
    }
    Ok(RewardRow {
        id: RewardId::new_v7().to_string(),
        partner: partner.to_string(),
        name: input.name,
        description: input.description,
        unit: unit.to_string(),
        price_minor: price.minor(),
        capacity: input.capacity,
        claimed: 0,
        starts_at_us: starts,
        ends_at_us: ends,
        created_at_us: ctx.clock.now_us(),
    })
}

/// The points of a claim spent: a redemption at the reward's partner, its value recorded.
fn claim_entry(
    ctx: &Context,
    tx: &mut WriteTx<'_>,
    reward: &RewardRow,
    member: MemberId,
    code: &str,
) -> Result<Posted, ClearingError> {
    let (unit, scale, _, _) = points_unit(ctx, &reward.unit)?;
    let points = Amount::from_minor(reward.price_minor, scale);
    let partner: PartnerId = reward
        .partner
        .parse()
        .map_err(|_| ClearingError::UnknownPartner(reward.partner.clone()))?;
    let mut meta = EntryMeta::new(EntryKind::RewardClaim);
    meta.member = Some(member);
    meta.partner = Some(partner.clone());
    meta.reference = Some(display_code(code));
    let mut memo = serde_json::json!({ "reward": reward.id, "name": reward.name });
    memo[profile::VALUE_KEY] = ctx.value_memo(&unit, points)?;
    meta.memo = Some(memo.to_string());
    let draft = rules::redeem(&ctx.network, &partner, member, &unit, points, meta)?;
    let entry = tx.post(draft.balance(&ctx.units)?)?;
    Ok(Posted {
        entry,
        status: EntryStatus::Posted,
        coupons_issued: None,
    })
}

/// The claim's points given back: every line of its entry reversed exactly, under `meta` (the
/// canceller's, kind `reversal`).
fn refund(
    ctx: &Context,
    tx: &mut WriteTx<'_>,
    mut meta: EntryMeta,
    claim: &ClaimRow,
) -> Result<Posted, ClearingError> {
    let id: EntryId = claim
        .entry_id
        .parse()
        .map_err(|_| ClearingError::NotFound(Missing::Entry(claim.entry_id.clone())))?;
    let original = tx
        .entry(id, &ctx.units)?
        .ok_or_else(|| ClearingError::NotFound(Missing::Entry(claim.entry_id.clone())))?;
    let mut postings = Vec::with_capacity(original.postings.len());
    for p in &original.postings {
        let amount = p
            .amount
            .checked_neg()
            .ok_or(ClearingError::AmountTooLarge)?;
        postings.push(Posting {
            account: p.account.clone(),
            amount,
        });
    }
    meta.reference = Some(display_code(&claim.code));
    meta.reverses = Some(id);
    let mut memo = serde_json::json!({ "reason": "reward claim cancelled" });
    if let Some(original_memo) = original
        .meta
        .memo
        .as_deref()
        .and_then(|m| serde_json::from_str::<serde_json::Value>(m).ok())
    {
        memo[profile::VALUE_KEY] = original_memo[profile::VALUE_KEY].clone();
    }
    meta.memo = Some(memo.to_string());
    let draft = crate::ledger::EntryDraft::new(meta, postings);
    let entry = tx.post(draft.balance(&ctx.units)?)?;
    Ok(Posted {
        entry,
        status: EntryStatus::Posted,
        coupons_issued: None,
    })
}

/// Cancels an open claim inside a write, under `meta` (the reversal's: who cancels): the points
/// back, the place free again.
pub(crate) fn cancel_claim_tx(
    ctx: &Context,
    tx: &mut WriteTx<'_>,
    meta: EntryMeta,
    claim: ClaimRow,
) -> Result<Claimed, ClearingError> {
    let posted = refund(ctx, tx, meta, &claim)?;
    rewards::give_place_back_tx(tx, &claim.reward_id)?;
    let refund_id = posted.entry.id.to_string();
    rewards::close_claim_tx(tx, &claim.code, "cancelled", Some(&refund_id))?;
    Ok(Claimed {
        row: ClaimRow {
            status: "cancelled".into(),
            refund_entry_id: Some(refund_id),
            closed_at_us: Some(tx.now_us()),
            ..claim
        },
        posted: Some(posted),
    })
}

/// Which claim of which reward of `partner` a path names.
fn partners_claim(
    tx: &mut WriteTx<'_>,
    partner: &PartnerId,
    reward: &str,
    code: &str,
) -> Result<ClaimRow, ClearingError> {
    let missing = || ClearingError::NotFound(Missing::Claim);
    let code = normalize_code(code).ok_or_else(missing)?;
    let owned = rewards::get_tx(tx, reward)?.is_some_and(|r| r.partner == partner.as_str());
    rewards::claim_tx(tx, &code)?
        .filter(|c| owned && c.reward_id == reward)
        .ok_or_else(missing)
}

impl Clearing {
    /// `POST /v1/rewards`: the caller offers it.
    pub fn create_reward_work(
        &self,
        caller: &Caller,
        input: RewardInput,
    ) -> Result<impl Work<RewardView>, ClearingError> {
        let row = reward_row(&self.ctx, &caller.partner, input)?;
        Ok(move |ctx: &Context, tx: &mut WriteTx<'_>| {
            rewards::insert_tx(tx, &row)?;
            Ok(RewardView::new(ctx, &row))
        })
    }

    /// `GET /v1/rewards`: those not over, oldest first, a page after `after`.
    pub async fn rewards(
        &self,
        after: Option<(i64, String)>,
        limit: i64,
    ) -> Result<Vec<RewardView>, ClearingError> {
        let now = self.ctx.clock.now_us();
        let limit = limit.clamp(1, MAX_REWARDS_PAGE);
        let rows = self
            .store
            .read(move |c| rewards::open_page(c, now, after, limit))
            .await?;
        Ok(rows.iter().map(|r| RewardView::new(&self.ctx, r)).collect())
    }

    /// One reward by id (any caller): its view and when it was offered (the listing's place).
    pub async fn reward(&self, id: &str) -> Result<(RewardView, i64), ClearingError> {
        let key = id.to_owned();
        let row = self
            .store
            .read(move |c| rewards::get(c, &key))
            .await?
            .ok_or_else(|| {
                ClearingError::NotFound(Missing::Reward(id.chars().take(40).collect()))
            })?;
        Ok((RewardView::new(&self.ctx, &row), row.created_at_us))
    }

    /// `POST /v1/me/rewards/{id}/claims`: the member spends the price and takes a place.
    pub fn claim_reward_work(
        &self,
        member: MemberId,
        azp: &PartnerId,
        reward_id: String,
    ) -> impl Work<Claimed> {
        let azp = azp.clone();
        move |ctx: &Context, tx: &mut WriteTx<'_>| {
            ctx.require_member(tx, member)?;
            let reward = rewards::get_tx(tx, &reward_id)?
                .ok_or_else(|| ClearingError::NotFound(Missing::Reward(reward_id.clone())))?;
            let (unit, _, issuer, _) = points_unit(ctx, &reward.unit)?;
            let partner: PartnerId = reward
                .partner
                .parse()
                .map_err(|_| ClearingError::UnknownPartner(reward.partner.clone()))?;
            token_may_move(&azp, &unit, &issuer, Some(&partner))?;
            let now = tx.now_us();
            let open = reward.starts_at_us.is_none_or(|s| now >= s)
                && reward.ends_at_us.is_none_or(|e| now < e);
            if !open {
                return Err(ClearingError::RewardUnavailable(reward.id.clone()));
            }
            if !rewards::take_place_tx(tx, &reward.id)? {
                return Err(ClearingError::SoldOut(reward.id.clone()));
            }
            let code = new_code()?;
            let posted = claim_entry(ctx, tx, &reward, member, &code)?;
            let row = ClaimRow {
                code,
                reward_id: reward.id.clone(),
                member_id: member.to_string(),
                status: "claimed".into(),
                entry_id: posted.entry.id.to_string(),
                refund_entry_id: None,
                created_at_us: now,
                closed_at_us: None,
            };
            rewards::insert_claim_tx(tx, &row)?;
            Ok(Claimed {
                row,
                posted: Some(posted),
            })
        }
    }

    /// `POST /v1/rewards/{id}/claims/{code}/fulfil` by the reward's partner; again: the same.
    pub fn fulfil_claim_work(caller: &Caller, reward: String, code: String) -> impl Work<Claimed> {
        let caller = caller.clone();
        move |_: &Context, tx: &mut WriteTx<'_>| {
            let claim = partners_claim(tx, &caller.partner, &reward, &code)?;
            match claim.status.as_str() {
                "claimed" => {
                    rewards::close_claim_tx(tx, &claim.code, "fulfilled", None)?;
                    let now = tx.now_us();
                    Ok(Claimed {
                        row: ClaimRow {
                            status: "fulfilled".into(),
                            closed_at_us: Some(now),
                            ..claim
                        },
                        posted: None,
                    })
                }
                "fulfilled" => Ok(Claimed {
                    row: claim,
                    posted: None,
                }),
                _ => Err(ClearingError::ClaimClosed(display_code(&claim.code))),
            }
        }
    }

    /// `POST /v1/rewards/{id}/claims/{code}/cancel` by the reward's partner: the points back by
    /// a reversal, the place free. A fulfilled claim cannot be cancelled; again: the same.
    pub fn cancel_claim_work(caller: &Caller, reward: String, code: String) -> impl Work<Claimed> {
        let caller = caller.clone();
        move |ctx: &Context, tx: &mut WriteTx<'_>| {
            let claim = partners_claim(tx, &caller.partner, &reward, &code)?;
            match claim.status.as_str() {
                "claimed" => {
                    let member = super::input::parse_member(&claim.member_id)?;
                    let meta = caller.meta(EntryKind::Reversal, member, None);
                    cancel_claim_tx(ctx, tx, meta, claim)
                }
                "cancelled" => Ok(Claimed {
                    row: claim,
                    posted: None,
                }),
                _ => Err(ClearingError::ClaimClosed(display_code(&claim.code))),
            }
        }
    }

    /// Erasure: every open claim of the member cancelled (points back before they are
    /// forfeited). Returns how many.
    pub(crate) fn cancel_member_claims_tx(
        ctx: &Context,
        tx: &mut WriteTx<'_>,
        member: MemberId,
    ) -> Result<usize, ClearingError> {
        let open = rewards::open_claims_tx(tx, &member.to_string())?;
        let n = open.len();
        for claim in open {
            let reward = rewards::get_tx(tx, &claim.reward_id)?;
            let mut meta = EntryMeta::new(EntryKind::Reversal);
            meta.member = Some(member);
            meta.partner = reward.and_then(|r| r.partner.parse().ok());
            cancel_claim_tx(ctx, tx, meta, claim)?;
        }
        Ok(n)
    }

    /// The member's claims with their rewards, newest first (the wallet).
    pub async fn member_claims(
        &self,
        member: MemberId,
    ) -> Result<Vec<(ClaimView, RewardView)>, ClearingError> {
        let m = member.to_string();
        let rows = self
            .store
            .read(move |c| rewards::claims_of(c, &m, MAX_MEMBER_CLAIMS))
            .await?;
        Ok(rows
            .into_iter()
            .map(|(claim, reward)| {
                let view = Claimed {
                    row: claim,
                    posted: None,
                }
                .view(&self.ctx);
                (view, RewardView::new(&self.ctx, &reward))
            })
            .collect())
    }
}
