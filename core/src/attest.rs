//! Enrollment-device attestation: secp256k1 signatures over iris commitments.
//!
//! An enrollment device (an "Orb") signs the commitment `C` it computed. The same signature
//! is checked by the vault when a record is imported and by the on-chain registry with
//! `ecrecover`, so the message format is fixed here once:
//!
//! ```text
//! digest    = keccak256( "zkiris/enrollment/v1" || C )        C = commitment, 32 bytes big-endian
//! signature = r (32 B) || s (32 B, low-s) || v (1 B, 27 or 28)   secp256k1 ECDSA over `digest`
//! device id = the device's Ethereum-style address: keccak256(uncompressed pubkey)[12..]
//! ```
//!
//! In Solidity: `ecrecover(keccak256(abi.encodePacked("zkiris/enrollment/v1", c)), v, r, s)`.

use std::fmt;

use k256::ecdsa::{RecoveryId, Signature, SigningKey, VerifyingKey};
use sha3::{Digest, Keccak256};
use zeroize::Zeroizing;

/// Domain-separation prefix of the enrollment message.
pub const ENROLLMENT_DOMAIN: &[u8] = b"zkiris/enrollment/v1";

/// Errors from device keys and signatures.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttestError {
    /// The secret key bytes are not a valid secp256k1 scalar.
    #[error("device secret key is invalid (must be 32 bytes, nonzero, below the curve order)")]
    BadSecretKey,
    /// The signature is not 65 bytes `r || s || v` with a valid `v`.
    #[error("device signature is malformed: {0}")]
    MalformedSignature(&'static str),
    /// The signature is well formed but recovers to a device that is not trusted.
    #[error("commitment was signed by device {found}, which is not in the trusted device list")]
    UntrustedDevice {
        /// Address the signature recovers to.
        found: DeviceId,
    },
}

/// A 20-byte device identifier (Ethereum address of the device key).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct DeviceId(pub [u8; 20]);

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::str::FromStr for DeviceId {
    type Err = AttestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.strip_prefix("0x").unwrap_or(s);
        let bytes = hex::decode(s).map_err(|_| AttestError::MalformedSignature("device id is not hex"))?;
        let arr: [u8; 20] = bytes.try_into().map_err(|_| AttestError::MalformedSignature("device id is not 20 bytes"))?;
        Ok(DeviceId(arr))
    }
}

/// A 65-byte enrollment signature `r || s || v`.
#[derive(Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EnrollmentSignature(#[serde(with = "sig_serde")] pub [u8; 65]);

impl fmt::Debug for EnrollmentSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EnrollmentSignature(0x{})", hex::encode(self.0))
    }
}

mod sig_serde {
    //! Serialized as a `0x`-prefixed hex string (JSON and bincode alike). Human-readable
    //! formats accept any hex case and an optional prefix; binary formats (proof bundles)
    //! accept only the canonical lowercase form, so a bundle has exactly one encoding.
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &[u8; 65], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(v)))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 65], D::Error> {
        let canonical_only = !d.is_human_readable();
        let text = String::deserialize(d)?;
        let raw = hex::decode(text.strip_prefix("0x").unwrap_or(&text)).map_err(serde::de::Error::custom)?;
        let sig: [u8; 65] = raw.try_into().map_err(|_| serde::de::Error::custom("signature must be 65 bytes"))?;
        if canonical_only && text != format!("0x{}", hex::encode(sig)) {
            return Err(serde::de::Error::custom("signature is not lowercase 0x-prefixed hex"));
        }
        Ok(sig)
    }
}

/// The digest a device signs for commitment `c` (32 bytes, big-endian field element).
pub fn enrollment_digest(commitment: &[u8; 32]) -> [u8; 32] {
    let mut h = Keccak256::new();
    h.update(ENROLLMENT_DOMAIN);
    h.update(commitment);
    h.finalize().into()
}

fn address_of(key: &VerifyingKey) -> DeviceId {
    let point = key.to_encoded_point(false);
    let hash = Keccak256::digest(&point.as_bytes()[1..]);
    let mut out = [0u8; 20];
    out.copy_from_slice(&hash[12..]);
    DeviceId(out)
}

/// A device signing key. The secret is zeroized on drop and never printed.
#[derive(Clone)]
pub struct DeviceKey {
    key: SigningKey,
}

impl fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceKey({}, [REDACTED])", self.id())
    }
}

impl DeviceKey {
    /// Generates a fresh random key.
    pub fn generate() -> Self {
        Self { key: SigningKey::random(&mut rand_core::OsRng) }
    }

    /// Loads a key from its 32 secret bytes.
    pub fn from_bytes(secret: &[u8; 32]) -> Result<Self, AttestError> {
        SigningKey::from_bytes(secret.into()).map(|key| Self { key }).map_err(|_| AttestError::BadSecretKey)
    }

    /// Parses a hex-encoded 32-byte secret (with or without `0x`).
    pub fn from_hex(s: &str) -> Result<Self, AttestError> {
        let raw = Zeroizing::new(hex::decode(s.trim().strip_prefix("0x").unwrap_or(s.trim())).map_err(|_| AttestError::BadSecretKey)?);
        let arr: [u8; 32] = raw.as_slice().try_into().map_err(|_| AttestError::BadSecretKey)?;
        let arr = Zeroizing::new(arr);
        Self::from_bytes(&arr)
    }

