//! Envelope keys: data keys, the [`KeyProvider`] trait that wraps them, and the built-in
//! providers ([`PassphraseProvider`], [`RawKeyProvider`]).
//!
//! Every record and the index have their own random 256-bit data key (DEK). The vault never
//! stores a DEK in the clear: it asks a [`KeyProvider`] to wrap it under a key-encryption key
//! (KEK) and stores only the wrapped bytes. A platform keystore (Android Keystore, iOS
//! Keychain / Secure Enclave) implements the trait through the mobile bindings; the KEK then
//! never leaves the secure hardware.
//!
//! The built-in providers wrap with XChaCha20-Poly1305:
//!
//! ```text
//! wrapped = 0x01 (wrap format) || nonce (24 B, random) || XChaCha20-Poly1305(KEK, nonce, DEK, AAD) (DEK + 16 B tag)
//! AAD     = "zkiris/vault/wrap/v1" || key id (UTF-8)
//! ```

use std::fmt;

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{KeyInit, Tag, XChaCha20Poly1305, XNonce};
use rand_core::RngCore;
use zeroize::Zeroizing;

/// Length of every data key and built-in KEK, in bytes.
pub const KEY_LEN: usize = 32;
/// Length of an XChaCha20-Poly1305 nonce.
pub const NONCE_LEN: usize = 24;
/// Length of a Poly1305 tag.
pub const TAG_LEN: usize = 16;
/// Length of a built-in provider's wrapped key: format byte, nonce, key, tag.
pub const BUILTIN_WRAPPED_LEN: usize = 1 + NONCE_LEN + KEY_LEN + TAG_LEN;

const WRAP_FORMAT: u8 = 0x01;
const WRAP_DOMAIN: &[u8] = b"zkiris/vault/wrap/v1";

/// Errors from a [`KeyProvider`].
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// The wrapped key does not authenticate under this KEK: wrong passphrase or wrong key.
    #[error("wrong key: the wrapped key does not authenticate under this key-encryption key")]
    WrongKey,
    /// The wrapped key is not in this provider's format (wrong length or format byte).
    #[error("wrapped key is malformed: {0}")]
    Malformed(&'static str),
    /// The key-derivation parameters are out of range.
    #[error("invalid key-derivation parameters: {0}")]
    InvalidParams(String),
    /// The key is unavailable (keystore locked, authentication cancelled, key deleted, ...).
    /// Platform providers report their failures here.
    #[error("key unavailable: {0}")]
    Unavailable(String),
    /// The key is permanently gone: the platform invalidated it (Android
    /// `KeyPermanentlyInvalidatedException` after a new biometric enrollment or a removed
    /// screen lock) or deleted it (iOS Keychain item missing). Retrying cannot help: restore
    /// the vault from a backup locked with another key, or delete it and re-enroll.
    #[error("key permanently invalidated: {0}; restore the vault from a backup or re-enroll")]
    Invalidated(String),
    /// An Argon2id cost below the floor ([`KdfCost::MINIMUM`]) for a new passphrase key.
    #[error(
        "Argon2id cost {memory_kib} KiB x {passes} passes is below the floor of {} KiB x {} passes (OWASP's minimum); use KdfCost::MOBILE or more",
        KdfCost::MINIMUM.m_cost_kib,
        KdfCost::MINIMUM.t_cost
    )]
    KdfTooWeak {
        /// The memory asked for, KiB.
        memory_kib: u32,
        /// The passes asked for.
        passes: u32,
    },
    /// The system random number generator failed.
    #[error("the system random number generator failed")]
    Rng,
}

/// Wraps and unwraps data keys under a key-encryption key (KEK).
///
/// Object safe and `Send + Sync`, so the vault holds an `Arc<dyn KeyProvider>` and the mobile
/// bindings can implement it with a platform keystore callback.
///
/// Contract:
/// - `unwrap(wrap(k)) == k`, and `unwrap` of anything not produced by this KEK fails with
///   [`KeyError::WrongKey`] (authenticated wrapping; never return garbage keys);
/// - `key_id` is stable for the lifetime of the KEK, not secret, 1 to 255 bytes of UTF-8. The
///   vault stores it and refuses a provider whose id differs.
pub trait KeyProvider: Send + Sync {
    /// A stable, non-secret identifier of the KEK (for example a keystore alias).
    fn key_id(&self) -> String;

