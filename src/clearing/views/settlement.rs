//! A settlement cycle as finance users see it: every position, or one partner's.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clearing::settlement::Settlement;
use crate::clearing::time;
use crate::ledger::{Amount, PartnerId, Scale};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PositionView {
    /// A partner id, or `network` for the network's own position (units it issues, fees).
    pub partner: String,
    pub currency: String,
    /// Above zero the network pays the partner; below zero the partner pays the network.
    pub net: String,
    pub paid: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ObligationView {
    pub from: String,
    pub to: String,
    pub amount: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SettlementView {
    pub settlement_id: String,
    pub cutoff: String,
    /// open, partially_paid or settled.
    pub status: String,
    pub currency: String,
    /// The chain range the cycle closed: after `first_seq`, up to and including `last_seq`.
    pub first_seq: i64,
    pub last_seq: i64,
    pub positions: Vec<PositionView>,
    pub obligations: Vec<ObligationView>,
}

pub fn money(minor: i64, scale: Scale) -> String {
    Amount::from_minor(minor, scale).to_string()
}

/// The settlement as `who` may see it: a partner's finance user sees its own position and the
/// obligations it is part of.
pub fn view(s: &Settlement, scale: Scale, who: Option<&PartnerId>) -> SettlementView {
    let visible = |p: &str| who.is_none_or(|w| w.as_str() == p);
    SettlementView {
        settlement_id: s.row.id.clone(),
        cutoff: time::rfc3339(s.row.cutoff_us),
        status: s.row.status.to_string(),
        currency: s.row.currency.clone(),
        first_seq: s.row.first_seq,
        last_seq: s.row.last_seq,
        positions: s
            .positions
            .iter()
            .filter(|p| visible(&p.party))
            .map(|p| PositionView {
                partner: p.party.clone(),
                currency: s.row.currency.clone(),
                net: money(p.net_minor, scale),
                paid: money(p.paid_minor, scale),
            })
            .collect(),
        obligations: s
            .obligations
            .iter()
            .filter(|o| visible(&o.debtor) || visible(&o.creditor))
            .map(|o| ObligationView {
                from: o.debtor.clone(),
                to: o.creditor.clone(),
                amount: money(o.amount_minor, scale),
            })
            .collect(),
    }
}
