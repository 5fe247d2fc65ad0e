//! Exact quantities: a unit's scale, and amounts that fit it with no rounding.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;

/// The largest scale a unit may have. With amounts kept as `i64` counts of the smallest step,
/// scale 8 still leaves room for 92 billion whole units.
pub const MAX_SCALE: u32 = 8;

/// The most digits before the decimal point an amount string may carry.
pub const MAX_INTEGER_DIGITS: usize = 18;

/// How many decimal places a unit counts in: 0 for most points, 2 for most currencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scale(u32);

impl Scale {
    /// Whole numbers only.
    pub const ZERO: Scale = Scale(0);

    pub fn new(places: u32) -> Result<Self, AmountError> {
        if places <= MAX_SCALE {
            Ok(Self(places))
        } else {
            Err(AmountError::ScaleTooLarge(places))
        }
    }

    pub fn places(self) -> u32 {
        self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("scale {0} is above the largest allowed ({MAX_SCALE})")]
    ScaleTooLarge(u32),
    #[error("`{0}` is not a plain decimal number (digits, an optional `-` and one optional `.`)")]
    Syntax(String),
    #[error("{value} has more decimal places than the unit's scale of {scale}")]
    TooPrecise { value: String, scale: u32 },
    #[error("{0} is outside the range the ledger can hold")]
    OutOfRange(String),
    #[error("amounts must be greater than zero, got {0}")]
    NotPositive(String),
}

/// A signed, exact quantity of some unit at that unit's scale.
///
/// An `Amount` that exists fits its scale and converts to a count of the smallest step
/// (`minor`) without loss: there is no way to build one that would need rounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Amount {
    minor: i64,
    scale: Scale,
}

impl Amount {
    pub fn zero(scale: Scale) -> Self {
        Self { minor: 0, scale }
    }

    /// From a count of the smallest step (cents for scale 2). Always exact.
    pub fn from_minor(minor: i64, scale: Scale) -> Self {
        Self { minor, scale }
    }

    /// From a decimal value; refused when it has more places than `scale` or does not fit.
    pub fn from_decimal(value: Decimal, scale: Scale) -> Result<Self, AmountError> {
        let normalized = value.normalize();
        if normalized.scale() > scale.places() {
            return Err(AmountError::TooPrecise {
                value: value.to_string(),
                scale: scale.places(),
            });
        }
        let factor = Decimal::from(10_i64.pow(scale.places()));
        let minor = normalized
            .checked_mul(factor)
            .filter(|m| m.fract().is_zero())
            .and_then(|m| i64::try_from(m).ok())
            .ok_or_else(|| AmountError::OutOfRange(value.to_string()))?;
        let amount = Self { minor, scale };
        debug_assert_eq!(amount.to_decimal(), value);
        Ok(amount)
    }

    /// Parses the wire form strictly: `12.50`, `-3`, never `1e3`, ` 1`, `+1` or more places than
    /// the scale (`12.500` is refused for a scale-2 unit: the sender meant something we cannot tell).
    pub fn parse(text: &str, scale: Scale) -> Result<Self, AmountError> {
        let syntax = || AmountError::Syntax(text.chars().take(40).collect());
        let digits = text.strip_prefix('-').unwrap_or(text);
        let (int_part, frac_part) = match digits.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (digits, None),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int_part) || frac_part.is_some_and(|f| !all_digits(f)) {
            return Err(syntax());
        }
        if int_part.len() > MAX_INTEGER_DIGITS {
            return Err(AmountError::OutOfRange(text.chars().take(40).collect()));
        }
        if frac_part.map_or(0, str::len) > scale.places() as usize {
            return Err(AmountError::TooPrecise {
                value: text.to_owned(),
                scale: scale.places(),
            });
        }
        let value = Decimal::from_str(text).map_err(|_| syntax())?;
        Self::from_decimal(value, scale)
    }

    /// Like [`Amount::parse`], and the amount must be above zero.
    pub fn parse_positive(text: &str, scale: Scale) -> Result<Self, AmountError> {
        let amount = Self::parse(text, scale)?;
        if amount.minor > 0 {
            Ok(amount)
        } else {
            Err(AmountError::NotPositive(text.chars().take(40).collect()))
        }
    }

    pub fn minor(self) -> i64 {
        self.minor
    }

    pub fn scale(self) -> Scale {
        self.scale
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.minor, self.scale.places())
    }

    pub fn is_zero(self) -> bool {
        self.minor == 0
    }

    pub fn is_positive(self) -> bool {
        self.minor > 0
    }

    /// The same quantity with the sign flipped; `None` only for `i64::MIN`, which no amount
    /// accepted from outside can reach.
    pub fn checked_neg(self) -> Option<Self> {
        self.minor.checked_neg().map(|minor| Self {
            minor,
            scale: self.scale,
        })
    }

    /// The sum of two amounts of the same scale; `None` on a scale mismatch or overflow.
    pub fn checked_add(self, other: Self) -> Option<Self> {
        if self.scale != other.scale {
            return None;
        }
        self.minor.checked_add(other.minor).map(|minor| Self {
            minor,
            scale: self.scale,
        })
    }
}

