//! The TOML shape of `network.toml` and of one partner's manifest, and where an error points.

use std::path::Path;

use serde::Deserialize;

use super::programme::{ExpiryFile, RuleFile, TiersFile};
use crate::ledger::{KeyId, PartnerId, UnitCode};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkFile {
    pub name: String,
    pub settlement_currency: UnitCode,
    /// Decimal places of the settlement currency (ISO 4217's minor unit; 2 when omitted).
    #[serde(default = "default_currency_scale")]
    pub settlement_scale: u32,
    #[serde(default)]
    pub fee_bps: u32,
    /// The first digits of every member card number: 2 to 6 digits ("6001" when omitted).
    #[serde(default)]
    pub card_prefix: Option<String>,
    #[serde(default)]
    pub units: Vec<UnitFile>,
    /// IANA name: rule hours and days, statement dates ("UTC" when omitted).
    #[serde(default)]
    pub time_zone: Option<String>,
    #[serde(default)]
    pub tiers: Option<TiersFile>,
}

fn default_currency_scale() -> u32 {
    2
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitFile {
    pub code: UnitCode,
    pub scale: u32,
    /// Clearing value of one point in the settlement currency, as a decimal string.
    pub value: String,
    /// When the unit's points expire (never, when omitted).
    #[serde(default)]
    pub expiry: Option<ExpiryFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerFile {
    pub id: PartnerId,
    pub name: String,
    #[serde(default)]
    pub charity: bool,
    pub unit: Option<UnitFile>,
    pub earn: Option<EarnFile>,
    #[serde(default)]
    pub keys: Vec<KeyFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarnFile {
    /// Points per 1.00 of purchase in the settlement currency, as a decimal string.
    pub rate: String,
    #[serde(default)]
    pub rules: Vec<RuleFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFile {
    pub id: KeyId,
    pub public_key: String,
    /// A revoked key stays listed (old entries name it) but signs nothing new.
    #[serde(default)]
    pub revoked: bool,
}

/// The dotted key at byte `offset` of a TOML text (`unit.scale`, `keys[1].id`), found from the
/// line's key and the table header above it. Only for error messages.
pub fn key_path_at(source: &str, offset: usize) -> Option<String> {
    let offset = offset.min(source.len());
    let line_start = source[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = source[offset..]
        .find('\n')
        .map_or(source.len(), |i| offset + i);
    let line = source[line_start..line_end].trim();
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"').to_owned());
    // The nearest header above, and for arrays of tables which element it is.
    let mut table: Option<String> = None;
    let mut index = 0usize;
    for l in source[..line_start].lines().rev() {
        let l = l.trim();
        if let Some(name) = l.strip_prefix("[[").and_then(|r| r.strip_suffix("]]")) {
            if table.is_none() {
                table = Some(name.trim().to_owned());
            } else if table.as_deref() == Some(name.trim()) {
                index += 1;
            }
            continue;
        }
        if let Some(name) = l.strip_prefix('[').and_then(|r| r.strip_suffix(']'))
            && table.is_none()
        {
            table = Some(name.trim().to_owned());
            break;
        }
    }
    let is_array = |name: &str| source.contains(&format!("[[{name}]]"));
    let prefix = table.map(|t| {
        if is_array(&t) {
            format!("{t}[{index}]")
        } else {
            t
        }
    });
    match (prefix, key) {
        (Some(p), Some(k)) => Some(format!("{p}.{k}")),
        (None, Some(k)) => Some(k),
        (Some(p), None) => Some(p),
        (None, None) => None,
    }
}

/// A TOML error as `key: message`, the key named even where the parser only gives a position.
pub fn describe_toml_error(source: &str, error: &toml::de::Error) -> (Option<String>, String) {
    let key = error
        .span()
        .and_then(|span| key_path_at(source, span.start));
    let line = error
        .span()
        .map(|span| source[..span.start.min(source.len())].matches('\n').count() + 1);
    let message = match line {
        Some(l) => format!("line {l}: {}", error.message()),
        None => error.message().to_owned(),
    };
    (key, message)
}

/// The file name shown in errors: relative paths stay as given.
pub fn shown(path: &Path) -> String {
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_paths() {
        let src = "id = \"a\"\n[unit]\ncode = \"X\"\nscale = 9\n[[keys]]\nid = \"k1\"\n[[keys]]\nid = \"k2\"\npublic_key = \"x\"\n";
        let at = |needle: &str| key_path_at(src, src.find(needle).unwrap());
        assert_eq!(at("\"a\"").as_deref(), Some("id"));
        assert_eq!(at("9").as_deref(), Some("unit.scale"));
        assert_eq!(at("\"k1\"").as_deref(), Some("keys[0].id"));
        assert_eq!(at("\"x\"").as_deref(), Some("keys[1].public_key"));
    }
}
