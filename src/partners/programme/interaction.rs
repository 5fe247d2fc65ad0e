//! What a touch point is: the kinds of interaction a partner reports (`POST /v1/interactions`)
//! and an `interaction` earn rule names.

use std::fmt;
use std::str::FromStr;

/// The longest name after `custom:`, in characters.
pub const MAX_CUSTOM_KIND_CHARS: usize = 40;

/// A kind of touch point: the fixed ones, or a partner's own as `custom:<name>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InteractionKind {
    Visit,
    AppOpen,
    Workshop,
    Review,
    Referral,
    Survey,
    /// `custom:<name>`: lowercase letters, digits, `-` and `_`, 1 to 40 characters.
    Custom(String),
}

impl InteractionKind {
    /// The fixed kinds, as written.
    pub const FIXED: [&'static str; 6] = [
        "visit", "app_open", "workshop", "review", "referral", "survey",
    ];
}

impl FromStr for InteractionKind {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        Ok(match text {
            "visit" => Self::Visit,
            "app_open" => Self::AppOpen,
            "workshop" => Self::Workshop,
            "review" => Self::Review,
            "referral" => Self::Referral,
            "survey" => Self::Survey,
            _ => {
                let name = text.strip_prefix("custom:").ok_or_else(|| {
                    format!(
                        "unknown interaction kind `{text}`: use one of {} or custom:<name>",
                        Self::FIXED.join(", ")
                    )
                })?;
                let ok = !name.is_empty()
                    && name.chars().count() <= MAX_CUSTOM_KIND_CHARS
                    && name.chars().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'
                    });
                if !ok {
                    return Err(format!(
                        "`{text}`: a custom kind is custom:<name>, the name 1 to \
                         {MAX_CUSTOM_KIND_CHARS} of a-z, 0-9, - and _"
                    ));
                }
                Self::Custom(name.to_owned())
            }
        })
    }
}

impl fmt::Display for InteractionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fixed = match self {
            Self::Visit => "visit",
            Self::AppOpen => "app_open",
            Self::Workshop => "workshop",
            Self::Review => "review",
            Self::Referral => "referral",
            Self::Survey => "survey",
            Self::Custom(name) => return write!(f, "custom:{name}"),
        };
        f.write_str(fixed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_back_as_written() {
        for text in InteractionKind::FIXED
            .iter()
            .copied()
            .chain(["custom:tasting-1"])
        {
            let kind: InteractionKind = text.parse().unwrap();
            assert_eq!(kind.to_string(), text);
        }
        for bad in ["", "Visit", "custom:", "custom:Big", "custom:a b", "like"] {
            assert!(bad.parse::<InteractionKind>().is_err(), "{bad}");
        }
        let long = format!("custom:{}", "a".repeat(MAX_CUSTOM_KIND_CHARS + 1));
        assert!(long.parse::<InteractionKind>().is_err());
    }
}
