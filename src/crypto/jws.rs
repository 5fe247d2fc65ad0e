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

/// [`sign_detached`] over a payload too large to hold: `write_payload` writes it, the same bytes
/// each time it is called (twice: pure Ed25519 hashes the message twice), and the signature is
/// the one `sign_detached` gives for those bytes.
pub fn sign_detached_streamed(
    key: &SigningKey,
    kid: &str,
    write_payload: impl Fn(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<String> {
    use ed25519_dalek::hazmat::{ExpandedSecretKey, raw_sign_byupdate};
    use ed25519_dalek::{Digest, Sha512, SignatureError};

    /// Bytes written go into the hash.
    struct Hashing<'a>(&'a mut Sha512);
    impl std::io::Write for Hashing<'_> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.update(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    let header = signing_input(kid, "JOSE", b"");
    let seed = key.seed();
    let secret = ExpandedSecretKey::from(&seed);
    let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
    if public.as_bytes() != key.public_key().as_bytes() {
        return Err(std::io::Error::other(
            "the key's seed does not give its public key",
        ));
    }
    let failed = std::cell::RefCell::new(None);
    let signature = raw_sign_byupdate::<Sha512, _>(
        &secret,
        |hash: &mut Sha512| {
            // `header.` then the payload in base64url, as the compact form's signing input.
            hash.update(header.as_bytes());
            let mut encoder = base64::write::EncoderWriter::new(Hashing(hash), &URL_SAFE_NO_PAD);
            let written = write_payload(&mut encoder).and_then(|()| encoder.finish().map(drop));
            written.map_err(|e| {
                *failed.borrow_mut() = Some(e);
                SignatureError::new()
            })
        },
        &public,
    );
    if let Some(e) = failed.into_inner() {
        return Err(e);
    }
    let signature = signature.map_err(std::io::Error::other)?;
    let header = header.split('.').next().unwrap_or_default();
    Ok(format!(
        "{header}..{}",
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    ))
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
        let streamed = sign_detached_streamed(&key, "k", |w| {
            w.write_all(b"state")?;
            w.write_all(b"ment")
        })
        .unwrap();
        assert_eq!(
            streamed, detached,
            "the streamed signature is ring's, byte for byte"
        );
        let large: Vec<u8> = (0..200_000u32).flat_map(u32::to_le_bytes).collect();
        let streamed = sign_detached_streamed(&key, "k", |w| {
            for chunk in large.chunks(4093) {
                w.write_all(chunk)?;
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(streamed, sign_detached(&key, "k", &large));
        let other = sign_detached_streamed(&key, "k", |w| w.write_all(b"statemenT")).unwrap();
        assert_ne!(other, detached);
        let parts: Vec<&str> = detached.split('.').collect();
        assert_eq!(parts[1], "");
        let input = format!("{}.{}", parts[0], URL_SAFE_NO_PAD.encode(b"statement"));
        assert!(
            key.public_key()
                .verify(input.as_bytes(), &URL_SAFE_NO_PAD.decode(parts[2]).unwrap())
        );
    }
}
