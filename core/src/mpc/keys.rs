//! The MPC parties' key pairs: HPKE X-Wing keys (ML-KEM-768 + X25519) and their files.
//!
//! Each MPC party holds a [`PartySecretKey`] and publishes its [`PartyPublicKey`]; a phone
//! encrypts party `p`'s share to `p`'s public key ([`super::envelope`]). The KEM is X-Wing
//! (HPKE KEM id `0x647a`, draft-connolly-cfrg-xwing-kem): a hybrid of ML-KEM-768 and X25519,
//! so a share stays secret if either holds — an iris template never changes, so it must stay
//! secret against a quantum computer built later ("harvest now, decrypt later").
//!
//! # Key files (format version [`KEY_FORMAT_VERSION`])
//!
//! Both are binary and self-describing; every integer is big-endian.
//!
//! Secret key ([`PartySecretKey::to_bytes`], [`SECRET_KEY_LEN`] = 44 bytes):
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 8 | magic `ZKIRPSK\0` ([`SECRET_KEY_MAGIC`]) |
//! | 8 | 2 | format version, 1 |
//! | 10 | 2 | HPKE KEM id, `0x647a` (X-Wing) |
//! | 12 | 32 | the X-Wing decapsulation key (its 32-byte seed; ML-KEM and X25519 keys are expanded from it) |
//!
//! Public key ([`PartyPublicKey::to_bytes`], [`PUBLIC_KEY_LEN`] = 1228 bytes):
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 8 | magic `ZKIRPPK\0` ([`PUBLIC_KEY_MAGIC`]) |
//! | 8 | 2 | format version, 1 |
//! | 10 | 2 | HPKE KEM id, `0x647a` (X-Wing) |
//! | 12 | 1216 | the X-Wing encapsulation key: ML-KEM-768 key (1184) ‖ X25519 key (32) |
//!
//! Parsing checks, in order: magic (a secret-key file given where a public key is expected,
//! or the reverse, is named as such), length of the fixed header, version, KEM id, exact total
//! length, and for a public key that its ML-KEM part is a valid encapsulation key (FIPS 203
//! modulus check). It never panics.

use hpke::kem::XWing;
use hpke::{Deserializable, Kem, Serializable};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

/// Version of both key file formats.
pub const KEY_FORMAT_VERSION: u16 = 1;
/// Magic of a secret-key file.
pub const SECRET_KEY_MAGIC: &[u8; 8] = b"ZKIRPSK\0";
/// Magic of a public-key file.
pub const PUBLIC_KEY_MAGIC: &[u8; 8] = b"ZKIRPPK\0";
/// HPKE KEM id of the parties' keys: X-Wing.
pub const KEM_ID: u16 = <XWing as Kem>::KEM_ID;
/// Bytes before the key: magic, version, KEM id.
pub const KEY_HEADER_LEN: usize = 12;
/// X-Wing decapsulation key bytes.
pub const XWING_SECRET_LEN: usize = 32;
/// X-Wing encapsulation key bytes.
pub const XWING_PUBLIC_LEN: usize = 1216;
/// Length of a secret-key file.
pub const SECRET_KEY_LEN: usize = KEY_HEADER_LEN + XWING_SECRET_LEN;
/// Length of a public-key file.
pub const PUBLIC_KEY_LEN: usize = KEY_HEADER_LEN + XWING_PUBLIC_LEN;

/// Which of the two key files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// A [`PartySecretKey`].
    Secret,
    /// A [`PartyPublicKey`].
    Public,
}

impl KeyKind {
    fn magic(self) -> &'static [u8; 8] {
        match self {
            KeyKind::Secret => SECRET_KEY_MAGIC,
            KeyKind::Public => PUBLIC_KEY_MAGIC,
        }
    }

    fn len(self) -> usize {
        match self {
            KeyKind::Secret => SECRET_KEY_LEN,
            KeyKind::Public => PUBLIC_KEY_LEN,
        }
    }
}

