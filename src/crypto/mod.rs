//! Cryptographic building blocks shared by the layers: PEM, Ed25519 keys and JWKs.

pub mod ed25519;
pub mod jws;
pub mod jwt;
pub mod pem;

pub use ed25519::{Jwk, KeyError, PublicKey, SigningKey};
