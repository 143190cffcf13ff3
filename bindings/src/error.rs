//! The one error type of the bindings, its mapping from the core's errors, and the panic
//! guard every exported fallible call runs inside.
//!
//! Kotlin sees [`ZkirisError`] as the sealed class `ZkirisException` (one subclass per
//! variant); Swift sees the enum `ZkirisError`. Variants are failure *classes* an app reacts
//! to differently; `detail` strings say what exactly went wrong and are not meant to be parsed.

use std::panic::{catch_unwind, AssertUnwindSafe};

use zkiris::model::ModelError;
use zkiris::prover::{BundleError, ProveError, SrsError, VerifyError};
use zkiris::vault::{KdfCost, KeyError, VaultError};

/// Everything that can fail across the binding boundary.
#[derive(Debug, Clone, PartialEq, thiserror::Error, uniffi::Error)]
#[non_exhaustive]
pub enum ZkirisError {
    /// An argument is malformed: a record id that is not 32 hex digits, an image of the wrong
    /// shape for the model, a salt that is not a field element, …
    #[error("invalid input: {detail}")]
    InvalidInput {
        /// What was wrong.
        detail: String,
    },
    /// A vault file failed an integrity check (checksum or authentication tag): it was
    /// modified or damaged. Nothing from it is returned. Restore it or delete and re-enroll.
    #[error("tampered or damaged data: {detail}")]
    Tampered {
        /// Which file and which check.
        detail: String,
    },
    /// The key provider's key (or passphrase) does not open this vault.
    #[error("wrong key: {detail}")]
    WrongKey {
        /// Details.
        detail: String,
    },
    /// The key provider could not be used (keystore locked, user cancelled authentication,
    /// key deleted); retry once the key is available.
    #[error("key unavailable: {detail}")]
    KeyUnavailable {
        /// The provider's reason.
        detail: String,
    },
    /// The platform key is permanently gone: Android invalidated it
    /// (`KeyPermanentlyInvalidatedException`: a new fingerprint or face was enrolled, or the
    /// screen lock was removed, for a key bound to user authentication) or the iOS Keychain item
    /// was deleted. Retrying cannot help: the records locked by this key cannot be decrypted
    /// again. Delete the vault, create a new key and vault, and re-enroll (or restore the vault
    /// from a backup locked by a key that still exists).
    #[error("the vault's key was permanently invalidated: {detail}; re-enroll (or restore the vault from a backup)")]
    KeyInvalidated {
        /// The provider's reason.
        detail: String,
    },
    /// A new passphrase key was asked for with an Argon2id cost below the floor
    /// (`min_memory_kib` KiB and `min_passes` passes, OWASP's minimum). Nothing was written.
    /// Use `kdfCostMobile()` or a stronger cost.
    #[error("Argon2id cost {memory_kib} KiB x {passes} passes is below the floor of {min_memory_kib} KiB x {min_passes} passes; use kdfCostMobile()")]
    KdfTooWeak {
        /// Memory asked for, KiB.
        memory_kib: u32,
        /// Passes asked for.
        passes: u32,
        /// The floor's memory, KiB.
        min_memory_kib: u32,
        /// The floor's passes.
        min_passes: u32,
    },
    /// This `Prover` is already running a `prepare` or `prove` (one at a time: a second would
    /// double the peak memory). Nothing was started; retry when the first returns, or queue
    /// the calls (the Kotlin and Swift layers' `prepare`/`prove` do not queue).
    #[error("the prover is busy with another prepare or prove; one operation at a time per Prover")]
    Busy,
    /// The vault cannot be used in its current state: no vault in the directory, one already
    /// exists, another writer holds its lock, or it was written by a newer SDK.
    #[error("vault unavailable: {detail}")]
    VaultUnavailable {
        /// Details.
        detail: String,
    },
    /// No record with this id is in the vault.
    #[error("record {record_id} is not in the vault")]
    NotFound {
        /// The id asked for.
        record_id: String,
    },
    /// An enrollment was refused: untrusted enrollment device, bad signature, commitment not
    /// matching the image, or already enrolled.
    #[error("enrollment rejected: {detail}")]
    EnrollmentRejected {
        /// Why.
        detail: String,
    },
    /// The model files are not signed by an issuer the app trusts, or do not match their
    /// signed manifest (altered download). Re-download from the issuer.
    #[error("untrusted model: {detail}")]
    UntrustedModel {
        /// Why.
        detail: String,
    },
    /// The model is signed but this SDK cannot run or prove it (unsupported operator, too wide
    /// values, …); update the SDK.
    #[error("unsupported model: {detail}")]
    UnsupportedModel {
        /// Why.
        detail: String,
    },
    /// `Prover.prove` (or `Prover.verifier`) was called for a model that was not prepared
    /// with `Prover.prepare` first.
    #[error("model {model_id} is not prepared; call Prover.prepare(model, srs) first")]
    NotPrepared {
        /// Hex model id.
        model_id: String,
    },
    /// The enrollment's liveness score is below the model's threshold.
    #[error("liveness score {score} is below the threshold {threshold}; the capture did not pass presentation-attack detection")]
    LivenessBelowThreshold {
        /// The score.
        score: i64,
        /// The model's threshold.
        threshold: i64,
    },
    /// The enrollment has fewer valid mask bits than the model requires.
    #[error("the enrollment has {valid} valid mask bits but the model requires {required}; re-enroll with a better capture")]
    InsufficientValidBits {
        /// Valid bits.
        valid: u32,
        /// Required.
        required: u32,
    },
    /// The operation was cancelled through its `CancellationToken`.
    #[error("the operation was cancelled")]
    Cancelled,
    /// The estimated peak memory of the operation exceeds the memory available (or the
    /// configured budget); it was not started.
    #[error("proving needs about {required_mib} MiB but only {available_mib} MiB are available")]
    OutOfMemoryEstimate {
        /// Estimated peak, MiB.
        required_mib: u64,
        /// Available or budgeted, MiB.
        available_mib: u64,
    },
    /// The structured reference string could not be obtained (unreadable or malformed
    /// ceremony file, too small, or its cache could not be written).
    #[error("SRS unavailable: {detail}")]
    SrsUnavailable {
        /// Details.
        detail: String,
    },
    /// Bytes are not a proof bundle this SDK reads (bad magic, newer format, corrupt, or
    /// internally inconsistent).
    #[error("malformed proof bundle: {detail}")]
    MalformedBundle {
        /// Details.
        detail: String,
    },
    /// The proof bundle is for another model than the verifier's.
    #[error("the proof is for model {found}, not {expected}")]
    WrongModel {
        /// Model id in the bundle.
        found: String,
        /// Model id of the verifier.
        expected: String,
    },
    /// The proof does not verify.
    #[error("invalid proof: {detail}")]
    InvalidProof {
        /// Details.
        detail: String,
    },
    /// The model submits MPC shares (`Model.submission()` is `MpcShares`) but the three MPC
    /// parties' public keys were not all given (`ProveOptions.partyKeys`): the shares would
    /// have nobody to be encrypted to. Nothing was proven.
    #[error("model {model_id} submits MPC shares: give the three parties' public keys in party order ({given} given)")]
    MissingPartyKeys {
        /// Hex model id.
        model_id: String,
        /// How many keys were given.
        given: u32,
    },
    /// Party public keys were given for a model that submits a public code (its proofs have
    /// no shares to encrypt). Nothing was proven.
    #[error("model {model_id} submits a public code; MPC party keys apply to mpc-shares models only")]
    UnexpectedPartyKeys {
        /// Hex model id.
        model_id: String,
    },
    /// An MPC party public key is unusable: not a party public-key file (a secret-key file, a
    /// truncated or foreign file, another format version or KEM, an invalid X-Wing key), the
    /// same key as another party's, or a key beyond the third. Nothing was proven.
    #[error("invalid MPC party public key{}: {detail}", party.map(|p| format!(" (party {p})")).unwrap_or_default())]
    InvalidPartyKey {
        /// The key's position in party order (1, 2, 3; 4 for a key beyond the third), absent
        /// when a key was checked on its own (`partyPublicKeyFingerprint`).
        party: Option<u8>,
        /// What is wrong with it.
        detail: String,
    },
    /// A file operation failed.
    #[error("storage error: {detail}")]
    Storage {
        /// Path and OS error.
        detail: String,
    },
    /// A bug in zkiris (including a caught panic); please report it with the detail.
    #[error("internal error: {detail}")]
    Internal {
        /// Details.
        detail: String,
    },
}

