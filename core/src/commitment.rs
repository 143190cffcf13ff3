//! The enrollment commitment `C = Commit(I, M, r)`.
//!
//! The enrollment device computes `C` over the normalized image `I`, the mask `M` and a random
//! salt `r`, and signs it ([`crate::attest`]). Every proof shows that its image and mask are the
//! ones committed in `C`, so a model upgrade can be linked to the same enrollment.
//!
//! `C` is a BN254 scalar-field element, written as 32 big-endian bytes (the Solidity `uint256`).
//! The hash itself (Poseidon, packing of pixels and mask bits, sponge) is specified in
//! [`commit`]'s documentation.

use std::fmt;

use zeroize::Zeroizing;

/// The BN254 scalar-field modulus, big-endian.
pub const FIELD_MODULUS_BE: [u8; 32] = [
    0x30, 0x64, 0x4e, 0x72, 0xe1, 0x31, 0xa0, 0x29, 0xb8, 0x50, 0x45, 0xb6, 0x81, 0x81, 0x58, 0x5d, 0x28, 0x33, 0xe8, 0x48,
    0x79, 0xb9, 0x70, 0x91, 0x43, 0xe1, 0xf5, 0x93, 0xf0, 0x00, 0x00, 0x01,
];

/// Errors about salts and commitments.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommitmentError {
    /// The bytes are not a canonical field element (≥ the BN254 modulus) or have the wrong length.
    #[error("{what} is not a canonical BN254 field element (32 big-endian bytes below the modulus)")]
    NotCanonical {
        /// Which value.
        what: &'static str,
    },
    /// The image and mask shapes differ, or the shape is not supported.
    #[error("cannot commit: {0}")]
    Shape(String),
}

fn canonical(bytes: &[u8; 32]) -> bool {
    bytes.as_slice() < FIELD_MODULUS_BE.as_slice()
}

/// The commitment's blinding salt `r`: a secret field element (zeroized on drop).
#[derive(Clone, PartialEq, Eq)]
pub struct Salt(Zeroizing<[u8; 32]>);

impl fmt::Debug for Salt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Salt([REDACTED])")
    }
}

impl Salt {
    /// A fresh random salt: 31 random bytes below a zero top byte (always canonical, 248 bits).
    pub fn random() -> Self {
        use rand_core::RngCore;
        let mut b = Zeroizing::new([0u8; 32]);
        rand_core::OsRng.fill_bytes(&mut b[1..]);
        Self(b)
    }

    /// Wraps 32 big-endian bytes; they must be below the field modulus.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, CommitmentError> {
        let b = Zeroizing::new(bytes);
        if !canonical(&b) {
            return Err(CommitmentError::NotCanonical { what: "salt" });
        }
        Ok(Self(b))
    }

    /// Parses 64 hex digits (optionally `0x`-prefixed; shorter strings are left-padded).
    pub fn from_hex(s: &str) -> Result<Self, CommitmentError> {
        let s = s.trim();
        let s = s.strip_prefix("0x").unwrap_or(s);
        if s.len() > 64 || s.is_empty() {
            return Err(CommitmentError::NotCanonical { what: "salt" });
        }
        let padded = Zeroizing::new(format!("{s:0>64}"));
        let raw = Zeroizing::new(hex::decode(padded.as_str()).map_err(|_| CommitmentError::NotCanonical { what: "salt" })?);
        let mut b = [0u8; 32];
        b.copy_from_slice(&raw);
        Self::from_bytes(b)
    }

    /// The 32 big-endian bytes (secret).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// A commitment `C`: a field element as 32 big-endian bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Commitment(#[serde(with = "hex32")] pub [u8; 32]);

mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(v)))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let t = String::deserialize(d)?;
        let raw = hex::decode(t.strip_prefix("0x").unwrap_or(&t)).map_err(serde::de::Error::custom)?;
        raw.try_into().map_err(|_| serde::de::Error::custom("commitment must be 32 bytes"))
    }
}

impl fmt::Display for Commitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for Commitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Commitment({self})")
    }
}

impl Commitment {
    /// Wraps 32 big-endian bytes; they must be below the field modulus.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, CommitmentError> {
        if !canonical(&bytes) {
            return Err(CommitmentError::NotCanonical { what: "commitment" });
        }
        Ok(Self(bytes))
    }

    /// Parses `0x`-prefixed (or bare) 64 hex digits.
    pub fn from_hex(s: &str) -> Result<Self, CommitmentError> {
        let s = s.trim();
        let raw = hex::decode(s.strip_prefix("0x").unwrap_or(s)).map_err(|_| CommitmentError::NotCanonical { what: "commitment" })?;
        let b: [u8; 32] = raw.try_into().map_err(|_| CommitmentError::NotCanonical { what: "commitment" })?;
        Self::from_bytes(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salts_are_canonical_and_redacted() {
        let s = Salt::random();
        assert_eq!(s.as_bytes()[0], 0);
        assert_eq!(format!("{s:?}"), "Salt([REDACTED])");
        assert!(Salt::from_bytes([0xff; 32]).is_err());
        assert!(Salt::from_bytes(FIELD_MODULUS_BE).is_err());
        let mut below = FIELD_MODULUS_BE;
        below[31] -= 1;
        assert!(Salt::from_bytes(below).is_ok());
        assert_eq!(Salt::from_hex("0x01").unwrap().as_bytes()[31], 1);
    }

    #[test]
    fn commitment_hex_round_trip() {
        let c = Commitment::from_hex("0x0102").unwrap_err();
        assert_eq!(c, CommitmentError::NotCanonical { what: "commitment" });
        let mut b = [0u8; 32];
        b[31] = 9;
        let c = Commitment::from_bytes(b).unwrap();
        assert_eq!(Commitment::from_hex(&c.to_string()).unwrap(), c);
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Commitment>(&json).unwrap(), c);
    }
}