/// A sum of minor units written like an [`Amount`] with `places` decimal places, exactly, for
/// totals beyond an amount's range (sums of many amounts are kept in `i128`).
pub fn format_minor(minor: i128, places: u32) -> String {
    let digits = minor.unsigned_abs().to_string();
    let sign = if minor < 0 { "-" } else { "" };
    let places = places as usize;
    if places == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = places + 1);
    let (int, frac) = padded.split_at(padded.len() - places);
    format!("{sign}{int}.{frac}")
}

/// Always exactly `scale` places: `2.00`, `50`, `-0.40`.
impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.to_decimal();
        write!(f, "{d:.prec$}", prec = self.scale.places() as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_are_written_like_amounts_and_exactly() {
        for (minor, places) in [(0, 0), (5, 2), (-5, 2), (1234, 2), (-100, 0), (7, 8)] {
            let amount = Amount::from_minor(minor, s(places));
            assert_eq!(format_minor(i128::from(minor), places), amount.to_string());
        }
        // Beyond an i64: two of the largest amounts, summed.
        assert_eq!(
            format_minor(2 * i128::from(i64::MAX), 2),
            "184467440737095516.14"
        );
    }

    fn s(places: u32) -> Scale {
        Scale::new(places).unwrap()
    }

    #[test]
    fn parse_accepts_exact_values() {
        assert_eq!(Amount::parse("12.50", s(2)).unwrap().minor(), 1250);
        assert_eq!(Amount::parse("12.5", s(2)).unwrap().minor(), 1250);
        assert_eq!(Amount::parse("12", s(2)).unwrap().minor(), 1200);
        assert_eq!(Amount::parse("-0.01", s(2)).unwrap().minor(), -1);
        assert_eq!(Amount::parse("50", s(0)).unwrap().minor(), 50);
        assert_eq!(Amount::parse("0.00000001", s(8)).unwrap().minor(), 1);
    }

    #[test]
    fn parse_refuses_more_places_than_the_scale() {
        assert!(matches!(
            Amount::parse("12.505", s(2)),
            Err(AmountError::TooPrecise { .. })
        ));
        assert!(matches!(
            Amount::parse("12.500", s(2)),
            Err(AmountError::TooPrecise { .. })
        ));
        assert!(matches!(
            Amount::parse("50.0", s(0)),
            Err(AmountError::TooPrecise { .. })
        ));
        assert!(matches!(
            Amount::parse("0.5", s(0)),
            Err(AmountError::TooPrecise { .. })
        ));
    }

    #[test]
    fn parse_refuses_other_spellings() {
        for bad in [
            "", "-", ".", "1.", ".5", "+1", " 1", "1 ", "1e3", "1_000", "0x10", "NaN", "1.2.3",
            "١٢",
        ] {
            assert!(
                matches!(Amount::parse(bad, s(2)), Err(AmountError::Syntax(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn parse_refuses_out_of_range() {
        assert!(matches!(
            Amount::parse("9999999999999999999", s(0)),
            Err(AmountError::OutOfRange(_))
        ));
        // Fits in Decimal but not as cents in i64.
        assert!(matches!(
            Amount::parse("999999999999999999", s(2)),
            Err(AmountError::OutOfRange(_))
        ));
        assert!(Amount::parse("92233720368547758.07", s(2)).is_ok());
        assert!(Amount::parse("92233720368547758.08", s(2)).is_err());
    }

    #[test]
    fn positive_means_above_zero() {
        assert!(Amount::parse_positive("0", s(0)).is_err());
        assert!(Amount::parse_positive("0.00", s(2)).is_err());
        assert!(Amount::parse_positive("-1", s(0)).is_err());
        assert!(Amount::parse_positive("1", s(0)).is_ok());
    }

    #[test]
    fn decimal_round_trip_is_lossless() {
        let d = Decimal::from_str("1234.56").unwrap();
        let a = Amount::from_decimal(d, s(2)).unwrap();
        assert_eq!(a.minor(), 123_456);
        assert_eq!(a.to_decimal(), d);
        assert_eq!(Amount::from_minor(a.minor(), s(2)).to_decimal(), d);
        assert!(Amount::from_decimal(Decimal::from_str("0.001").unwrap(), s(2)).is_err());
        // Trailing zeros beyond the scale are still the same value: accepted from a Decimal.
        assert_eq!(
            Amount::from_decimal(Decimal::from_str("1.500").unwrap(), s(2))
                .unwrap()
                .minor(),
            150
        );
    }

    #[test]
    fn display_always_shows_the_scale() {
        assert_eq!(Amount::from_minor(200, s(2)).to_string(), "2.00");
        assert_eq!(Amount::from_minor(-40, s(2)).to_string(), "-0.40");
        assert_eq!(Amount::from_minor(50, s(0)).to_string(), "50");
        assert_eq!(Amount::from_minor(1, s(8)).to_string(), "0.00000001");
    }

    #[test]
    fn scale_limit() {
        assert!(Scale::new(MAX_SCALE).is_ok());
        assert!(Scale::new(MAX_SCALE + 1).is_err());
    }

    #[test]
    fn arithmetic_is_checked() {
        let max = Amount::from_minor(i64::MAX, s(0));
        assert!(max.checked_add(Amount::from_minor(1, s(0))).is_none());
        assert!(
            Amount::from_minor(1, s(0))
                .checked_add(Amount::from_minor(1, s(2)))
                .is_none()
        );
        assert!(Amount::from_minor(i64::MIN, s(0)).checked_neg().is_none());
    }
}
