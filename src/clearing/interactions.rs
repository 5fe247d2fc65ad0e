//! `POST /v1/interactions`: a touch point a partner reports (a visit, an app opened, a workshop,
//! a review, …). It counts as a visit in the member's profile and, when one of the partner's
//! `interaction` earn rules applies and its daily cap allows, earns points: an earn entry whose
//! receipt names the rule.

use super::cards::MemberRef;
use super::context::Context;
use super::earn_rules::{self, Awarded, InteractionKind, LocalTime};
use super::input::{check_occurred_at, check_text};
use super::receipt::Posted;
use super::write::{Caller, Work};
use super::{Clearing, ClearingError, Invalid, profile, rules, tiers};
use crate::ledger::{Amount, EntryKind, InteractionId, MemberId, PartnerId, UnitCode};
use crate::store::WriteTx;
use crate::store::interactions::{self, InteractionRow};
use crate::store::status::{EntryStatus, OperationKind, OperationStatus};

/// The memo key an interaction's earn records it under (the profile counts the interaction as
/// the visit, not the earn).
pub(crate) const INTERACTION_KEY: &str = "interaction";

#[derive(Debug, Clone)]
pub struct InteractionInput {
    pub member: MemberRef,
    pub kind: String,
    pub reference: String,
    pub occurred_at: Option<String>,
}

/// An interaction recorded, and the earn its rules posted (if any).
#[derive(Debug, Clone)]
pub struct Interacted {
    pub row: InteractionRow,
    /// The rules that awarded points, each with its points (empty: none applied, or capped).
    pub rules: Vec<Awarded>,
    pub unit: Option<UnitCode>,
    pub posted: Option<Posted>,
}

/// The rules of `partner` that award this touch point now, their caps respected (each award is
/// counted for its day).
fn award_tx(
    ctx: &Context,
    tx: &mut WriteTx<'_>,
    partner: &PartnerId,
    member: MemberId,
    kind: &InteractionKind,
    unit_places: u32,
) -> Result<Vec<Awarded>, ClearingError> {
    let configured = ctx
        .network
        .partner(partner)
        .map_or(&[][..], |p| p.earn_rules.as_slice());
    let wants_tier = configured.iter().any(|r| r.tiers.is_some());
    let tier = if wants_tier {
        tiers::held_tx(ctx, tx, member)?.and_then(|b| b.tier)
    } else {
        None
    };
    let local = LocalTime::at(&ctx.network.time_zone, tx.now_us()).ok_or(
        ClearingError::InvalidRequest(Invalid::Time { field: "now" }),
    )?;
    let day = local.day_key();
    let (m, p) = (member.to_string(), partner.to_string());
    let mut awarded = Vec::new();
    for a in earn_rules::interaction_awards(configured, kind, tier.as_deref(), local, unit_places) {
        let given = interactions::awards_tx(tx, &m, &p, &a.rule, day)?;
        if given >= i64::from(a.max_per_day) {
            continue;
        }
        interactions::add_award_tx(tx, &m, &p, &a.rule, day)?;
        awarded.push(Awarded {
            rule: a.rule,
            points: a.points,
        });
    }
    Ok(awarded)
}

/// The earn of an interaction's awards, in the partner's own unit.
fn post_award(
    ctx: &Context,
    tx: &mut WriteTx<'_>,
    caller: &Caller,
    member: MemberId,
    unit: &UnitCode,
    (id, row_kind, reference): (InteractionId, &InteractionKind, &str),
    awarded: &[Awarded],
) -> Result<Posted, ClearingError> {
    let scale = ctx.scale(unit)?;
    let sum = earn_rules::total(awarded).map_err(|_| ClearingError::AmountTooLarge)?;
    let points = Amount::from_decimal(sum, scale).map_err(|_| ClearingError::AmountTooLarge)?;
    let mut memo = serde_json::json!({});
    memo[profile::VALUE_KEY] = ctx.value_memo(unit, points)?;
    memo[super::earn::RULES_KEY] = awarded
        .iter()
        .map(|a| serde_json::json!({ "id": a.rule, "points": a.points.to_string() }))
        .collect();
    memo[INTERACTION_KEY] =
        serde_json::json!({ "id": id.to_string(), "kind": row_kind.to_string() });
    let mut meta = caller.meta(EntryKind::Earn, member, Some(reference.to_owned()));
    meta.memo = Some(memo.to_string());
    let draft = rules::earn_with_bonus(
        &ctx.network,
        &caller.partner,
        member,
        unit,
        (points, Amount::from_minor(0, scale)),
        meta,
    )?;
    let entry = tx.post(draft.balance(&ctx.units)?)?;
    ctx.operation(
        tx,
        &entry,
        OperationKind::Earn,
        (unit, points),
        OperationStatus::Posted,
        None,
    )?;
    Ok(Posted {
        entry,
        status: EntryStatus::Posted,
        coupons_issued: None,
    })
}

impl Clearing {
    /// `POST /v1/interactions`.
    pub fn interaction_work(
        &self,
        caller: &Caller,
        input: InteractionInput,
    ) -> Result<impl Work<Interacted>, ClearingError> {
        check_text(
            "reference",
            &input.reference,
            crate::ledger::entry::MAX_REFERENCE_CHARS,
        )?;
        let kind: InteractionKind = input
            .kind
            .parse()
            .map_err(|m| ClearingError::InvalidRequest(Invalid::InteractionKind(m)))?;
        check_occurred_at(input.occurred_at.as_deref(), self.ctx.clock.now_us())?;
        let caller = caller.clone();
        Ok(move |ctx: &Context, tx: &mut WriteTx<'_>| {
            let partner = &caller.partner;
            let member = ctx.member_for(tx, partner, &input.member)?;
            let id = InteractionId::new_v7();
            let unit = ctx.network.partner(partner).and_then(|p| p.unit.clone());
            let (rules, posted) = match &unit {
                Some(unit) => {
                    let places = ctx.scale(unit)?.places();
                    let rules = award_tx(ctx, tx, partner, member, &kind, places)?;
                    let posted = if rules.is_empty() {
                        None
                    } else {
                        let what = (id, &kind, input.reference.as_str());
                        Some(post_award(ctx, tx, &caller, member, unit, what, &rules)?)
                    };
                    (rules, posted)
                }
                None => (Vec::new(), None),
            };
            let row = InteractionRow {
                id: id.to_string(),
                partner: partner.to_string(),
                member_id: member.to_string(),
                kind: kind.to_string(),
                reference: input.reference.clone(),
                at_us: tx.now_us(),
                occurred_at: input.occurred_at.clone(),
                entry_id: posted.as_ref().map(|p| p.entry.id.to_string()),
            };
            interactions::record_tx(tx, &row)?;
            Ok(Interacted {
                row,
                rules,
                unit: posted.is_some().then_some(unit).flatten(),
                posted,
            })
        })
    }
}