impl ZkirisError {
    pub(crate) fn invalid(detail: impl Into<String>) -> Self {
        Self::InvalidInput { detail: detail.into() }
    }
}

/// Errors a foreign [`crate::KeyProvider`] reports from `wrap` and `unwrap`.
///
/// Kotlin: `KeyProviderException.WrongKey()` / `.Unavailable(reason)` / `.Invalidated(reason)`;
/// Swift: `KeyProviderError.WrongKey` / `.Unavailable(reason:)` / `.Invalidated(reason:)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum KeyProviderError {
    /// The wrapped key does not authenticate under this provider's key (AES-GCM tag
    /// mismatch, …): it was wrapped by another key, or altered.
    #[error("the wrapped key does not authenticate under this key")]
    WrongKey,
    /// The key cannot be used right now (keystore locked, user authentication cancelled or
    /// required, key deleted, hardware error).
    #[error("key unavailable: {reason}")]
    Unavailable {
        /// The platform's reason.
        reason: String,
    },
    /// The key is permanently gone and will never work again: Android
    /// `KeyPermanentlyInvalidatedException`, a deleted iOS Keychain item or Secure Enclave key.
    /// The vault reports `ZkirisError.KeyInvalidated` (re-enroll), not a retryable
    /// `KeyUnavailable`.
    #[error("key permanently invalidated: {reason}")]
    Invalidated {
        /// The platform's reason.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for KeyProviderError {
    /// A foreign implementation threw something other than a `KeyProviderError`.
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        KeyProviderError::Unavailable { reason: format!("the key provider threw an unexpected error: {}", e.reason) }
    }
}