    /// Wraps (encrypts and authenticates) a data key.
    fn wrap(&self, dek: &[u8]) -> Result<Vec<u8>, KeyError>;

    /// Unwraps a data key produced by [`KeyProvider::wrap`].
    fn unwrap(&self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError>;

    /// Public key-derivation parameters the vault must store to rebuild this provider
    /// (only the passphrase provider has any).
    fn kdf_params(&self) -> Option<KdfParams> {
        None
    }
}

/// Fills `buf` from the operating system's random number generator.
pub(crate) fn fill_random(buf: &mut [u8]) -> Result<(), KeyError> {
    rand_core::OsRng.try_fill_bytes(buf).map_err(|_| KeyError::Rng)
}

/// A fresh random data key.
pub(crate) fn random_key() -> Result<Zeroizing<[u8; KEY_LEN]>, KeyError> {
    let mut k = Zeroizing::new([0u8; KEY_LEN]);
    fill_random(k.as_mut_slice())?;
    Ok(k)
}

/// Encrypts `buf` in place with XChaCha20-Poly1305 and returns the tag.
pub(crate) fn seal_in_place(key: &[u8; KEY_LEN], nonce: &[u8; NONCE_LEN], aad: &[u8], buf: &mut [u8]) -> Result<[u8; TAG_LEN], KeyError> {
    let cipher = XChaCha20Poly1305::new(key.into());
    let tag = cipher
        .encrypt_inout_detached(&XNonce::from(*nonce), aad, buf.into())
        // Only messages longer than 256 GiB fail; nothing the vault writes comes close.
        .map_err(|_| KeyError::InvalidParams("message too long for XChaCha20-Poly1305".into()))?;
    let mut out = [0u8; TAG_LEN];
    out.copy_from_slice(&tag);
    Ok(out)
}

/// Verifies the tag and decrypts `buf` in place. On failure `buf` is left as ciphertext.
pub(crate) fn open_in_place(key: &[u8; KEY_LEN], nonce: &[u8; NONCE_LEN], aad: &[u8], buf: &mut [u8], tag: &[u8; TAG_LEN]) -> Result<(), ()> {
    let cipher = XChaCha20Poly1305::new(key.into());
    cipher.decrypt_inout_detached(&XNonce::from(*nonce), aad, buf.into(), &Tag::from(*tag)).map_err(|_| ())
}

/// Converts a provider's unwrap output into a fixed-size key.
pub(crate) fn to_key(bytes: &[u8]) -> Option<Zeroizing<[u8; KEY_LEN]>> {
    if bytes.len() != KEY_LEN {
        return None;
    }
    let mut k = Zeroizing::new([0u8; KEY_LEN]);
    k.copy_from_slice(bytes);
    Some(k)
}

/// The shared KEK logic of the built-in providers.
struct AeadKek {
    key: Zeroizing<[u8; KEY_LEN]>,
    key_id: String,
}

impl AeadKek {
    fn aad(&self) -> Vec<u8> {
        let mut aad = Vec::with_capacity(WRAP_DOMAIN.len() + self.key_id.len());
        aad.extend_from_slice(WRAP_DOMAIN);
        aad.extend_from_slice(self.key_id.as_bytes());
        aad
    }

    fn wrap(&self, dek: &[u8]) -> Result<Vec<u8>, KeyError> {
        if dek.len() != KEY_LEN {
            return Err(KeyError::Malformed("data keys are 32 bytes"));
        }
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce)?;
        let mut out = Vec::with_capacity(BUILTIN_WRAPPED_LEN);
        out.push(WRAP_FORMAT);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(dek);
        let tag = seal_in_place(&self.key, &nonce, &self.aad(), &mut out[1 + NONCE_LEN..])?;
        out.extend_from_slice(&tag);
        Ok(out)
    }