impl std::fmt::Display for KeyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KeyKind::Secret => "secret key",
            KeyKind::Public => "public key",
        })
    }
}

/// Errors reading a party key file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PartyKeyError {
    /// Not a zkiris party key file.
    #[error("not a zkiris MPC party {expected} file (bad magic)")]
    BadMagic {
        /// What was expected.
        expected: KeyKind,
    },
    /// The other kind of key file.
    #[error("this is an MPC party {found} file; a party {expected} is needed here")]
    WrongKind {
        /// What was expected.
        expected: KeyKind,
        /// What the file is.
        found: KeyKind,
    },
    /// A format version this SDK does not know.
    #[error("MPC party key format {found} is not supported (this SDK reads version {supported}); update zkiris")]
    UnsupportedVersion {
        /// Version found.
        found: u16,
        /// Version supported.
        supported: u16,
    },
    /// A KEM this SDK does not know.
    #[error("MPC party keys of HPKE KEM 0x{found:04x} are not supported; zkiris uses X-Wing (0x647a)")]
    UnsupportedKem {
        /// KEM id found.
        found: u16,
    },
    /// Truncated, or followed by extra bytes.
    #[error("an MPC party {kind} file is {expected} bytes, this one is {found} (truncated or with trailing bytes)")]
    Length {
        /// Which key.
        kind: KeyKind,
        /// Length expected.
        expected: usize,
        /// Length found.
        found: usize,
    },
    /// The key bytes are not a valid X-Wing public key.
    #[error("the MPC party public key is not a valid X-Wing encapsulation key (its ML-KEM-768 part is not reduced modulo q)")]
    InvalidKey,
}

/// Checks the header of a `kind` key file and returns its key bytes.
fn key_bytes(bytes: &[u8], kind: KeyKind) -> Result<&[u8], PartyKeyError> {
    let other = match kind {
        KeyKind::Secret => KeyKind::Public,
        KeyKind::Public => KeyKind::Secret,
    };
    let head = &bytes[..bytes.len().min(8)];
    if head != &kind.magic()[..head.len()] {
        return Err(if head == &other.magic()[..head.len()] && head.len() == 8 {
            PartyKeyError::WrongKind { expected: kind, found: other }
        } else {
            PartyKeyError::BadMagic { expected: kind }
        });
    }
    if bytes.len() < KEY_HEADER_LEN {
        return Err(PartyKeyError::Length { kind, expected: kind.len(), found: bytes.len() });
    }
    let version = u16::from_be_bytes([bytes[8], bytes[9]]);
    if version != KEY_FORMAT_VERSION {
        return Err(PartyKeyError::UnsupportedVersion { found: version, supported: KEY_FORMAT_VERSION });
    }
    let kem = u16::from_be_bytes([bytes[10], bytes[11]]);
    if kem != KEM_ID {
        return Err(PartyKeyError::UnsupportedKem { found: kem });
    }
    if bytes.len() != kind.len() {
        return Err(PartyKeyError::Length { kind, expected: kind.len(), found: bytes.len() });
    }
    Ok(&bytes[KEY_HEADER_LEN..])
}

fn header(kind: KeyKind) -> [u8; KEY_HEADER_LEN] {
    let mut h = [0u8; KEY_HEADER_LEN];
    h[..8].copy_from_slice(kind.magic());
    h[8..10].copy_from_slice(&KEY_FORMAT_VERSION.to_be_bytes());
    h[10..12].copy_from_slice(&KEM_ID.to_be_bytes());
    h
}

/// An MPC party's secret key (X-Wing). Zeroized on drop; `Debug` prints no key material.
#[derive(Clone)]
pub struct PartySecretKey {
    // x_wing's decapsulation key zeroizes its seed on drop.
    sk: <XWing as Kem>::PrivateKey,
}

impl std::fmt::Debug for PartySecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PartySecretKey([REDACTED])")
    }
}

