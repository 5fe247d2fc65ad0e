//! The partner network as configured: `network.toml` and one manifest per partner, loaded and
//! checked into a [`Network`]. Every error names the file and the key.

pub mod manifest;
pub mod programme;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rust_decimal::Decimal;

use crate::crypto::PublicKey;
use crate::ledger::{
    CardError, CardPrefix, KeyId, PartnerId, Party, Scale, Unit, UnitCode, UnitKind, Units,
};
use manifest::{NetworkFile, PartnerFile, UnitFile, describe_toml_error, shown};
use programme::{ExpiryPolicy, Rule, Tiers};

/// The file in the partners folder that holds the network's own settings.
pub const NETWORK_FILE: &str = "network.toml";
/// The most partners one network may list.
pub const MAX_PARTNERS: usize = 1000;
/// The most keys one partner may register.
pub const MAX_KEYS_PER_PARTNER: usize = 16;
/// The largest manifest file read, in bytes.
pub const MAX_MANIFEST_BYTES: u64 = 256 * 1024;
/// The most decimal places a clearing value or earn rate may carry.
pub const MAX_RATE_PLACES: u32 = 12;
/// The largest network fee: all of it.
pub const MAX_FEE_BPS: u32 = 10_000;
/// The longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {}{message}", key.as_ref().map(|k| format!("`{k}`: ")).unwrap_or_default())]
pub struct ManifestError {
    pub file: String,
    pub key: Option<String>,
    pub message: String,
}

impl ManifestError {
    fn at(file: &Path, key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: shown(file),
            key: Some(key.into()),
            message: message.into(),
        }
    }
    fn file(file: &Path, message: impl Into<String>) -> Self {
        Self {
            file: shown(file),
            key: None,
            message: message.into(),
        }
    }
}

/// One of a partner's registered signing keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerKey {
    pub id: KeyId,
    pub public_key: PublicKey,
    pub revoked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partner {
    pub id: PartnerId,
    pub name: String,
    pub charity: bool,
    /// The partner's own point currency, if it issues one.
    pub unit: Option<UnitCode>,
    /// Points per 1.00 of purchase in the settlement currency.
    pub earn_rate: Option<Decimal>,
    /// Its `[[earn.rules]]`, in manifest order (empty without an earn rate).
    pub earn_rules: Vec<Rule>,
    pub keys: Vec<PartnerKey>,
}

/// The whole configured network.
#[derive(Debug, Clone)]
pub struct Network {
    pub name: String,
    pub settlement_currency: UnitCode,
    pub currency_scale: Scale,
    pub fee_bps: u32,
    /// What every member card number begins with.
    pub card_prefix: CardPrefix,
    pub units: Units,
    pub partners: BTreeMap<PartnerId, Partner>,
    /// Which partner owns each key id (key ids are unique across the network).
    pub key_owners: BTreeMap<KeyId, PartnerId>,
    /// The IANA name of the network's time zone, and the zone: earn rules' days and hours.
    pub time_zone_name: String,
    pub time_zone: jiff::tz::TimeZone,
    /// The tier ladder, when the network has one.
    pub tiers: Option<Tiers>,
    /// The expiry policy of every unit whose points expire.
    pub expiry: BTreeMap<UnitCode, ExpiryPolicy>,
}

fn read_limited(path: &Path) -> Result<String, ManifestError> {
    let meta = fs::metadata(path).map_err(|e| ManifestError::file(path, e.to_string()))?;
    if meta.len() > MAX_MANIFEST_BYTES {
        return Err(ManifestError::file(
            path,
            format!("larger than {MAX_MANIFEST_BYTES} bytes"),
        ));
    }
    fs::read_to_string(path).map_err(|e| ManifestError::file(path, e.to_string()))
}

/// Parses a manifest; an error names its key by the path serde was at when it failed
/// (`serde_path_to_error`), or for a syntax error the key at its position.
fn parse_toml<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, ManifestError> {
    let failed = |key: Option<String>, e: &toml::de::Error| {
        let (key_at_span, message) = describe_toml_error(text, e);
        ManifestError {
            file: shown(path),
            key: key.or(key_at_span),
            message,
        }
    };
    let document = toml::Deserializer::parse(text).map_err(|e| failed(None, &e))?;
    serde_path_to_error::deserialize(document).map_err(|e| {
        let key = key_of(e.path(), e.inner());
        let (_, message) = describe_toml_error(text, e.inner());
        ManifestError {
            file: shown(path),
            key,
            message,
        }
    })
}

