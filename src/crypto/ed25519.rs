//! Ed25519 keys with `ring`: partners' public keys (SPKI PEM), the network's signing key
//! (PKCS#8 PEM, file mode 0600), and their JWK form.

use std::fs;
use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::Serialize;

use super::pem;

/// DER of an Ed25519 PKCS#8 v1 private key up to the 32-byte seed (RFC 8410 section 7), the
/// form OpenSSL and every other library reads.
const PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// ring writes PKCS#8 v2 with the public key in a form other libraries refuse; the seed sits at
/// the same place as in v1, so keep only that.
fn normalize_pkcs8(der: &[u8]) -> Vec<u8> {
    let ring_v2 = der.len() > 48
        && der.get(2..5) == Some(&[0x02, 0x01, 0x01][..])
        && der.get(5..16) == Some(&PKCS8_V1_PREFIX[5..]);
    match (ring_v2, der.get(16..48)) {
        (true, Some(seed)) => [&PKCS8_V1_PREFIX[..], seed].concat(),
        _ => der.to_vec(),
    }
}

/// DER of an Ed25519 SubjectPublicKeyInfo up to the 32 key bytes (RFC 8410).
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Pem(#[from] pem::PemError),
    #[error("not an Ed25519 public key (expected an SPKI `PUBLIC KEY` of 44 bytes)")]
    NotEd25519Public,
    #[error("not an Ed25519 private key in PKCS#8")]
    NotEd25519Private,
    #[error("cannot generate a key: the system's random source failed")]
    Random,
    #[error("{path}: {message}")]
    Io { path: String, message: String },
}

/// A partner's (or anyone's) Ed25519 public key.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey([u8; 32]);

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl PublicKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let key = der
            .strip_prefix(&SPKI_PREFIX[..])
            .ok_or(KeyError::NotEd25519Public)?;
        let bytes: [u8; 32] = key.try_into().map_err(|_| KeyError::NotEd25519Public)?;
        Ok(Self(bytes))
    }

    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        Self::from_spki_der(&pem::decode("PUBLIC KEY", text)?)
    }

    pub fn to_pem(&self) -> String {
        let mut der = SPKI_PREFIX.to_vec();
        der.extend_from_slice(&self.0);
        pem::encode("PUBLIC KEY", &der)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Whether `signature` is this key's Ed25519 signature over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, &self.0)
            .verify(message, signature)
            .is_ok()
    }

    /// The key as a JWK (RFC 8037), with its RFC 7638 thumbprint as `kid`.
    pub fn jwk(&self) -> Jwk {
        let x = URL_SAFE_NO_PAD.encode(self.0);
        // RFC 7638: the required members in lexicographic order, no white space.
        let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
        let thumb = ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes());
        Jwk {
            kty: "OKP",
            crv: "Ed25519",
            x,
            kid: URL_SAFE_NO_PAD.encode(thumb.as_ref()),
            alg: "EdDSA",
            key_use: "sig",
        }
    }
}

/// An Ed25519 public key in JWK form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Jwk {
    pub kty: &'static str,
    pub crv: &'static str,
    pub x: String,
    pub kid: String,
    pub alg: &'static str,
    #[serde(rename = "use")]
    pub key_use: &'static str,
}

/// An Ed25519 private key, kept with its PKCS#8 bytes so it can be saved and handed to JWT code.
pub struct SigningKey {
    pair: Ed25519KeyPair,
    pkcs8: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({:?})", self.public_key())
    }
}

