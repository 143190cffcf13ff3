//! Issuer keys: who may publish models.
//!
//! Manifests are signed with secp256k1 ECDSA (RFC 6979 deterministic nonces, SHA-256 of the
//! canonical manifest bytes, low-s). Apps trust a fixed list of issuer public keys
//! ([`IssuerKeys`]); the development key from `dev_issuer_key` (feature `dev-keys`) is for tests and the demo
//! only and is **insecure: its secret is published**.

use std::fmt;

use k256::ecdsa::signature::{Signer, Verifier};
use k256::ecdsa::{Signature, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
#[cfg(any(test, feature = "dev-keys"))]
use sha3::Digest;

use super::error::ModelError;

/// The issuer key that signed the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerRef {
    /// Human-readable key id (e.g. `dev-issuer`).
    pub key_id: String,
    /// SEC1 compressed public key, hex.
    pub public_key: String,
}

/// Key id of the development issuer.
pub const DEV_ISSUER_KEY_ID: &str = "dev-issuer-INSECURE";

/// An issuer's signing key (secret; zeroized on drop by `k256`).
#[derive(Clone)]
pub struct IssuerSigningKey(SigningKey);

impl fmt::Debug for IssuerSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IssuerSigningKey({}, [REDACTED])", self.public_key_hex())
    }
}

/// A 64-byte `r || s` ECDSA signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IssuerSignature(Signature);

impl IssuerSignature {
    /// Parses hex.
    pub fn from_hex(s: &str) -> Result<Self, ModelError> {
        let raw = hex::decode(s).map_err(|_| ModelError::BadSignature("signature is not hex".into()))?;
        Signature::from_slice(&raw).map(Self).map_err(|_| ModelError::BadSignature("signature is not 64 bytes r||s".into()))
    }

    /// Hex encoding.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.to_bytes())
    }
}

impl IssuerSigningKey {
    /// Generates a new random issuer key.
    pub fn generate() -> Self {
        Self(SigningKey::random(&mut rand_core::OsRng))
    }

    /// Parses a hex 32-byte secret.
    pub fn from_hex(s: &str) -> Result<Self, ModelError> {
        let raw = zeroize::Zeroizing::new(hex::decode(s.trim()).map_err(|_| ModelError::BadIssuerKey("secret key is not hex".into()))?);
        SigningKey::from_slice(&raw).map(Self).map_err(|_| ModelError::BadIssuerKey("secret key is not a valid scalar".into()))
    }

    /// Hex of the 32-byte secret (to write a key file; keep it secret).
    pub fn secret_hex(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(hex::encode(self.0.to_bytes()))
    }

    /// SEC1 compressed public key, hex.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.0.verifying_key().to_encoded_point(true).as_bytes())
    }

    /// Signs bytes (SHA-256 digest inside, deterministic nonce).
    pub fn sign(&self, msg: &[u8]) -> IssuerSignature {
        let sig: Signature = self.0.sign(msg);
        IssuerSignature(sig.normalize_s().unwrap_or(sig))
    }
}

/// The set of issuer public keys an app trusts.
#[derive(Clone, Debug, Default)]
pub struct IssuerKeys {
    keys: Vec<(String, VerifyingKey)>,
}

impl IssuerKeys {
    /// An empty trust store (trusts nobody).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a trusted key from its hex SEC1 encoding.
    pub fn add_hex(&mut self, key_id: &str, public_key_hex: &str) -> Result<(), ModelError> {
        let raw = hex::decode(public_key_hex.trim()).map_err(|_| ModelError::BadIssuerKey("public key is not hex".into()))?;
        let vk = VerifyingKey::from_sec1_bytes(&raw).map_err(|_| ModelError::BadIssuerKey("not a SEC1 secp256k1 key".into()))?;
        self.keys.push((key_id.to_string(), vk));
        Ok(())
    }

    /// A trust store holding only the development issuer (tests and the demo; `dev-keys`
    /// feature).
    #[cfg(any(test, feature = "dev-keys"))]
    pub fn development() -> Self {
        let mut k = Self::new();
        k.add_hex(DEV_ISSUER_KEY_ID, &dev_issuer_key().public_key_hex()).expect("dev key is valid");
        k
    }

    /// Whether the store trusts the development issuer (`dev-keys` feature).
    #[cfg(any(test, feature = "dev-keys"))]
    pub fn trusts_development_key(&self) -> bool {
        let dev = dev_issuer_key().public_key_hex();
        self.keys.iter().any(|(_, k)| hex::encode(k.to_encoded_point(true).as_bytes()) == dev)
    }

    /// Verifies `sig` over `msg` by the key the manifest names, which must be trusted.
    pub fn verify(&self, issuer: &IssuerRef, msg: &[u8], sig: &IssuerSignature) -> Result<(), ModelError> {
        let named = hex::decode(&issuer.public_key).map_err(|_| ModelError::BadIssuerKey("manifest issuer key is not hex".into()))?;
        let Some((_, vk)) = self.keys.iter().find(|(_, k)| k.to_encoded_point(true).as_bytes() == named.as_slice()) else {
            return Err(ModelError::UntrustedIssuer { key_id: issuer.key_id.clone(), public_key: issuer.public_key.clone() });
        };
        vk.verify(msg, &sig.0).map_err(|_| ModelError::BadSignature("issuer signature does not verify over the manifest".into()))
    }
}

/// The development issuer key. **Insecure: its secret is derived from a public string.** Only
/// with the `dev-keys` feature (never in phone builds).
#[cfg(any(test, feature = "dev-keys"))]
pub fn dev_issuer_key() -> IssuerSigningKey {
    let seed = sha3::Keccak256::digest(b"zkiris DEVELOPMENT model issuer key - INSECURE");
    IssuerSigningKey(SigningKey::from_slice(&seed).expect("dev issuer seed is a valid scalar"))
}