/// The key a deserialisation error names: where serde was — for an unknown field that is the
/// field itself, for a missing one the table it is missing from, so the field is added.
fn key_of(at: &serde_path_to_error::Path, e: &toml::de::Error) -> Option<String> {
    let at = Some(at.to_string()).filter(|p| p != ".");
    let named = |prefix: &str| {
        e.message()
            .strip_prefix(prefix)
            .and_then(|rest| rest.split_once('`'))
            .map(|(field, _)| field.to_owned())
    };
    match (at, named("unknown field `"), named("missing field `")) {
        (Some(p), _, Some(missing)) => Some(format!("{p}.{missing}")),
        (None, unknown, missing) => unknown.or(missing),
        (p, _, None) => p,
    }
}

/// A parse error inside `[[earn.rules]]` (an unknown key, a value of the wrong type) names the
/// rule by its id as well as by its place, when the rule has one.
fn name_rule(text: &str, mut e: ManifestError) -> ManifestError {
    let index = e
        .key
        .as_deref()
        .and_then(|k| k.strip_prefix("earn.rules["))
        .and_then(|rest| rest.split_once(']'))
        .and_then(|(i, _)| i.parse::<usize>().ok());
    let id = index.and_then(|i| {
        let table: toml::Table = toml::from_str(text).ok()?;
        let rule = table.get("earn")?.get("rules")?.get(i)?;
        rule.get("id")?.as_str().map(str::to_owned)
    });
    if let Some(id) = id {
        e.message = format!("rule `{id}`: {}", e.message);
    }
    e
}

/// A decimal as the manifests write them: digits and one point, no sign or exponent; refused as
/// not being `wanted` (how the key's value should look).
fn plain_decimal(
    path: &Path,
    key: &str,
    text: &str,
    wanted: &str,
) -> Result<Decimal, ManifestError> {
    Decimal::from_str(text)
        .ok()
        .filter(|_| text.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
        .ok_or_else(|| ManifestError::at(path, key, format!("`{text}` is not {wanted}")))
}

/// A positive decimal with at most [`MAX_RATE_PLACES`] places.
fn parse_rate(
    path: &Path,
    key: &str,
    text: &str,
    allow_zero: bool,
) -> Result<Decimal, ManifestError> {
    let value = plain_decimal(path, key, text, "a plain decimal number like \"0.04\"")?;
    if value.normalize().scale() > MAX_RATE_PLACES {
        return Err(ManifestError::at(
            path,
            key,
            format!("more than {MAX_RATE_PLACES} decimal places"),
        ));
    }
    if value.is_zero() && !allow_zero {
        return Err(ManifestError::at(path, key, "must be greater than zero"));
    }
    Ok(value)
}

fn check_name(path: &Path, key: &str, name: &str) -> Result<(), ManifestError> {
    let n = name.chars().count();
    if n == 0 || n > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(ManifestError::at(
            path,
            key,
            format!("must be 1 to {MAX_NAME_CHARS} printable characters"),
        ));
    }
    Ok(())
}

/// A unit's expiry policy, if its points expire.
fn unit_expiry(
    path: &Path,
    key: &str,
    file: &UnitFile,
) -> Result<Option<ExpiryPolicy>, ManifestError> {
    match &file.expiry {
        Some(e) => programme::expiry(path, &format!("{key}.expiry"), e),
        None => Ok(None),
    }
}

fn point_unit(
    path: &Path,
    key: &str,
    file: &UnitFile,
    issuer: Party,
) -> Result<Unit, ManifestError> {
    let scale = Scale::new(file.scale)
        .map_err(|e| ManifestError::at(path, format!("{key}.scale"), e.to_string()))?;
    let value = parse_rate(path, &format!("{key}.value"), &file.value, false)?;
    Ok(Unit {
        code: file.code.clone(),
        scale,
        kind: UnitKind::Points { issuer, value },
    })
}

