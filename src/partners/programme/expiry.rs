//! A unit's expiry policy (`[unit] expiry = {kind, months, notice_days}`), checked at load.
//! `clearing::expiry` applies it; the ledger's lots are the same whatever the policy.

use std::path::Path;

use serde::Deserialize;

use super::super::ManifestError;

/// The longest expiry period, in months (ten years).
pub const MAX_EXPIRY_MONTHS: u32 = 120;
/// The longest notice before an expiry, in days.
pub const MAX_NOTICE_DAYS: u32 = 365;
/// The notice when a policy does not say.
pub const DEFAULT_NOTICE_DAYS: u32 = 30;

/// `expiry = {kind = "fixed", months = 24, notice_days = 30}` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpiryFile {
    pub kind: ExpiryKind,
    #[serde(default)]
    pub months: Option<u32>,
    #[serde(default)]
    pub notice_days: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpiryKind {
    /// Points never expire.
    None,
    /// Each earn's points expire `months` after they were earned.
    Fixed,
    /// All of a member's points of the unit expire after `months` without an earn or a spend
    /// at any brand.
    Inactivity,
}

impl ExpiryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ExpiryKind::None => "none",
            ExpiryKind::Fixed => "fixed",
            ExpiryKind::Inactivity => "inactivity",
        }
    }
}

/// A unit's policy, checked: points of the unit expire, `months` after their clock starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryPolicy {
    pub kind: ExpiryKind,
    pub months: u32,
    pub notice_days: u32,
}

/// The policy `file` describes (`None` for `kind = "none"`), or why it cannot be used.
pub fn expiry(
    path: &Path,
    key: &str,
    file: &ExpiryFile,
) -> Result<Option<ExpiryPolicy>, ManifestError> {
    if file.kind == ExpiryKind::None {
        if file.months.is_some() || file.notice_days.is_some() {
            return Err(ManifestError::at(
                path,
                key,
                "kind \"none\" takes no months or notice_days",
            ));
        }
        return Ok(None);
    }
    let months = file.months.ok_or_else(|| {
        ManifestError::at(
            path,
            format!("{key}.months"),
            "an expiring unit needs months",
        )
    })?;
    if !(1..=MAX_EXPIRY_MONTHS).contains(&months) {
        return Err(ManifestError::at(
            path,
            format!("{key}.months"),
            format!("must be 1 to {MAX_EXPIRY_MONTHS}"),
        ));
    }
    let notice_days = file.notice_days.unwrap_or(DEFAULT_NOTICE_DAYS);
    if notice_days > MAX_NOTICE_DAYS {
        return Err(ManifestError::at(
            path,
            format!("{key}.notice_days"),
            format!("must be 0 to {MAX_NOTICE_DAYS}"),
        ));
    }
    Ok(Some(ExpiryPolicy {
        kind: file.kind,
        months,
        notice_days,
    }))
}