    fn unwrap(&self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        if wrapped.len() != BUILTIN_WRAPPED_LEN {
            return Err(KeyError::Malformed("built-in wrapped keys are 73 bytes"));
        }
        if wrapped[0] != WRAP_FORMAT {
            return Err(KeyError::Malformed("unknown wrap format byte"));
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&wrapped[1..1 + NONCE_LEN]);
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&wrapped[1 + NONCE_LEN + KEY_LEN..]);
        let mut out = Zeroizing::new(wrapped[1 + NONCE_LEN..1 + NONCE_LEN + KEY_LEN].to_vec());
        open_in_place(&self.key, &nonce, &self.aad(), &mut out, &tag).map_err(|_| KeyError::WrongKey)?;
        Ok(out)
    }
}

/// A KEK held in memory, for tests and for apps that manage their own 256-bit key.
pub struct RawKeyProvider(AeadKek);

impl fmt::Debug for RawKeyProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawKeyProvider({:?}, [REDACTED])", self.0.key_id)
    }
}

impl RawKeyProvider {
    /// Uses `key` as the KEK under the name `key_id`.
    pub fn new(key_id: impl Into<String>, key: &[u8; KEY_LEN]) -> Self {
        Self(AeadKek { key: Zeroizing::new(*key), key_id: key_id.into() })
    }

    /// A fresh random KEK named `key_id`.
    pub fn generate(key_id: impl Into<String>) -> Result<Self, KeyError> {
        Ok(Self(AeadKek { key: random_key()?, key_id: key_id.into() }))
    }
}

impl KeyProvider for RawKeyProvider {
    fn key_id(&self) -> String {
        self.0.key_id.clone()
    }
    fn wrap(&self, dek: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.0.wrap(dek)
    }
    fn unwrap(&self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        self.0.unwrap(wrapped)
    }
}

/// The work factors of Argon2id (version 0x13).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfCost {
    /// Memory in KiB (at least `8 * p_cost`, at most [`KdfCost::MAX_M_COST_KIB`]).
    pub m_cost_kib: u32,
    /// Passes over memory (1 to [`KdfCost::MAX_T_COST`]).
    pub t_cost: u32,
    /// Lanes (1 to [`KdfCost::MAX_P_COST`]).
    pub p_cost: u32,
}

impl KdfCost {
    /// Default for phones: 64 MiB, 3 passes, 1 lane (RFC 9106's second recommended option,
    /// with one lane because the derivation runs on one thread). About 0.2 s on a desktop x86
    /// core; expect several times that on a phone.
    pub const MOBILE: KdfCost = KdfCost { m_cost_kib: 64 * 1024, t_cost: 3, p_cost: 1 };
    /// The weakest cost accepted for a new passphrase key: 19 MiB, 2 passes, 1 lane (OWASP's
    /// Argon2id minimum). Tests use it because it is the cheapest allowed.
    pub const MINIMUM: KdfCost = KdfCost { m_cost_kib: 19 * 1024, t_cost: 2, p_cost: 1 };
    /// Largest memory cost accepted (1 GiB), so a forged header cannot exhaust memory.
    pub const MAX_M_COST_KIB: u32 = 1 << 20;
    /// Largest pass count accepted.
    pub const MAX_T_COST: u32 = 64;
    /// Largest lane count accepted.
    pub const MAX_P_COST: u32 = 16;

    /// Checks that a cost for a *new* key is at least [`KdfCost::MINIMUM`] (memory and
    /// passes) and within the ranges of [`KdfCost::validate`]; [`KeyError::KdfTooWeak`]
    /// otherwise. [`KdfParams::random`] (so every new passphrase key: vault creation and
    /// rotation) applies it. Opening an existing vault applies only `validate`, so a vault
    /// written with a weaker cost by an older build still opens and can be rotated.
    pub fn check_floor(&self) -> Result<(), KeyError> {
        self.validate()?;
        if self.m_cost_kib < Self::MINIMUM.m_cost_kib || self.t_cost < Self::MINIMUM.t_cost {
            return Err(KeyError::KdfTooWeak { memory_kib: self.m_cost_kib, passes: self.t_cost });
        }
        Ok(())
    }