impl Network {
    /// Loads `dir/network.toml` and every other `dir/*.toml` as a partner manifest.
    pub fn load(dir: &Path) -> Result<Self, ManifestError> {
        let network_path = dir.join(NETWORK_FILE);
        let (mut net, currency_scale) = load_network_file(&network_path)?;
        let (time_zone_name, time_zone) =
            programme::time_zone(&network_path, net.time_zone.as_deref())?;
        let tiers = net
            .tiers
            .take()
            .map(|t| programme::tiers(&network_path, t, currency_scale))
            .transpose()?;
        let card_prefix = match &net.card_prefix {
            Some(p) => p.parse().map_err(|e: CardError| {
                ManifestError::at(&network_path, "card_prefix", e.to_string())
            })?,
            None => CardPrefix::default(),
        };
        let mut units = UnitRegistry::default();
        units.add(
            &network_path,
            "settlement_currency".into(),
            Unit {
                code: net.settlement_currency.clone(),
                scale: currency_scale,
                kind: UnitKind::Currency,
            },
        )?;
        let mut expiry = BTreeMap::new();
        for (i, u) in net.units.iter().enumerate() {
            let unit = point_unit(&network_path, &format!("units[{i}]"), u, Party::Network)?;
            units.add(&network_path, format!("units[{i}].code"), unit)?;
            if let Some(policy) = unit_expiry(&network_path, &format!("units[{i}]"), u)? {
                expiry.insert(u.code.clone(), policy);
            }
        }
        let mut partners = BTreeMap::new();
        let mut key_owners: BTreeMap<KeyId, PartnerId> = BTreeMap::new();
        for path in &partner_files(dir)? {
            let (partner, policy) = load_partner(
                path,
                &mut units,
                &mut key_owners,
                (tiers.as_ref(), currency_scale),
            )?;
            if let Some((code, policy)) = policy {
                expiry.insert(code, policy);
            }
            partners.insert(partner.id.clone(), partner);
        }
        Ok(Network {
            name: net.name,
            settlement_currency: net.settlement_currency,
            currency_scale,
            fee_bps: net.fee_bps,
            card_prefix,
            units: Units::new(units.defined.into_values().map(|(_, u)| u)),
            partners,
            key_owners,
            time_zone_name,
            time_zone,
            tiers,
            expiry,
        })
    }

    pub fn partner(&self, id: &PartnerId) -> Option<&Partner> {
        self.partners.get(id)
    }
}

/// `network.toml`, checked: its name, fee and settlement scale.
fn load_network_file(path: &Path) -> Result<(NetworkFile, Scale), ManifestError> {
    if !path.is_file() {
        return Err(ManifestError::file(
            path,
            "missing: the partners folder needs a network.toml",
        ));
    }
    let text = read_limited(path)?;
    let net: NetworkFile = parse_toml(path, &text)?;
    check_name(path, "name", &net.name)?;
    if net.fee_bps > MAX_FEE_BPS {
        return Err(ManifestError::at(
            path,
            "fee_bps",
            format!("{} is above {MAX_FEE_BPS} (100%)", net.fee_bps),
        ));
    }
    let scale = Scale::new(net.settlement_scale)
        .map_err(|e| ManifestError::at(path, "settlement_scale", e.to_string()))?;
    Ok((net, scale))
}

/// Every unit the manifests define, and where each was defined, to name both files on a clash.
#[derive(Default)]
struct UnitRegistry {
    defined: BTreeMap<UnitCode, (PathBuf, Unit)>,
}

impl UnitRegistry {
    fn add(&mut self, path: &Path, key: String, unit: Unit) -> Result<(), ManifestError> {
        if let Some((other, _)) = self.defined.get(&unit.code) {
            return Err(ManifestError::at(
                path,
                key,
                format!("unit {} is already defined in {}", unit.code, shown(other)),
            ));
        }
        self.defined
            .insert(unit.code.clone(), (path.to_owned(), unit));
        Ok(())
    }
}

/// The partner manifests in `dir`: every `.toml` but `network.toml`, in name order, at most
/// [`MAX_PARTNERS`].
fn partner_files(dir: &Path) -> Result<Vec<PathBuf>, ManifestError> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| ManifestError::file(dir, e.to_string()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "toml")
                && p.file_name().is_some_and(|n| n != NETWORK_FILE)
        })
        .collect();
    files.sort();
    if files.len() > MAX_PARTNERS {
        return Err(ManifestError::file(
            dir,
            format!("more than {MAX_PARTNERS} partner manifests"),
        ));
    }
    Ok(files)
}

