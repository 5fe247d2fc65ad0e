//! Units the ledger counts: point currencies with an issuer and a clearing value, and the
//! settlement currency.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::amount::Scale;
use super::ids::{Party, UnitCode};

/// What a unit is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitKind {
    /// Points issued by a partner or by the network, worth `value` of the settlement currency
    /// each when they cross brands.
    Points { issuer: Party, value: Decimal },
    /// The money partners settle in.
    Currency,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub code: UnitCode,
    pub scale: Scale,
    pub kind: UnitKind,
}

impl Unit {
    pub fn issuer(&self) -> Option<&Party> {
        match &self.kind {
            UnitKind::Points { issuer, .. } => Some(issuer),
            UnitKind::Currency => None,
        }
    }

    pub fn is_points(&self) -> bool {
        matches!(self.kind, UnitKind::Points { .. })
    }
}

/// Every unit the ledger knows, by code.
#[derive(Debug, Clone, Default)]
pub struct Units(BTreeMap<UnitCode, Unit>);

impl Units {
    pub fn new(units: impl IntoIterator<Item = Unit>) -> Self {
        Self(units.into_iter().map(|u| (u.code.clone(), u)).collect())
    }

    pub fn get(&self, code: &UnitCode) -> Option<&Unit> {
        self.0.get(code)
    }

    pub fn scale_of(&self, code: &UnitCode) -> Option<Scale> {
        self.0.get(code).map(|u| u.scale)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Unit> {
        self.0.values()
    }
}