    /// Checks the ranges above (a header read from disk must pass this).
    pub fn validate(&self) -> Result<(), KeyError> {
        let KdfCost { m_cost_kib: m, t_cost: t, p_cost: p } = *self;
        if !(1..=Self::MAX_P_COST).contains(&p) {
            return Err(KeyError::InvalidParams(format!("p_cost {p} not in 1..={}", Self::MAX_P_COST)));
        }
        if !(1..=Self::MAX_T_COST).contains(&t) {
            return Err(KeyError::InvalidParams(format!("t_cost {t} not in 1..={}", Self::MAX_T_COST)));
        }
        if m < 8 * p || m > Self::MAX_M_COST_KIB {
            return Err(KeyError::InvalidParams(format!("m_cost {m} KiB not in {}..={}", 8 * p, Self::MAX_M_COST_KIB)));
        }
        Ok(())
    }
}

impl Default for KdfCost {
    fn default() -> Self {
        Self::MOBILE
    }
}

/// Length of the Argon2id salt.
pub const KDF_SALT_LEN: usize = 16;

/// Public Argon2id parameters: cost and salt. Stored in the vault header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    /// Work factors.
    pub cost: KdfCost,
    /// Random salt (not secret; new for every KEK).
    pub salt: [u8; KDF_SALT_LEN],
}

impl KdfParams {
    /// Parameters with a fresh random salt, for a new key: `cost` must pass
    /// [`KdfCost::check_floor`].
    pub fn random(cost: KdfCost) -> Result<Self, KeyError> {
        cost.check_floor()?;
        let mut salt = [0u8; KDF_SALT_LEN];
        fill_random(&mut salt)?;
        Ok(Self { cost, salt })
    }
}

/// A KEK derived from a passphrase with Argon2id.
///
/// Its key id is `argon2id:<salt hex>`, so the vault notices a provider built for another
/// vault (or another rotation) before trying the key.
pub struct PassphraseProvider {
    kek: AeadKek,
    params: KdfParams,
}

impl fmt::Debug for PassphraseProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PassphraseProvider({:?}, {:?}, [REDACTED])", self.kek.key_id, self.params.cost)
    }
}

impl PassphraseProvider {
    /// Derives the KEK from `passphrase` (this is the slow step).
    pub fn new(passphrase: &[u8], params: KdfParams) -> Result<Self, KeyError> {
        params.cost.validate()?;
        let p = argon2::Params::new(params.cost.m_cost_kib, params.cost.t_cost, params.cost.p_cost, Some(KEY_LEN))
            .map_err(|e| KeyError::InvalidParams(e.to_string()))?;
        let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, p);
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        argon.hash_password_into(passphrase, &params.salt, key.as_mut_slice()).map_err(|e| KeyError::InvalidParams(e.to_string()))?;
        let key_id = format!("argon2id:{}", hex::encode(params.salt));
        Ok(Self { kek: AeadKek { key, key_id }, params })
    }

    /// A new passphrase KEK with a fresh salt (for [`crate::vault::Vault::create`] and
    /// [`crate::vault::Vault::rotate_kek`]).
    pub fn generate(passphrase: &[u8], cost: KdfCost) -> Result<Self, KeyError> {
        Self::new(passphrase, KdfParams::random(cost)?)
    }

    /// The parameters this KEK was derived with.
    pub fn params(&self) -> KdfParams {
        self.params
    }
}