/// One partner's manifest: its id matches the file name, its unit is new to the network, an
/// earn rate comes with its own unit, its key ids are new to the network.
fn load_partner(
    path: &Path,
    units: &mut UnitRegistry,
    key_owners: &mut BTreeMap<KeyId, PartnerId>,
    (tiers, currency): (Option<&Tiers>, Scale),
) -> Result<(Partner, Option<(UnitCode, ExpiryPolicy)>), ManifestError> {
    let text = read_limited(path)?;
    let mut file: PartnerFile = parse_toml(path, &text).map_err(|e| name_rule(&text, e))?;
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    if file.id.as_str() != stem {
        return Err(ManifestError::at(
            path,
            "id",
            format!("`{}` must match the file name ({stem}.toml)", file.id),
        ));
    }
    check_name(path, "name", &file.name)?;
    let (unit, policy) = match &file.unit {
        Some(u) => {
            let unit = point_unit(path, "unit", u, Party::Partner(file.id.clone()))?;
            units.add(path, "unit.code".into(), unit)?;
            let policy = unit_expiry(path, "unit", u)?.map(|p| (u.code.clone(), p));
            (Some(u.code.clone()), policy)
        }
        None => (None, None),
    };
    let earn_rate = file
        .earn
        .as_ref()
        .map(|e| parse_rate(path, "earn.rate", &e.rate, true))
        .transpose()?;
    if earn_rate.is_some() && unit.is_none() {
        return Err(ManifestError::at(
            path,
            "earn",
            "an earn rate needs the partner's own [unit]",
        ));
    }
    let earn_rules = match file.earn.as_mut() {
        Some(earn) => programme::rules(path, std::mem::take(&mut earn.rules), tiers, currency)?,
        None => Vec::new(),
    };
    let keys = partner_keys(path, &file, key_owners)?;
    let partner = Partner {
        id: file.id,
        name: file.name,
        charity: file.charity,
        unit,
        earn_rate,
        earn_rules,
        keys,
    };
    Ok((partner, policy))
}

/// A partner's public keys, at most [`MAX_KEYS_PER_PARTNER`], each id registered to it alone.
fn partner_keys(
    path: &Path,
    file: &PartnerFile,
    key_owners: &mut BTreeMap<KeyId, PartnerId>,
) -> Result<Vec<PartnerKey>, ManifestError> {
    if file.keys.len() > MAX_KEYS_PER_PARTNER {
        return Err(ManifestError::at(
            path,
            "keys",
            format!("more than {MAX_KEYS_PER_PARTNER} keys"),
        ));
    }
    let mut keys = Vec::with_capacity(file.keys.len());
    for (i, k) in file.keys.iter().enumerate() {
        let public_key = PublicKey::from_pem(&k.public_key)
            .map_err(|e| ManifestError::at(path, format!("keys[{i}].public_key"), e.to_string()))?;
        if let Some(owner) = key_owners.insert(k.id.clone(), file.id.clone()) {
            return Err(ManifestError::at(
                path,
                format!("keys[{i}].id"),
                format!("key id {} is already registered to {owner}", k.id),
            ));
        }
        keys.push(PartnerKey {
            id: k.id.clone(),
            public_key,
            revoked: k.revoked,
        });
    }
    Ok(keys)
}

/// A partner's freshly generated signing key.
pub struct GeneratedKey {
    pub partner: PartnerId,
    pub key_id: KeyId,
    pub key: crate::crypto::SigningKey,
}

/// Copies the manifests in `source` to `dest`, giving every partner one freshly generated key
/// (`{id}-{suffix}`) in place of the keys it lists. For `coalition demo`, the benchmark and the
/// tests: the repository holds public keys only.
pub fn copy_with_generated_keys(
    source: &Path,
    dest: &Path,
    suffix: &str,
) -> Result<Vec<GeneratedKey>, ManifestError> {
    let io = |path: &Path, e: std::io::Error| ManifestError::file(path, e.to_string());
    fs::create_dir_all(dest).map_err(|e| io(dest, e))?;
    let network = source.join(NETWORK_FILE);
    fs::copy(&network, dest.join(NETWORK_FILE)).map_err(|e| io(&network, e))?;
    let mut keys = Vec::new();
    for path in partner_files(source)? {
        let text = read_limited(&path)?;
        let mut table: toml::Table = parse_toml(&path, &text)?;
        let id: PartnerId = table
            .get("id")
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| ManifestError::at(&path, "id", "missing or invalid"))?;
        let key_id: KeyId = format!("{id}-{suffix}")
            .parse()
            .map_err(|e: crate::ledger::IdError| ManifestError::at(&path, "id", e.to_string()))?;
        let key = crate::crypto::SigningKey::generate()
            .map_err(|e| ManifestError::file(&path, e.to_string()))?;
        let mut entry = toml::Table::new();
        entry.insert("id".into(), key_id.to_string().into());
        entry.insert("public_key".into(), key.public_key().to_pem().into());
        table.insert(
            "keys".into(),
            toml::Value::Array(vec![toml::Value::Table(entry)]),
        );
        let target = dest.join(path.file_name().unwrap_or_default());
        let text =
            toml::to_string(&table).map_err(|e| ManifestError::file(&target, e.to_string()))?;
        fs::write(&target, text).map_err(|e| io(&target, e))?;
        keys.push(GeneratedKey {
            partner: id,
            key_id,
            key,
        });
    }
    Ok(keys)
}