impl From<KeyError> for ZkirisError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::WrongKey => ZkirisError::WrongKey { detail: e.to_string() },
            KeyError::InvalidParams(_) => ZkirisError::InvalidInput { detail: e.to_string() },
            KeyError::Invalidated(detail) => ZkirisError::KeyInvalidated { detail },
            KeyError::KdfTooWeak { memory_kib, passes } => {
                ZkirisError::KdfTooWeak { memory_kib, passes, min_memory_kib: KdfCost::MINIMUM.m_cost_kib, min_passes: KdfCost::MINIMUM.t_cost }
            }
            _ => ZkirisError::KeyUnavailable { detail: e.to_string() },
        }
    }
}

impl From<VaultError> for ZkirisError {
    fn from(e: VaultError) -> Self {
        let detail = e.to_string();
        match e {
            VaultError::Tampered { .. } | VaultError::Truncated { .. } | VaultError::Empty { .. } => ZkirisError::Tampered { detail },
            VaultError::WrongKey | VaultError::KeyIdMismatch { .. } => ZkirisError::WrongKey { detail },
            VaultError::KeyProvider(k) => k.into(),
            VaultError::NotFound { record } => ZkirisError::NotFound { record_id: record.to_string() },
            VaultError::UnsupportedVersion { .. } | VaultError::NotAVault { .. } | VaultError::AlreadyExists { .. } | VaultError::Locked { .. } => {
                ZkirisError::VaultUnavailable { detail }
            }
            VaultError::UntrustedDevice { .. }
            | VaultError::BadSignature { .. }
            | VaultError::DeviceMismatch { .. }
            | VaultError::CommitmentMismatch { .. }
            | VaultError::Commitment(_)
            | VaultError::Duplicate { .. } => ZkirisError::EnrollmentRejected { detail },
            VaultError::InvalidRecord { .. } | VaultError::InvalidKeyId { .. } => ZkirisError::InvalidInput { detail },
            VaultError::Io { .. } => ZkirisError::Storage { detail },
            _ => ZkirisError::Internal { detail },
        }
    }
}

