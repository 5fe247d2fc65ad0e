//! `jsonwebtoken`'s crypto provider for EdDSA, on `ring` like the rest of the service.
//!
//! From version 10 `jsonwebtoken` leaves its cryptography to a provider chosen per process; the
//! ones it ships pull in `aws-lc-rs` or the RustCrypto stack. The network signs tokens with one
//! Ed25519 key, so this provider answers EdDSA only and refuses every other algorithm.

use jsonwebtoken::crypto::{CryptoProvider, JwkUtils, JwtSigner, JwtVerifier};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::signature::{Error, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey};

use super::ed25519::{PublicKey, SigningKey};

/// The provider; [`install`] makes it the process's.
static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: signer,
    verifier_factory: verifier,
    jwk_utils: JwkUtils::new_unimplemented(),
};

/// Makes [`PROVIDER`] the process's provider; later calls do nothing. Must run before the first
/// token is signed or checked (`TokenKeys::new` calls it), or `jsonwebtoken` panics.
pub fn install() {
    // Err only means a provider is in place already: this one, from an earlier call, since
    // nothing else in the process installs one.
    let _ = PROVIDER.install_default();
}

struct EdSigner(SigningKey);

impl Signer<Vec<u8>> for EdSigner {
    fn try_sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, Error> {
        Ok(self.0.sign(message).to_vec())
    }
}

impl JwtSigner for EdSigner {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

struct EdVerifier(PublicKey);

impl Verifier<Vec<u8>> for EdVerifier {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> std::result::Result<(), Error> {
        if self.0.verify(message, signature) {
            Ok(())
        } else {
            Err(Error::new())
        }
    }
}

impl JwtVerifier for EdVerifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

fn signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    if *algorithm != Algorithm::EdDSA || key.family() != AlgorithmFamily::Ed {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    let key = SigningKey::from_pkcs8_der(key.inner()).map_err(|_| ErrorKind::InvalidEddsaKey)?;
    Ok(Box::new(EdSigner(key)))
}

fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    if *algorithm != Algorithm::EdDSA || key.family() != AlgorithmFamily::Ed {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    let bytes: [u8; 32] = key
        .as_bytes()
        .try_into()
        .map_err(|_| ErrorKind::InvalidEddsaKey)?;
    Ok(Box::new(EdVerifier(PublicKey::from_bytes(bytes))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_eddsa_and_refuses_other_algorithms() {
        install();
        let key = SigningKey::generate().unwrap();
        let encoding = EncodingKey::from_ed_der(key.pkcs8_der());
        let decoding = DecodingKey::from_ed_der(key.public_key().as_bytes());
        let signature =
            jsonwebtoken::crypto::sign(b"payload", &encoding, Algorithm::EdDSA).unwrap();
        assert!(
            jsonwebtoken::crypto::verify(&signature, b"payload", &decoding, Algorithm::EdDSA)
                .unwrap()
        );
        assert!(
            !jsonwebtoken::crypto::verify(&signature, b"payloaD", &decoding, Algorithm::EdDSA)
                .unwrap()
        );
        let other = SigningKey::generate().unwrap();
        let other_decoding = DecodingKey::from_ed_der(other.public_key().as_bytes());
        assert!(
            !jsonwebtoken::crypto::verify(
                &signature,
                b"payload",
                &other_decoding,
                Algorithm::EdDSA
            )
            .unwrap()
        );
        assert!(jsonwebtoken::crypto::sign(b"payload", &encoding, Algorithm::HS256).is_err());
        let secret = DecodingKey::from_secret(b"secret");
        assert!(
            jsonwebtoken::crypto::verify(&signature, b"payload", &secret, Algorithm::HS256)
                .is_err()
        );
    }
}
