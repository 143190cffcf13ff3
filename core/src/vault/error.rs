//! The vault's error type.

use std::fmt;
use std::path::PathBuf;

use super::ids::RecordId;
use super::keys::KeyError;
use crate::attest::DeviceId;

/// Which vault file an integrity error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VaultFile {
    /// The index file (`vault.idx`): header, key-encryption-key description and keyring.
    Index,
    /// One record file (`<record id>.rec`).
    Record(RecordId),
}

impl fmt::Display for VaultFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VaultFile::Index => f.write_str("the vault index"),
            VaultFile::Record(id) => write!(f, "record {id}"),
        }
    }
}

/// Everything that can go wrong in [`crate::vault`].
///
/// Integrity problems are reported per file ([`VaultFile`]), so one damaged record never hides
/// the others. Key problems never yield data: a wrong key is always [`VaultError::WrongKey`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// A file failed an integrity check (checksum, authentication tag, or a header field that
    /// does not belong where it was found). The file was modified or damaged; nothing from it is
    /// returned.
    #[error("{file} is damaged or was tampered with ({detail}); restore it from a backup or delete and re-enroll it")]
    Tampered {
        /// The damaged file.
        file: VaultFile,
        /// Which check failed.
        detail: &'static str,
    },
    /// The key-encryption key could not unwrap the vault's data keys: wrong passphrase or wrong
    /// platform key.
    #[error("wrong key: the passphrase or platform key does not open this vault")]
    WrongKey,
    /// The provider's key id differs from the key id recorded in the vault.
    #[error("the vault is locked with key `{vault}` but the provider supplies key `{provider}`")]
    KeyIdMismatch {
        /// Key id stored in the vault header.
        vault: String,
        /// Key id the provider reports.
        provider: String,
    },
    /// The file was written by a newer zkiris: upgrade zkiris to read it.
    #[error("{file} has format version {found}, but this zkiris reads version {supported} only; upgrade zkiris")]
    UnsupportedVersion {
        /// The file.
        file: VaultFile,
        /// Version found in the file.
        found: u16,
        /// Newest version this build reads.
        supported: u16,
    },
    /// The file is shorter than its header says (an interrupted copy or a damaged disk).
    #[error("{file} is truncated: {actual} bytes of {expected}")]
    Truncated {
        /// The file.
        file: VaultFile,
        /// Bytes the header declares (or the minimum for this file type).
        expected: u64,
        /// Bytes present.
        actual: u64,
    },
    /// The file exists but is empty.
    #[error("{file} is empty")]
    Empty {
        /// The file.
        file: VaultFile,
    },
    /// No vault exists in the directory.
    #[error("no vault in {dir} (missing vault.idx); create one first")]
    NotAVault {
        /// The directory.
        dir: PathBuf,
    },
    /// A vault already exists in the directory.
    #[error("a vault already exists in {dir}")]
    AlreadyExists {
        /// The directory.
        dir: PathBuf,
    },
    /// Another process (or another `Vault` handle) is writing to this vault right now.
    #[error("the vault in {dir} is locked by another writer; retry later")]
    Locked {
        /// The directory.
        dir: PathBuf,
    },
    /// The record is not in the vault.
    #[error("record {record} is not in the vault")]
    NotFound {
        /// The id asked for.
        record: RecordId,
    },
    /// The enrollment signature does not recover to a trusted device.
    #[error("the commitment was signed by device {device}, which is not a trusted enrollment device")]
    UntrustedDevice {
        /// The device the signature recovers to.
        device: DeviceId,
    },
    /// The enrollment signature is malformed.
    #[error("the enrollment signature is malformed: {reason}")]
    BadSignature {
        /// What is wrong.
        reason: String,
    },
    /// The record names one device but the signature was made by another.
    #[error("the record says device {stated} signed it, but the signature is from {signer}")]
    DeviceMismatch {
        /// Device id stored in the record.
        stated: DeviceId,
        /// Device the signature recovers to.
        signer: DeviceId,
    },
    /// The commitment recomputed from (image, mask, salt) is not the signed one.
    #[error("the signed commitment {signed} does not match Commit(image, mask, salt) = {computed}")]
    CommitmentMismatch {
        /// The commitment in the record (the one the device signed).
        signed: crate::commitment::Commitment,
        /// The commitment recomputed from the record's data.
        computed: crate::commitment::Commitment,
    },
    /// The commitment could not be recomputed (for example an unsupported image shape).
    #[error("cannot recompute the commitment: {0}")]
    Commitment(#[from] crate::commitment::CommitmentError),
    /// The same enrollment (same commitment) is already stored.
    #[error("this enrollment is already stored as record {existing}")]
    Duplicate {
        /// The record holding it.
        existing: RecordId,
    },
    /// The record is not well formed (shape mismatch, metadata too large, ...).
    #[error("invalid enrollment record: {reason}")]
    InvalidRecord {
        /// What is wrong.
        reason: String,
    },
    /// A key id is empty or longer than 255 bytes.
    #[error("key id must be 1 to 255 bytes of UTF-8, got {len} bytes")]
    InvalidKeyId {
        /// Its length in bytes.
        len: usize,
    },
    /// The key provider failed for a reason other than a wrong key (keystore unavailable,
    /// user cancelled authentication, ...).
    #[error("key provider failed: {0}")]
    KeyProvider(KeyError),
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Rng,
    /// A file operation failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl From<KeyError> for VaultError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::WrongKey => VaultError::WrongKey,
            KeyError::Rng => VaultError::Rng,
            other => VaultError::KeyProvider(other),
        }
    }
}

impl VaultError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        VaultError::Io { path: path.into(), source }
    }
}
