//! Compact JWS (RFC 7515) signed with EdDSA (RFC 8037) by an Ed25519 key, attached or detached.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use super::SigningKey;

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    kid: &'a str,
    typ: &'a str,
}

fn signing_input(kid: &str, typ: &str, payload: &[u8]) -> String {
    // A struct of three strings always serialises.
    let header = serde_json::to_vec(&Header {
        alg: "EdDSA",
        kid,
        typ,
    })
    .unwrap_or_default();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    )
}

/// `header.payload.signature`, the payload being `claims` as JSON.
pub fn sign_compact(key: &SigningKey, kid: &str, claims: &impl Serialize) -> String {
    let payload = serde_json::to_vec(claims).unwrap_or_default();
    let input = signing_input(kid, "JWT", &payload);
    let signature = key.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// RFC 7515 Appendix F: a JWS over `payload` with the payload part left empty (`header..sig`);
/// the verifier puts the bytes it received back in.
pub fn sign_detached(key: &SigningKey, kid: &str, payload: &[u8]) -> String {
    let input = signing_input(kid, "JOSE", payload);
    let signature = key.sign(input.as_bytes());
    let header = input.split('.').next().unwrap_or_default();
    format!("{header}..{}", URL_SAFE_NO_PAD.encode(signature))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_and_detached_verify() {
        let key = SigningKey::generate().unwrap();
        let jws = sign_compact(&key, "k", &serde_json::json!({"a": 1}));
        let parts: Vec<&str> = jws.split('.').collect();
        assert_eq!(parts.len(), 3);
        let sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        assert!(
            key.public_key()
                .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
        );

        let detached = sign_detached(&key, "k", b"statement");
        let parts: Vec<&str> = detached.split('.').collect();
        assert_eq!(parts[1], "");
        let input = format!("{}.{}", parts[0], URL_SAFE_NO_PAD.encode(b"statement"));
        assert!(
            key.public_key()
                .verify(input.as_bytes(), &URL_SAFE_NO_PAD.decode(parts[2]).unwrap())
        );
    }
}