impl From<ModelError> for ZkirisError {
    fn from(e: ModelError) -> Self {
        let detail = e.to_string();
        match e {
            ModelError::BadSignature(_)
            | ModelError::UntrustedIssuer { .. }
            | ModelError::OnnxHashMismatch { .. }
            | ModelError::ModelIdMismatch { .. }
            | ModelError::ManifestParse(_)
            | ModelError::ManifestSchema { .. } => ZkirisError::UntrustedModel { detail },
            ModelError::OnnxParse(_)
            | ModelError::UnsupportedOp { .. }
            | ModelError::UnsupportedDtype { .. }
            | ModelError::ManifestMismatch(_)
            | ModelError::BoundOverflow { .. } => ZkirisError::UnsupportedModel { detail },
            ModelError::BadIssuerKey(_) | ModelError::InputCount { .. } | ModelError::InputShape { .. } | ModelError::InputRange { .. } => {
                ZkirisError::InvalidInput { detail }
            }
            ModelError::Io { .. } => ZkirisError::Storage { detail },
            _ => ZkirisError::Internal { detail },
        }
    }
}

impl From<SrsError> for ZkirisError {
    fn from(e: SrsError) -> Self {
        ZkirisError::SrsUnavailable { detail: e.to_string() }
    }
}

impl From<ProveError> for ZkirisError {
    fn from(e: ProveError) -> Self {
        match e {
            ProveError::Cancelled => ZkirisError::Cancelled,
            ProveError::InsufficientValidBits { valid, required } => ZkirisError::InsufficientValidBits { valid, required },
            ProveError::LivenessBelowThreshold { score, threshold } => ZkirisError::LivenessBelowThreshold { score, threshold },
            ProveError::Model(m) => m.into(),
            ProveError::Srs(s) => s.into(),
            ProveError::SrsTooSmall { .. } => ZkirisError::SrsUnavailable { detail: e.to_string() },
            ProveError::Circuit(_) => ZkirisError::UnsupportedModel { detail: e.to_string() },
            ProveError::Commitment(_) => ZkirisError::InvalidInput { detail: e.to_string() },
            // `ProveOptions.aggregatable` in a build without the `aggregatable` feature.
            ProveError::TranscriptUnavailable(_) => {
                ZkirisError::InvalidInput { detail: format!("{e}; this library was built without aggregatable proofs (zkiris-ffi feature `aggregatable`)") }
            }
            // `MissingPartyKeys`/`UnexpectedPartyKeys`/`Shares`: `Prover.proveWithOptions` checks
            // the party keys against the model before proving (`submission::core_options`), so
            // the core refusing them is a bug of that check: `Internal`, below.
            other => ZkirisError::Internal { detail: other.to_string() },
        }
    }
}

impl From<VerifyError> for ZkirisError {
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::Malformed(detail) => ZkirisError::MalformedBundle { detail },
            VerifyError::WrongModel { found, expected } => ZkirisError::WrongModel { found, expected },
            VerifyError::Invalid(detail) => ZkirisError::InvalidProof { detail },
            other => ZkirisError::InvalidProof { detail: other.to_string() },
        }
    }
}

impl From<BundleError> for ZkirisError {
    fn from(e: BundleError) -> Self {
        match e {
            // A well-formed bundle asked for what its transcript cannot give.
            BundleError::NotForTheVerifierContract => ZkirisError::invalid(e.to_string()),
            _ => ZkirisError::MalformedBundle { detail: e.to_string() },
        }
    }
}