impl KeyProvider for PassphraseProvider {
    fn key_id(&self) -> String {
        self.kek.key_id.clone()
    }
    fn wrap(&self, dek: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.kek.wrap(dek)
    }
    fn unwrap(&self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        self.kek.unwrap(wrapped)
    }
    fn kdf_params(&self) -> Option<KdfParams> {
        Some(self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_wrap_round_trip_and_wrong_key() {
        let a = RawKeyProvider::generate("a").unwrap();
        let b = RawKeyProvider::generate("a").unwrap();
        let dek = [7u8; KEY_LEN];
        let w = a.wrap(&dek).unwrap();
        assert_eq!(w.len(), BUILTIN_WRAPPED_LEN);
        assert_eq!(a.unwrap(&w).unwrap().as_slice(), &dek);
        assert_eq!(b.unwrap(&w).unwrap_err(), KeyError::WrongKey);
        // Same key, other key id: the id is bound into the AAD.
        let same_key_other_id = RawKeyProvider::new("b", &a.0.key);
        assert_eq!(same_key_other_id.unwrap(&w).unwrap_err(), KeyError::WrongKey);
        // Every single-byte change is detected.
        for i in 0..w.len() {
            let mut t = w.clone();
            t[i] ^= 0x40;
            assert!(a.unwrap(&t).is_err(), "flip at {i} not detected");
        }
        assert!(matches!(a.unwrap(&w[..10]), Err(KeyError::Malformed(_))));
        assert!(matches!(a.wrap(&[0u8; 16]), Err(KeyError::Malformed(_))));
        assert!(format!("{a:?}").contains("REDACTED"));
    }

    #[test]
    fn passphrase_is_deterministic_per_salt() {
        let params = KdfParams::random(KdfCost::MINIMUM).unwrap();
        let p1 = PassphraseProvider::new(b"correct horse", params).unwrap();
        let p2 = PassphraseProvider::new(b"correct horse", params).unwrap();
        let p3 = PassphraseProvider::new(b"wrong horse", params).unwrap();
        let w = p1.wrap(&[1u8; KEY_LEN]).unwrap();
        assert_eq!(p2.unwrap(&w).unwrap().as_slice(), &[1u8; KEY_LEN]);
        assert_eq!(p3.unwrap(&w).unwrap_err(), KeyError::WrongKey);
        assert_eq!(p1.key_id(), format!("argon2id:{}", hex::encode(params.salt)));
        assert_eq!(p1.kdf_params(), Some(params));
    }

    #[test]
    fn kdf_cost_bounds() {
        assert!(KdfCost::MOBILE.validate().is_ok());
        assert!(KdfCost::MINIMUM.check_floor().is_ok());
        assert!(KdfCost::MOBILE.check_floor().is_ok());
        // Below the floor: refused for new keys with a typed error, still in range for old headers.
        for weak in [
            KdfCost { m_cost_kib: 8, t_cost: 1, p_cost: 1 },
            KdfCost { m_cost_kib: 19 * 1024 - 1, t_cost: 2, p_cost: 1 },
            KdfCost { m_cost_kib: 64 * 1024, t_cost: 1, p_cost: 1 },
        ] {
            assert!(weak.validate().is_ok());
            assert_eq!(weak.check_floor(), Err(KeyError::KdfTooWeak { memory_kib: weak.m_cost_kib, passes: weak.t_cost }));
            assert!(matches!(KdfParams::random(weak), Err(KeyError::KdfTooWeak { .. })));
            assert!(matches!(PassphraseProvider::generate(b"pw", weak), Err(KeyError::KdfTooWeak { .. })));
        }
        assert!(KeyError::KdfTooWeak { memory_kib: 8, passes: 1 }.to_string().contains("19456 KiB x 2 passes"));
        for bad in [
            KdfCost { m_cost_kib: 7, t_cost: 1, p_cost: 1 },
            KdfCost { m_cost_kib: 8, t_cost: 0, p_cost: 1 },
            KdfCost { m_cost_kib: 8, t_cost: 1, p_cost: 0 },
            KdfCost { m_cost_kib: 8, t_cost: 1, p_cost: 2 },
            KdfCost { m_cost_kib: KdfCost::MAX_M_COST_KIB + 1, t_cost: 1, p_cost: 1 },
            KdfCost { m_cost_kib: 64, t_cost: 65, p_cost: 1 },
        ] {
            assert!(matches!(bad.validate(), Err(KeyError::InvalidParams(_))), "{bad:?}");
        }
    }
}
