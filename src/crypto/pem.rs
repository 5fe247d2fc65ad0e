//! PEM armour (RFC 7468) around DER: just enough for Ed25519 keys.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PemError {
    #[error("expected a PEM block `-----BEGIN {0}-----`")]
    MissingBlock(&'static str),
    #[error("the PEM body is not valid base64")]
    Base64,
}

/// The DER inside the first `label` block of `text`; text around the block is ignored.
pub fn decode(label: &'static str, text: &str) -> Result<Vec<u8>, PemError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin).ok_or(PemError::MissingBlock(label))? + begin.len();
    let stop = text[start..]
        .find(&end)
        .ok_or(PemError::MissingBlock(label))?
        + start;
    let body: String = text[start..stop]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    STANDARD.decode(body).map_err(|_| PemError::Base64)
}

/// `der` as a `label` PEM block, 64 characters a line.
pub fn encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let der: Vec<u8> = (0..=200).collect();
        let pem = encode("PUBLIC KEY", &der);
        assert!(pem.lines().all(|l| l.len() <= 64 || l.starts_with("-----")));
        assert_eq!(decode("PUBLIC KEY", &pem).unwrap(), der);
        assert_eq!(
            decode("PUBLIC KEY", &format!("junk\n{pem}junk")).unwrap(),
            der
        );
        assert_eq!(
            decode("PRIVATE KEY", &pem),
            Err(PemError::MissingBlock("PRIVATE KEY"))
        );
        assert_eq!(
            decode(
                "PUBLIC KEY",
                "-----BEGIN PUBLIC KEY-----\n!!\n-----END PUBLIC KEY-----"
            ),
            Err(PemError::Base64)
        );
    }
}