impl PartySecretKey {
    /// A fresh key pair from the operating system's random number generator.
    ///
    /// # Panics
    /// Only if the operating system cannot supply random bytes.
    pub fn generate() -> Self {
        let (sk, _pk) = XWing::gen_keypair();
        Self { sk }
    }

    /// The matching public key.
    pub fn public_key(&self) -> PartyPublicKey {
        PartyPublicKey { pk: XWing::sk_to_pk(&self.sk) }
    }

    /// The key file (see the module documentation).
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(SECRET_KEY_LEN));
        out.extend_from_slice(&header(KeyKind::Secret));
        let mut key = self.sk.to_bytes();
        out.extend_from_slice(&key);
        key.zeroize();
        out
    }

    /// Reads a key file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PartyKeyError> {
        let key = key_bytes(bytes, KeyKind::Secret)?;
        // Every 32-byte string is an X-Wing seed; the length was checked above.
        let sk = <XWing as Kem>::PrivateKey::from_bytes(key).map_err(|_| PartyKeyError::Length {
            kind: KeyKind::Secret,
            expected: SECRET_KEY_LEN,
            found: bytes.len(),
        })?;
        Ok(Self { sk })
    }

    pub(crate) fn hpke(&self) -> &<XWing as Kem>::PrivateKey {
        &self.sk
    }
}

/// An MPC party's public key (X-Wing), to which its shares are encrypted.
#[derive(Clone, PartialEq, Eq)]
pub struct PartyPublicKey {
    pk: <XWing as Kem>::PublicKey,
}

impl std::fmt::Debug for PartyPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PartyPublicKey(X-Wing, sha256 {}…)", hex::encode(&self.fingerprint()[..8]))
    }
}