/// Runs `f`, turning a panic into [`ZkirisError::Internal`] so it never unwinds into foreign
/// code. Every fallible exported function runs its body through this.
///
/// UniFFI's own scaffolding also catches panics, but reports them as an untyped internal
/// exception (Kotlin) or a trap (Swift `try!` on non-throwing calls); this keeps them typed.
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T, ZkirisError>) -> Result<T, ZkirisError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let msg =
                payload.downcast_ref::<String>().map(String::as_str).or_else(|| payload.downcast_ref::<&str>().copied()).unwrap_or("non-string panic payload");
            Err(ZkirisError::Internal { detail: format!("zkiris panicked ({msg}); please report this bug") })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkiris::vault::RecordId;

    #[test]
    fn guard_turns_panics_into_internal_errors() {
        let r: Result<(), _> = guard(|| panic!("boom {}", 42));
        match r {
            Err(ZkirisError::Internal { detail }) => assert!(detail.contains("boom 42"), "{detail}"),
            other => panic!("expected Internal, got {other:?}"),
        }
        let r: Result<(), _> = guard(|| std::panic::panic_any(7u8));
        assert!(matches!(r, Err(ZkirisError::Internal { .. })));
        assert_eq!(guard(|| Ok::<_, ZkirisError>(5)), Ok(5));
        assert_eq!(guard(|| Err::<(), _>(ZkirisError::Cancelled)), Err(ZkirisError::Cancelled));
    }

    #[test]
    fn core_errors_map_to_their_class() {
        let id = RecordId([1; 16]);
        let cases: Vec<(ZkirisError, &str)> = vec![
            (VaultError::WrongKey.into(), "WrongKey"),
            (VaultError::KeyIdMismatch { vault: "a".into(), provider: "b".into() }.into(), "WrongKey"),
            (VaultError::Tampered { file: zkiris::vault::VaultFile::Record(id), detail: "x" }.into(), "Tampered"),
            (VaultError::NotFound { record: id }.into(), "NotFound"),
            (VaultError::KeyProvider(KeyError::Unavailable("locked".into())).into(), "KeyUnavailable"),
            (VaultError::KeyProvider(KeyError::Invalidated("new fingerprint".into())).into(), "KeyInvalidated"),
            (VaultError::KeyProvider(KeyError::KdfTooWeak { memory_kib: 8, passes: 1 }).into(), "KdfTooWeak"),
            (VaultError::Duplicate { existing: id }.into(), "EnrollmentRejected"),
            (VaultError::Locked { dir: "/v".into() }.into(), "VaultUnavailable"),
            (ProveError::Cancelled.into(), "Cancelled"),
            (ProveError::LivenessBelowThreshold { score: -3, threshold: 10 }.into(), "LivenessBelowThreshold"),
            (ProveError::InsufficientValidBits { valid: 1, required: 8 }.into(), "InsufficientValidBits"),
            (ProveError::Model(ModelError::UntrustedIssuer { key_id: "k".into(), public_key: "p".into() }).into(), "UntrustedModel"),
            (ProveError::Halo2("bug".into()).into(), "Internal"),
            (ModelError::OnnxHashMismatch { expected: "a".into(), actual: "b".into() }.into(), "UntrustedModel"),
            (ModelError::UnsupportedOp { node: "n".into(), op: "Sin".into() }.into(), "UnsupportedModel"),
            (VerifyError::Invalid("x".into()).into(), "InvalidProof"),
            (VerifyError::Malformed("x".into()).into(), "MalformedBundle"),
            (VerifyError::WrongModel { found: "a".into(), expected: "b".into() }.into(), "WrongModel"),
            (BundleError::BadMagic.into(), "MalformedBundle"),
        ];
        for (err, class) in cases {
            let name = format!("{err:?}");
            assert!(name.starts_with(class), "{name} should be {class}");
        }
        assert_eq!(
            ZkirisError::from(ProveError::LivenessBelowThreshold { score: -3, threshold: 10 }),
            ZkirisError::LivenessBelowThreshold { score: -3, threshold: 10 }
        );
        assert_eq!(ZkirisError::from(VaultError::NotFound { record: id }), ZkirisError::NotFound { record_id: id.to_string() });
    }
}
