//! A touch point as partners (and the member's export) see it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entry::{EntryView, RulePoints};
use crate::clearing::interactions::Interacted;
use crate::clearing::{Context, time};
use crate::store::interactions::InteractionRow;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InteractionView {
    /// UUIDv7.
    pub interaction_id: String,
    pub member_id: String,
    pub partner: String,
    /// `visit`, `app_open`, `workshop`, `review`, `referral`, `survey` or `custom:<name>`.
    pub kind: String,
    pub reference: String,
    /// When the service recorded it (what the profile, the rules and the caps count by).
    pub recorded_at: String,
    /// When the partner said it happened, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_at: Option<String>,
    /// The earn the partner's `interaction` rules posted for it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_id: Option<String>,
    /// The unit and points awarded (none: no rule applied, or its daily cap was reached).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<String>,
    /// Each rule's points.
    #[serde(default)]
    pub rules: Vec<RulePoints>,
    /// The earn's receipt (as every write's), when points were awarded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<EntryView>,
}

impl InteractionView {
    /// A stored interaction (the member's export): no receipt, the entry named.
    pub fn stored(row: InteractionRow) -> Self {
        Self {
            interaction_id: row.id,
            member_id: row.member_id,
            partner: row.partner,
            kind: row.kind,
            reference: row.reference,
            recorded_at: time::rfc3339(row.at_us),
            occurred_at: row.occurred_at,
            entry_id: row.entry_id,
            unit: None,
            points: None,
            rules: Vec::new(),
            receipt: None,
        }
    }

    pub fn new(ctx: &Context, i: Interacted) -> Self {
        let receipt = i.posted.as_ref().map(|p| EntryView::new(ctx, p));
        let mut view = Self::stored(i.row);
        view.points = receipt.as_ref().and_then(|r| r.points.clone());
        view.unit = i.unit.map(|u| u.to_string());
        view.rules = i
            .rules
            .into_iter()
            .map(|a| RulePoints {
                id: a.rule,
                points: a.points.to_string(),
            })
            .collect();
        view.receipt = receipt;
        view
    }
}
