//! The codes people read and type: coupon codes and members' authorisation codes, random over
//! an alphabet without look-alike characters.

use ring::rand::{SecureRandom, SystemRandom};

use super::{ClearingError, Invalid};

/// Characters a code is made of: no 0/O, 1/I/L or U to misread.
pub const CODE_ALPHABET: &[u8; 30] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters in a code: 17 × log2(30) ≈ 83 bits of randomness.
pub const CODE_CHARS: usize = 17;
/// Characters in an authorisation code: 12 × log2(30) ≈ 59 bits, for a code that lives minutes.
pub const AUTH_CODE_CHARS: usize = 12;

/// `XXXX-XXXX-XXXX-XXXXX` for a stored code.
pub fn display_code(code: &str) -> String {
    let mut out = String::with_capacity(code.len() + 3);
    for (i, c) in code.chars().enumerate() {
        if i > 0 && i % 4 == 0 && i < 16 {
            out.push('-');
        }
        out.push(c);
    }
    out
}

/// The stored form of a code as typed: case, hyphens and spaces do not matter.
pub fn normalize_code(input: &str) -> Option<String> {
    let code: String = input
        .chars()
        .filter(|c| *c != '-' && *c != ' ')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == CODE_CHARS && code.bytes().all(|b| CODE_ALPHABET.contains(&b))).then_some(code)
}

/// A fresh coupon code.
pub(crate) fn new_code() -> Result<String, ClearingError> {
    random_code(CODE_CHARS)
}

/// `chars` characters from [`CODE_ALPHABET`], each uniformly random.
pub fn random_code(chars: usize) -> Result<String, ClearingError> {
    let rng = SystemRandom::new();
    let mut code = String::with_capacity(chars);
    // Rejection sampling keeps every character equally likely: 240 = 8 × 30.
    while code.len() < chars {
        let mut bytes = [0u8; 32];
        rng.fill(&mut bytes)
            .map_err(|_| ClearingError::InvalidRequest(Invalid::Randomness))?;
        for b in bytes.into_iter().filter(|b| *b < 240) {
            if code.len() < chars {
                code.push(CODE_ALPHABET[usize::from(b % 30)] as char);
            }
        }
    }
    Ok(code)
}

/// The stored form of an authorisation code as typed.
pub fn normalize_auth_code(input: &str) -> Option<String> {
    let code: String = input
        .chars()
        .filter(|c| *c != '-' && *c != ' ')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == AUTH_CODE_CHARS && code.bytes().all(|b| CODE_ALPHABET.contains(&b)))
        .then_some(code)
}

/// `XXXX-XXXX-XXXX` for a stored authorisation code.
pub fn display_auth_code(code: &str) -> String {
    code.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_typed_forgivingly() {
        assert_eq!(
            normalize_auth_code("abcd-efgh-jkmn").as_deref(),
            Some("ABCDEFGHJKMN")
        );
        assert_eq!(display_auth_code("ABCDEFGHJKMN"), "ABCD-EFGH-JKMN");
        assert!(normalize_auth_code("ABCD-EFGH-JKM0").is_none());
        assert!(normalize_auth_code("ABCD").is_none());
    }

    #[test]
    fn coupon_codes_read_in_groups_of_four() {
        let code = new_code().unwrap();
        assert_eq!(code.len(), CODE_CHARS);
        let shown = display_code(&code);
        assert_eq!(shown.len(), CODE_CHARS + 3);
        assert_eq!(
            normalize_code(&shown.to_lowercase()).as_deref(),
            Some(code.as_str())
        );
    }
}
