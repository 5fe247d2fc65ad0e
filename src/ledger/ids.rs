//! Identifiers the ledger counts by: units, partners, members, entries, key ids.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {what}: {rule}")]
pub struct IdError {
    pub what: &'static str,
    pub value: String,
    pub rule: &'static str,
}

impl IdError {
    fn new(what: &'static str, value: &str, rule: &'static str) -> Self {
        // Long garbage is cut so an error message never echoes a whole hostile body.
        let value: String = value.chars().take(64).collect();
        Self { what, value, rule }
    }
}

/// Implements the string plumbing shared by every string newtype.
macro_rules! string_id {
    ($name:ident) => {
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                value.parse()
            }
        }
        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
    };
}

/// A unit code: `^[A-Z][A-Z0-9_]{1,15}$` (`AROMA`, `ILS`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UnitCode(String);
string_id!(UnitCode);

impl FromStr for UnitCode {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        const RULE: &str = "an upper-case letter, then 1 to 15 of A-Z, 0-9, _";
        let bytes = s.as_bytes();
        let ok = (2..=16).contains(&bytes.len())
            && bytes[0].is_ascii_uppercase()
            && bytes[1..]
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(IdError::new("unit code", s, RULE))
        }
    }
}

/// A partner id: `^[a-z0-9][a-z0-9-]{1,31}$`. `network` is reserved for the operator.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PartnerId(String);
string_id!(PartnerId);

/// The name the network operator goes by wherever a partner id could stand.
pub const NETWORK: &str = "network";

impl FromStr for PartnerId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        const RULE: &str = "a lower-case letter or digit, then 1 to 31 of a-z, 0-9, -";
        let bytes = s.as_bytes();
        let ok = (2..=32).contains(&bytes.len())
            && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
            && bytes[1..]
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
        if !ok {
            return Err(IdError::new("partner id", s, RULE));
        }
        if s == NETWORK {
            return Err(IdError::new(
                "partner id",
                s,
                "`network` is reserved for the operator",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

/// Who stands behind an account: a partner, or the network operator itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Party {
    Network,
    Partner(PartnerId),
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Party::Network => f.write_str(NETWORK),
            Party::Partner(p) => p.fmt(f),
        }
    }
}

impl FromStr for Party {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        if s == NETWORK {
            Ok(Party::Network)
        } else {
            s.parse().map(Party::Partner)
        }
    }
}

impl Serialize for Party {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A registered key id (`aroma-2026`): 1 to 64 printable ASCII characters, no spaces or quotes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyId(String);
string_id!(KeyId);

impl FromStr for KeyId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        const RULE: &str =
            "1 to 64 printable ASCII characters without spaces, quotes or backslashes";
        let ok = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(IdError::new("key id", s, RULE))
        }
    }
}

/// Implements the UUID plumbing shared by every UUID newtype.
macro_rules! uuid_id {
    ($name:ident, $what:literal) => {
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.as_hyphenated().fmt(f)
            }
        }
        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                // Only the canonical hyphenated form: one member, one spelling.
                match Uuid::try_parse(s) {
                    Ok(u)
                        if s.len() == 36
                            && u.as_hyphenated().to_string() == s.to_ascii_lowercase() =>
                    {
                        Ok(Self(u))
                    }
                    _ => Err(IdError::new($what, s, "a hyphenated UUID")),
                }
            }
        }
        impl $name {
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }
    };
}

/// A member of the network (UUID).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MemberId(Uuid);
uuid_id!(MemberId, "member id");

impl MemberId {
    pub fn random() -> Self {
        Self(Uuid::new_v4())
    }
}

/// A journal entry (UUIDv7, so ids sort by time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EntryId(Uuid);
uuid_id!(EntryId, "entry id");

impl EntryId {
    pub fn new_v7() -> Self {
        Self(Uuid::now_v7())
    }
}

/// A coupon campaign (UUID).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CampaignId(Uuid);
uuid_id!(CampaignId, "campaign id");

impl CampaignId {
    pub fn new_v7() -> Self {
        Self(Uuid::now_v7())
    }
}

/// A touch point a partner reported (UUIDv7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InteractionId(Uuid);
uuid_id!(InteractionId, "interaction id");

impl InteractionId {
    pub fn new_v7() -> Self {
        Self(Uuid::now_v7())
    }
}

/// A segment of members (UUIDv7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SegmentId(Uuid);
uuid_id!(SegmentId, "segment id");

impl SegmentId {
    pub fn new_v7() -> Self {
        Self(Uuid::now_v7())
    }
}

/// A reward a partner offers (UUIDv7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RewardId(Uuid);
uuid_id!(RewardId, "reward id");

impl RewardId {
    pub fn new_v7() -> Self {
        Self(Uuid::now_v7())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_codes() {
        for ok in ["AROMA", "ILS", "A1", "COAL_2", "ABCDEFGHIJKLMNOP"] {
            assert!(ok.parse::<UnitCode>().is_ok(), "{ok}");
        }
        for bad in [
            "",
            "A",
            "aroma",
            "1ABC",
            "AB-C",
            "ABCDEFGHIJKLMNOPQ",
            "AB C",
            "ÄB",
        ] {
            assert!(bad.parse::<UnitCode>().is_err(), "{bad}");
        }
    }

    #[test]
    fn partner_ids() {
        for ok in ["aroma", "books-r-us", "7eleven", "ab"] {
            assert!(ok.parse::<PartnerId>().is_ok(), "{ok}");
        }
        for bad in ["", "a", "-ab", "Aroma", "ab_c", "network", &"a".repeat(33)] {
            assert!(bad.parse::<PartnerId>().is_err(), "{bad}");
        }
        assert_eq!("network".parse::<Party>(), Ok(Party::Network));
    }

    #[test]
    fn uuid_ids_are_canonical() {
        let id = MemberId::random();
        assert_eq!(id.to_string().parse::<MemberId>(), Ok(id));
        assert!(id.to_string().to_uppercase().parse::<MemberId>().is_ok());
        assert!(
            id.as_uuid()
                .simple()
                .to_string()
                .parse::<MemberId>()
                .is_err()
        );
        assert!("not-a-uuid".parse::<MemberId>().is_err());
    }

    #[test]
    fn error_echo_is_bounded() {
        let long = "x".repeat(10_000);
        let err = long.parse::<UnitCode>().unwrap_err();
        assert!(err.to_string().len() < 200);
    }
}