impl SigningKey {
    pub fn generate() -> Result<Self, KeyError> {
        let doc =
            Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| KeyError::Random)?;
        Self::from_pkcs8_der(doc.as_ref())
    }

    /// PKCS#8 v1 (OpenSSL's) or v2 (ring's) DER.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map_err(|_| KeyError::NotEd25519Private)?;
        // Kept, and written, as PKCS#8 v1; the kept form must be the very same key.
        let pkcs8 = normalize_pkcs8(der);
        let again = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pkcs8)
            .map_err(|_| KeyError::NotEd25519Private)?;
        if again.public_key().as_ref() != pair.public_key().as_ref() {
            return Err(KeyError::NotEd25519Private);
        }
        Ok(Self { pair, pkcs8 })
    }

    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        Self::from_pkcs8_der(&pem::decode("PRIVATE KEY", text)?)
    }

    pub fn to_pem(&self) -> String {
        pem::encode("PRIVATE KEY", &self.pkcs8)
    }

    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The 32-byte seed (RFC 8032's private key): the last bytes of the PKCS#8 v1 form every
    /// key is kept in, checked against the public key by whoever derives one from it.
    pub fn seed(&self) -> [u8; 32] {
        let mut seed = [0u8; 32];
        if let Some(bytes) = self.pkcs8.get(PKCS8_V1_PREFIX.len()..)
            && bytes.len() == 32
        {
            seed.copy_from_slice(bytes);
        }
        seed
    }

    pub fn public_key(&self) -> PublicKey {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(self.pair.public_key().as_ref());
        PublicKey(bytes)
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        let mut out = [0u8; 64];
        out.copy_from_slice(self.pair.sign(message).as_ref());
        out
    }

    /// Reads the key at `path`, or creates one there (mode 0600) when there is none.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), KeyError> {
        let io = |e: std::io::Error| KeyError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        match fs::read_to_string(path) {
            Ok(text) => Ok((Self::from_pem(&text)?, false)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate()?;
                write_private(path, &key.to_pem()).map_err(io)?;
                Ok((key, true))
            }
            Err(e) => Err(io(e)),
        }
    }
}

/// Writes a secret file readable by its owner only; refuses to replace an existing file.
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify() {
        let key = SigningKey::generate().unwrap();
        let sig = key.sign(b"hello");
        assert!(key.public_key().verify(b"hello", &sig));
        assert!(!key.public_key().verify(b"hellO", &sig));
    }

    #[test]
    fn generated_keys_are_written_as_pkcs8_v1() {
        let key = SigningKey::generate().unwrap();
        let der = key.pkcs8_der();
        assert_eq!(der.len(), 48);
        assert_eq!(&der[..16], &PKCS8_V1_PREFIX);
        // RFC 8410's example key keeps its exact bytes.
        let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n";
        assert_eq!(SigningKey::from_pem(pem).unwrap().to_pem(), pem);
    }

    #[test]
    fn pem_round_trips() {
        let key = SigningKey::generate().unwrap();
        let again = SigningKey::from_pem(&key.to_pem()).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        let public = PublicKey::from_pem(&key.public_key().to_pem()).unwrap();
        assert_eq!(public, key.public_key());
        assert!(PublicKey::from_pem(&key.to_pem()).is_err());
    }

    #[test]
    fn openssl_style_keys_load() {
        // RFC 8410 section 10.3's example private key (PKCS#8 v1, as OpenSSL writes it).
        let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n";
        let key = SigningKey::from_pem(pem).unwrap();
        // RFC 8410 section 10.1's matching public key.
        let public = PublicKey::from_pem(
            "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n",
        )
        .unwrap();
        assert_eq!(key.public_key(), public);
    }

    #[test]
    fn jwk_thumbprint_is_rfc_7638() {
        // RFC 8037 appendix A.3: the thumbprint of the A.2 public key.
        let x = URL_SAFE_NO_PAD
            .decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
            .unwrap();
        let jwk = PublicKey::from_bytes(x.try_into().unwrap()).jwk();
        assert_eq!(jwk.kid, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }

    #[test]
    fn private_files_are_owner_only() {
        let dir = std::env::temp_dir().join(format!("coalition-key-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("k.pem");
        let (key, created) = SigningKey::load_or_create(&path).unwrap();
        assert!(created);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let (again, created) = SigningKey::load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(again.public_key(), key.public_key());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