    /// The secret as 32 bytes (for storage by the caller; keep it secret).
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.key.to_bytes().into())
    }

    /// The device id (Ethereum address of the public key).
    pub fn id(&self) -> DeviceId {
        address_of(self.key.verifying_key())
    }

    /// Signs commitment `c` in the enrollment format.
    pub fn sign_commitment(&self, commitment: &[u8; 32]) -> EnrollmentSignature {
        let digest = enrollment_digest(commitment);
        // Signing a 32-byte prehash with a valid key cannot fail.
        let (sig, rec) = self.key.sign_prehash_recoverable(&digest).expect("prehash signing");
        let (sig, rec) = match sig.normalize_s() {
            Some(low) => (low, RecoveryId::new(!rec.is_y_odd(), rec.is_x_reduced())),
            None => (sig, rec),
        };
        let mut out = [0u8; 65];
        out[..64].copy_from_slice(&sig.to_bytes());
        out[64] = 27 + rec.to_byte();
        EnrollmentSignature(out)
    }
}

impl EnrollmentSignature {
    /// Recovers the device that signed commitment `c`.
    pub fn recover(&self, commitment: &[u8; 32]) -> Result<DeviceId, AttestError> {
        let v = self.0[64];
        let rec = match v {
            27 | 28 => RecoveryId::from_byte(v - 27),
            0 | 1 => RecoveryId::from_byte(v),
            _ => None,
        }
        .ok_or(AttestError::MalformedSignature("v must be 27 or 28"))?;
        let sig = Signature::from_slice(&self.0[..64]).map_err(|_| AttestError::MalformedSignature("r or s out of range"))?;
        if sig.normalize_s().is_some() {
            return Err(AttestError::MalformedSignature("s is not in the lower half of the curve order"));
        }
        let digest = enrollment_digest(commitment);
        let key = VerifyingKey::recover_from_prehash(&digest, &sig, rec)
            .map_err(|_| AttestError::MalformedSignature("no public key recovers from this signature"))?;
        Ok(address_of(&key))
    }

    /// Checks the signature over `c` and that it comes from one of `trusted`.
    pub fn verify(&self, commitment: &[u8; 32], trusted: &[DeviceId]) -> Result<DeviceId, AttestError> {
        let found = self.recover(commitment)?;
        if trusted.contains(&found) {
            Ok(found)
        } else {
            Err(AttestError::UntrustedDevice { found })
        }
    }

    /// Parses 65 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, AttestError> {
        let arr: [u8; 65] = bytes.try_into().map_err(|_| AttestError::MalformedSignature("must be 65 bytes"))?;
        Ok(Self(arr))
    }
}

/// The development enrollment-device key shipped for tests and the demo.
///
/// **INSECURE: its secret is public.** Never trust [`dev_device_id`] in production. Only with
/// the `dev-keys` feature (never in phone builds).
#[cfg(any(test, feature = "dev-keys"))]
pub fn dev_device_key() -> DeviceKey {
    let mut seed = [0u8; 32];
    seed.copy_from_slice(&Keccak256::digest(b"zkiris DEVELOPMENT enrollment device key - INSECURE"));
    DeviceKey::from_bytes(&seed).expect("dev key is a valid scalar")
}

/// The id of [`dev_device_key`].
#[cfg(any(test, feature = "dev-keys"))]
pub fn dev_device_id() -> DeviceId {
    dev_device_key().id()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_recover_round_trip() {
        let key = DeviceKey::generate();
        let c = [7u8; 32];
        let sig = key.sign_commitment(&c);
        assert_eq!(sig.recover(&c).unwrap(), key.id());
        assert_eq!(sig.verify(&c, &[key.id()]).unwrap(), key.id());
        // A different commitment recovers a different (untrusted) device.
        let other = [8u8; 32];
        assert!(matches!(sig.verify(&other, &[key.id()]), Err(AttestError::UntrustedDevice { .. })));
    }

    #[test]
    fn rejects_untrusted_and_malformed() {
        let key = dev_device_key();
        let c = [1u8; 32];
        let mut sig = key.sign_commitment(&c);
        assert!(matches!(sig.verify(&c, &[]), Err(AttestError::UntrustedDevice { .. })));
        sig.0[64] = 30;
        assert!(matches!(sig.recover(&c), Err(AttestError::MalformedSignature(_))));
        assert!(EnrollmentSignature::from_slice(&[0u8; 64]).is_err());
    }

    #[test]
    fn known_vector_matches_ethereum_conventions() {
        // Secret key 1 has the well-known address 0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf.
        let mut one = [0u8; 32];
        one[31] = 1;
        let key = DeviceKey::from_bytes(&one).unwrap();
        assert_eq!(key.id().to_string(), "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf");
        assert!(format!("{key:?}").contains("REDACTED"));
    }

    #[test]
    fn binary_encoding_of_a_signature_is_canonical() {
        let sig = dev_device_key().sign_commitment(&[3u8; 32]);
        let bytes = bincode::serialize(&sig).unwrap();
        assert_eq!(bincode::deserialize::<EnrollmentSignature>(&bytes).unwrap(), sig);
        // The same signature with one hex digit in upper case: JSON takes it, bincode does not.
        let text = format!("0x{}", hex::encode(sig.0));
        let at = 2 + text[2..].find(|c: char| c.is_ascii_alphabetic()).unwrap();
        let mut upper = text.clone().into_bytes();
        upper[at] = upper[at].to_ascii_uppercase();
        let upper = String::from_utf8(upper).unwrap();
        let json: EnrollmentSignature = serde_json::from_str(&format!("\"{upper}\"")).unwrap();
        assert_eq!(json, sig);
        let err = bincode::deserialize::<EnrollmentSignature>(&bincode::serialize(&upper).unwrap()).unwrap_err();
        assert!(err.to_string().contains("lowercase"), "{err}");
    }
}