impl PartyPublicKey {
    /// The key file (see the module documentation).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PUBLIC_KEY_LEN);
        out.extend_from_slice(&header(KeyKind::Public));
        out.extend_from_slice(&self.pk.to_bytes());
        out
    }

    /// Reads a key file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PartyKeyError> {
        let key = key_bytes(bytes, KeyKind::Public)?;
        let pk = <XWing as Kem>::PublicKey::from_bytes(key).map_err(|_| PartyKeyError::InvalidKey)?;
        Ok(Self { pk })
    }

    /// SHA-256 of the key file: a short name for the key (to compare out of band, to log).
    pub fn fingerprint(&self) -> [u8; 32] {
        Sha256::digest(self.to_bytes()).into()
    }

    pub(crate) fn hpke(&self) -> &<XWing as Kem>::PublicKey {
        &self.pk
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_round_trip() {
        let sk = PartySecretKey::generate();
        let pk = sk.public_key();
        let sk_bytes = sk.to_bytes();
        assert_eq!(sk_bytes.len(), SECRET_KEY_LEN);
        assert_eq!(&sk_bytes[..12], b"ZKIRPSK\0\x00\x01\x64\x7a");
        let back = PartySecretKey::from_bytes(&sk_bytes).unwrap();
        assert_eq!(back.public_key(), pk);
        let pk_bytes = pk.to_bytes();
        assert_eq!(pk_bytes.len(), PUBLIC_KEY_LEN);
        assert_eq!(&pk_bytes[..12], b"ZKIRPPK\0\x00\x01\x64\x7a");
        assert_eq!(PartyPublicKey::from_bytes(&pk_bytes).unwrap(), pk);
        assert_ne!(PartySecretKey::generate().public_key(), pk, "fresh keys differ");
    }

    #[test]
    fn debug_prints_no_secret() {
        let sk = PartySecretKey::generate();
        let dbg = format!("{sk:?}");
        assert_eq!(dbg, "PartySecretKey([REDACTED])");
        let seed_hex = hex::encode(&sk.to_bytes()[KEY_HEADER_LEN..]);
        assert!(!format!("{:?}", sk.public_key()).contains(&seed_hex));
        assert!(format!("{:?}", sk.public_key()).starts_with("PartyPublicKey(X-Wing, sha256 "));
    }

    #[test]
    fn swapped_key_files_are_named() {
        let sk = PartySecretKey::generate();
        let pk = sk.public_key();
        assert_eq!(PartyPublicKey::from_bytes(&sk.to_bytes()), Err(PartyKeyError::WrongKind { expected: KeyKind::Public, found: KeyKind::Secret }));
        assert_eq!(PartySecretKey::from_bytes(&pk.to_bytes()).unwrap_err(), PartyKeyError::WrongKind { expected: KeyKind::Secret, found: KeyKind::Public });
        assert_eq!(PartyPublicKey::from_bytes(b"ZKIRISP\0\x00\x02"), Err(PartyKeyError::BadMagic { expected: KeyKind::Public }));
        assert_eq!(PartyPublicKey::from_bytes(b""), Err(PartyKeyError::Length { kind: KeyKind::Public, expected: PUBLIC_KEY_LEN, found: 0 }));
    }

    #[test]
    fn unknown_version_and_kem_are_refused() {
        let pk = PartySecretKey::generate().public_key().to_bytes();
        let mut v = pk.clone();
        v[9] = 2;
        assert_eq!(PartyPublicKey::from_bytes(&v), Err(PartyKeyError::UnsupportedVersion { found: 2, supported: 1 }));
        let mut k = pk.clone();
        k[10..12].copy_from_slice(&0x0020u16.to_be_bytes()); // DHKEM(X25519, HKDF-SHA256)
        assert_eq!(PartyPublicKey::from_bytes(&k), Err(PartyKeyError::UnsupportedKem { found: 0x0020 }));
        assert!(PartyPublicKey::from_bytes(&k).unwrap_err().to_string().contains("0x0020"));
        let sk = PartySecretKey::generate().to_bytes();
        let mut s = sk.to_vec();
        s[8] = 1;
        assert_eq!(PartySecretKey::from_bytes(&s).unwrap_err(), PartyKeyError::UnsupportedVersion { found: 0x0101, supported: 1 });
    }

    #[test]
    fn every_truncation_and_trailing_bytes_are_refused() {
        let sk = PartySecretKey::generate();
        let pk = sk.public_key().to_bytes();
        for cut in 0..pk.len() {
            let e = PartyPublicKey::from_bytes(&pk[..cut]).unwrap_err();
            assert_eq!(e, PartyKeyError::Length { kind: KeyKind::Public, expected: PUBLIC_KEY_LEN, found: cut }, "cut at {cut}");
        }
        let skb = sk.to_bytes();
        for cut in 0..skb.len() {
            assert_eq!(
                PartySecretKey::from_bytes(&skb[..cut]).unwrap_err(),
                PartyKeyError::Length { kind: KeyKind::Secret, expected: SECRET_KEY_LEN, found: cut },
                "cut at {cut}"
            );
        }
        let mut long = pk.clone();
        long.push(0);
        assert_eq!(
            PartyPublicKey::from_bytes(&long),
            Err(PartyKeyError::Length { kind: KeyKind::Public, expected: PUBLIC_KEY_LEN, found: PUBLIC_KEY_LEN + 1 })
        );
        let mut long = skb.to_vec();
        long.push(0);
        assert!(matches!(PartySecretKey::from_bytes(&long), Err(PartyKeyError::Length { kind: KeyKind::Secret, .. })));
    }

    #[test]
    fn an_unreduced_ml_kem_key_is_refused() {
        let mut pk = PartySecretKey::generate().public_key().to_bytes();
        // The first ML-KEM coefficient (12 bits, little-endian) set to 4095 ≥ q = 3329.
        pk[KEY_HEADER_LEN] = 0xff;
        pk[KEY_HEADER_LEN + 1] |= 0x0f;
        assert_eq!(PartyPublicKey::from_bytes(&pk), Err(PartyKeyError::InvalidKey));
    }
}
