//! Member card numbers: 16 digits, the network's prefix first and a Luhn check digit last, the
//! rest drawn from a cryptographic random source (never sequential).

use std::fmt;
use std::str::FromStr;

use ring::rand::{SecureRandom, SystemRandom};

/// Digits in a card number.
pub const CARD_DIGITS: usize = 16;
/// The shortest and longest network prefix.
pub const MIN_PREFIX_DIGITS: usize = 2;
pub const MAX_PREFIX_DIGITS: usize = 6;
/// The prefix when the network names none.
pub const DEFAULT_CARD_PREFIX: &str = "6001";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    #[error("a card number is {CARD_DIGITS} digits")]
    Length,
    #[error("the card number's check digit is wrong")]
    CheckDigit,
    #[error("a card prefix is {MIN_PREFIX_DIGITS} to {MAX_PREFIX_DIGITS} digits")]
    Prefix,
    #[error("the system's random source failed")]
    Random,
}

/// The network's card prefix: 2 to 6 digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardPrefix(String);

impl FromStr for CardPrefix {
    type Err = CardError;
    fn from_str(s: &str) -> Result<Self, CardError> {
        if (MIN_PREFIX_DIGITS..=MAX_PREFIX_DIGITS).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_digit())
        {
            Ok(Self(s.to_owned()))
        } else {
            Err(CardError::Prefix)
        }
    }
}

impl Default for CardPrefix {
    fn default() -> Self {
        Self(DEFAULT_CARD_PREFIX.to_owned())
    }
}

impl CardPrefix {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A card number that passes its Luhn check.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CardNumber(String);

/// The Luhn check digit for `body` (the number without its last digit).
fn check_digit(body: &[u8]) -> u8 {
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(d - b'0');
            if i % 2 == 0 {
                let twice = d * 2;
                if twice > 9 { twice - 9 } else { twice }
            } else {
                d
            }
        })
        .sum();
    // `sum % 10` is below 10, so the digit fits.
    b'0' + u8::try_from((10 - sum % 10) % 10).unwrap_or(0)
}

impl CardNumber {
    /// A fresh number under `prefix`: random digits, then the check digit.
    pub fn random(prefix: &CardPrefix) -> Result<Self, CardError> {
        let rng = SystemRandom::new();
        let mut digits: Vec<u8> = prefix.0.bytes().collect();
        while digits.len() < CARD_DIGITS - 1 {
            let mut bytes = [0u8; 16];
            rng.fill(&mut bytes).map_err(|_| CardError::Random)?;
            // Rejection sampling keeps each digit equally likely: 250 = 25 × 10.
            for b in bytes.into_iter().filter(|b| *b < 250) {
                if digits.len() < CARD_DIGITS - 1 {
                    digits.push(b'0' + b % 10);
                }
            }
        }
        digits.push(check_digit(&digits));
        Ok(Self(String::from_utf8_lossy(&digits).into_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `text` has the shape of a card number (16 digits), right or wrong: what a path
    /// segment holding a member's id or card is taken for.
    pub fn looks_like(text: &str) -> bool {
        text.len() == CARD_DIGITS && text.bytes().all(|b| b.is_ascii_digit())
    }
}

impl FromStr for CardNumber {
    type Err = CardError;
    /// 16 digits with a right check digit; spaces and hyphens between groups are allowed.
    fn from_str(s: &str) -> Result<Self, CardError> {
        let digits: Vec<u8> = s.bytes().filter(|b| *b != b' ' && *b != b'-').collect();
        if digits.len() != CARD_DIGITS || !digits.iter().all(u8::is_ascii_digit) {
            return Err(CardError::Length);
        }
        let (body, last) = digits.split_at(CARD_DIGITS - 1);
        if last.first() != Some(&check_digit(body)) {
            return Err(CardError::CheckDigit);
        }
        Ok(Self(String::from_utf8_lossy(&digits).into_owned()))
    }
}

impl fmt::Display for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_check_digits_are_right() {
        // Test numbers published by card networks.
        for good in [
            "4111111111111111",
            "5555555555554444",
            "4012-8888-8888-1881",
        ] {
            assert!(good.parse::<CardNumber>().is_ok(), "{good}");
        }
        assert_eq!(
            "4111111111111112".parse::<CardNumber>(),
            Err(CardError::CheckDigit)
        );
        assert_eq!(
            "411111111111111".parse::<CardNumber>(),
            Err(CardError::Length)
        );
        assert_eq!(
            "41111111111111x1".parse::<CardNumber>(),
            Err(CardError::Length)
        );
    }

    #[test]
    fn random_numbers_carry_the_prefix_and_check() {
        let prefix: CardPrefix = "6001".parse().unwrap();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let n = CardNumber::random(&prefix).unwrap();
            assert!(n.as_str().starts_with("6001") && n.as_str().len() == 16);
            assert_eq!(n.as_str().parse::<CardNumber>().as_ref(), Ok(&n));
            assert!(
                seen.insert(n),
                "no repeats in 200 draws of 11 random digits"
            );
        }
        assert!("6".parse::<CardPrefix>().is_err());
        assert!("6001234".parse::<CardPrefix>().is_err());
        assert!("60a1".parse::<CardPrefix>().is_err());
    }
}
